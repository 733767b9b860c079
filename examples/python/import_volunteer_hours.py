#!/usr/bin/env python3
"""Import a partner organisation's CSV of volunteer service hours into a linli ledger.

The CSV has a header row with the columns ``volunteer,activity,date,hours`` and optionally
``team`` and ``evidence``; ``volunteer`` is a pseudonymous id such as ``dianye:12`` and
``date`` is ``YYYY-MM-DD``. Each row becomes a signed service record in the ledger, written
by this node (the community or a partner it certified). Rows that cannot be read, or that
the node refuses (hours out of range, a date outside the ledger's year, an unknown
volunteer id …), are reported with their line number and reason, and the import goes on.

    python import_volunteer_hours.py NODE_DIR LEDGER_ID hours.csv [--dry-run]
        [--rejects rejected.csv] [--config NODE_DIR/linli.toml]

``--dry-run`` checks every row against the ledger's rules (``record_service(...,
dry_run=True)``) and writes nothing. ``--rejects`` writes the rejected rows, with a
``reason`` column, to a CSV file the partner can correct and send again.

Exit status: 0 if every row was recorded (or would be, with ``--dry-run``), 1 if some rows
were rejected, 2 on a usage, file or storage error.
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass
from datetime import date
from typing import Optional

import linli

REQUIRED = ("volunteer", "activity", "date", "hours")


@dataclass(frozen=True)
class Row:
    line: int
    fields: dict[str, str]
    volunteer: str
    activity: str
    date: date
    hours: float
    team: Optional[str]
    evidence: Optional[str]


@dataclass(frozen=True)
class Rejected:
    line: int
    fields: dict[str, str]
    reason: str


def read_rows(path: str) -> tuple[list[Row], list[Rejected], list[str]]:
    """Parses the CSV; returns the readable rows, the others with a reason, and the header."""
    rows: list[Row] = []
    bad: list[Rejected] = []
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = list(reader.fieldnames or [])
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise ValueError(f"{path}: missing columns {', '.join(missing)}")
        for rec in reader:
            line = reader.line_num
            fields = {k: (v or "") for k, v in rec.items() if k is not None}
            try:
                hours = float(fields["hours"])
            except ValueError:
                bad.append(Rejected(line, fields, f"hours is not a number: {fields['hours']!r}"))
                continue
            try:
                day = date.fromisoformat(fields["date"].strip())
            except ValueError:
                bad.append(Rejected(line, fields, f"date is not YYYY-MM-DD: {fields['date']!r}"))
                continue
            rows.append(
                Row(
                    line=line,
                    fields=fields,
                    volunteer=fields["volunteer"].strip(),
                    activity=fields["activity"].strip(),
                    date=day,
                    hours=hours,
                    team=fields.get("team", "").strip() or None,
                    evidence=fields.get("evidence", "").strip() or None,
                )
            )
    return rows, bad, header


def ledger_year(node: linli.Node, ledger: str) -> int:
    """The year of ledger ``ledger`` held by ``node`` (ValidationError if there is none)."""
    for d in node.documents():
        if d.id == ledger:
            if d.kind != "ledger" or d.year is None:
                raise linli.ValidationError(f"document {ledger} is a {d.kind}, not a ledger")
            return d.year
    raise linli.ValidationError(f"this node holds no ledger {ledger}")


def write_rejects(path: str, header: list[str], rejected: list[Rejected]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["line", *header, "reason"], extrasaction="ignore")
        w.writeheader()
        for r in sorted(rejected, key=lambda r: r.line):
            w.writerow({"line": r.line, **r.fields, "reason": r.reason})


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("node_dir")
    p.add_argument("ledger")
    p.add_argument("csv")
    p.add_argument("--dry-run", action="store_true", help="check the rows, record nothing")
    p.add_argument("--rejects", help="write the rejected rows to this CSV file")
    p.add_argument("--config", help="the node's configuration file (linli.toml)")
    args = p.parse_args(argv)

    try:
        rows, rejected, header = read_rows(args.csv)
    except (OSError, ValueError, csv.Error) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    recorded = 0
    try:
        with linli.Node.open(args.node_dir, config=args.config) as node:
            ledger_year(node, args.ledger)  # fails early on a wrong ledger id
            for row in rows:
                try:
                    node.record_service(
                        args.ledger,
                        row.volunteer,
                        row.activity,
                        row.date,
                        row.hours,
                        team=row.team,
                        evidence=row.evidence,
                        dry_run=args.dry_run,
                    )
                    recorded += 1
                except (linli.ValidationError, linli.AuthorizationError, linli.ConflictError) as e:
                    rejected.append(Rejected(row.line, row.fields, str(e)))
    except linli.LinliError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    verb = "would record" if args.dry_run else "recorded"
    print(f"{verb} {recorded} rows, rejected {len(rejected)}")
    for r in sorted(rejected, key=lambda r: r.line):
        print(f"  line {r.line}: {r.reason}")
    if args.rejects and rejected:
        try:
            write_rejects(args.rejects, header, rejected)
        except OSError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    return 1 if rejected else 0


if __name__ == "__main__":
    sys.exit(main())
