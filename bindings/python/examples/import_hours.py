#!/usr/bin/env python3
"""Import a partner organisation's CSV of volunteer service hours into a linli ledger.

The CSV has a header row with the columns ``volunteer,activity,date,hours`` and optionally
``team`` and ``evidence``; ``date`` is ``YYYY-MM-DD``. Each valid row becomes a signed
service record in the ledger; rows the node refuses are reported with the reason and the
import goes on.

    python import_hours.py NODE_DIR LEDGER_ID hours.csv [--dry-run]

Exit status: 0 if every row was recorded (or would be, with ``--dry-run``), 1 if some rows
were rejected, 2 on a usage or storage error.
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass
from datetime import date
from typing import Optional

import linli


@dataclass(frozen=True)
class Row:
    line: int
    volunteer: str
    activity: str
    date: str
    hours: float
    team: Optional[str]
    evidence: Optional[str]


def read_rows(path: str) -> tuple[list[Row], list[tuple[int, str]]]:
    """Parses the CSV; returns the well-formed rows and (line, reason) of the others."""
    rows: list[Row] = []
    bad: list[tuple[int, str]] = []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = {"volunteer", "activity", "date", "hours"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: missing columns {', '.join(sorted(missing))}")
        for rec in reader:
            line = reader.line_num
            try:
                hours = float(rec["hours"])
                date.fromisoformat(rec["date"])
            except ValueError as e:
                bad.append((line, str(e)))
                continue
            rows.append(
                Row(
                    line=line,
                    volunteer=rec["volunteer"].strip(),
                    activity=rec["activity"].strip(),
                    date=rec["date"].strip(),
                    hours=hours,
                    team=(rec.get("team") or "").strip() or None,
                    evidence=(rec.get("evidence") or "").strip() or None,
                )
            )
    return rows, bad


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("node_dir")
    p.add_argument("ledger")
    p.add_argument("csv")
    p.add_argument("--dry-run", action="store_true", help="check the rows, record nothing")
    args = p.parse_args(argv)

    try:
        rows, rejected = read_rows(args.csv)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    recorded = 0
    try:
        with linli.Node.open(args.node_dir) as node:
            for row in rows:
                if args.dry_run:
                    recorded += 1
                    continue
                try:
                    node.record_service(
                        args.ledger,
                        row.volunteer,
                        row.activity,
                        row.date,
                        row.hours,
                        team=row.team,
                        evidence=row.evidence,
                    )
                    recorded += 1
                except (linli.ValidationError, linli.AuthorizationError) as e:
                    rejected.append((row.line, str(e)))
    except (linli.StorageError, linli.LinliError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    verb = "would record" if args.dry_run else "recorded"
    print(f"{verb} {recorded} rows, rejected {len(rejected)}")
    for line, reason in sorted(rejected):
        print(f"  line {line}: {reason}")
    return 1 if rejected else 0


if __name__ == "__main__":
    sys.exit(main())
