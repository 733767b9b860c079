#!/usr/bin/env python3
"""Write a community's monthly report as CSV: standings, bookings and wishes.

    python monthly_report.py NODE_DIR 2026-03 [--community dianye] [--out report.csv]

One row per record, with the columns ``record,id,who,what,when,points,minutes,stars,status``:

* ``standing`` — every volunteer in the community's ledger of that year: points earned,
  minutes served and stars so far (the ledger's totals up to now);
* ``booking`` — bookings of the community's resources whose slot starts in the month
  (times in UTC);
* ``wish`` — items posted in the community's wishes documents during the month.
"""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import datetime, timezone
from typing import Optional, TextIO

import linli

COLUMNS = ["record", "id", "who", "what", "when", "points", "minutes", "stars", "status"]


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The UTC start of ``YYYY-MM`` and of the month after it."""
    start = datetime.strptime(month, "%Y-%m").replace(tzinfo=timezone.utc)
    if start.month == 12:
        end = start.replace(year=start.year + 1, month=1)
    else:
        end = start.replace(month=start.month + 1)
    return start, end


def report(node: linli.Node, community: str, month: str, out: TextIO) -> int:
    """Writes the report; returns the number of rows written."""
    start, end = month_bounds(month)
    w = csv.DictWriter(out, fieldnames=COLUMNS)
    w.writeheader()
    rows = 0
    docs = [d for d in node.documents() if d.community == community]
    for d in docs:
        if d.kind == "ledger" and d.year == start.year:
            for s in node.leaderboard(d.id):
                w.writerow(
                    {
                        "record": "standing",
                        "id": s.volunteer,
                        "who": s.volunteer,
                        "what": d.title,
                        "points": s.earned,
                        "minutes": s.minutes,
                        "stars": s.stars,
                    }
                )
                rows += 1
    for d in docs:
        if d.kind == "resource":
            for b in node.bookings(d.id):
                if start <= b.start < end:
                    w.writerow(
                        {
                            "record": "booking",
                            "id": b.id,
                            "who": b.organisation or b.booker,
                            "what": f"{d.title}: {b.purpose}",
                            "when": b.start.isoformat(),
                            "status": b.status,
                        }
                    )
                    rows += 1
    for d in docs:
        if d.kind == "wishes":
            for item in node.wishes(d.id):
                if start <= item.at < end:
                    w.writerow(
                        {
                            "record": "wish",
                            "id": item.id,
                            "who": item.by,
                            "what": item.title,
                            "when": item.at.isoformat(),
                            "status": item.kind,
                        }
                    )
                    rows += 1
    return rows


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("node_dir")
    p.add_argument("month", help="YYYY-MM")
    p.add_argument("--community", help="default: the node's organisation")
    p.add_argument("--out", help="CSV file to write (default: standard output)")
    args = p.parse_args(argv)
    try:
        month_bounds(args.month)
    except ValueError:
        print(f"error: month must be YYYY-MM, got {args.month!r}", file=sys.stderr)
        return 2
    try:
        with linli.Node.open(args.node_dir) as node:
            community = args.community or node.org
            if args.out:
                with open(args.out, "w", newline="", encoding="utf-8") as f:
                    n = report(node, community, args.month, f)
            else:
                n = report(node, community, args.month, sys.stdout)
    except (linli.LinliError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{n} rows", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
