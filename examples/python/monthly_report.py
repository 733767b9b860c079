#!/usr/bin/env python3
"""Write a community's monthly report as CSV: points, stars, bookings and wishes.

    python monthly_report.py NODE_DIR 2026-03 [--community dianye] [--out report.csv]
        [--config NODE_DIR/linli.toml] [--utc-offset 8]

One row per record, with the columns ``record,id,who,what,when,points,minutes,stars,status``:

* ``volunteer`` — every volunteer with service, corrections or redemptions in the
  community's ledger of that year during the month: points earned in the month (service
  dated in the month plus corrections written in it), minutes served, stars (the year so
  far) and, as status, the points redeemed in the month;
* ``booking`` — bookings of the community's rooms and kitchens whose slot starts in the
  month, with their status;
* ``wish`` — items posted in the community's wishes documents during the month, with
  their status.

The month is taken in local time (UTC+8 by default, as Beijing time); times in the report
are in that offset too. Ledger entries are read as a stream (``Node.ledger_entries``), so
a large ledger is never loaded into memory at once.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Optional, TextIO

import linli

COLUMNS = ["record", "id", "who", "what", "when", "points", "minutes", "stars", "status"]


def month_bounds(month: str, zone: tzinfo) -> tuple[datetime, datetime]:
    """The start of ``YYYY-MM`` in ``zone`` and the start of the month after it."""
    start = datetime.strptime(month, "%Y-%m").replace(tzinfo=zone)
    if start.month == 12:
        end = start.replace(year=start.year + 1, month=1)
    else:
        end = start.replace(month=start.month + 1)
    return start, end


@dataclass
class Month:
    earned: Decimal = Decimal(0)
    minutes: int = 0
    redeemed: Decimal = Decimal(0)
    seen: set[str] = field(default_factory=set)


def report(node: linli.Node, community: str, month: str, zone: tzinfo, out: TextIO) -> int:
    """Writes the report; returns the number of rows written."""
    start, end = month_bounds(month, zone)
    w = csv.DictWriter(out, fieldnames=COLUMNS)
    w.writeheader()
    rows = 0
    docs = [d for d in node.documents() if d.community == community]
    for d in docs:
        if d.kind != "ledger" or d.year != start.year:
            continue
        per: dict[str, Month] = defaultdict(Month)
        for e in node.ledger_entries(d.id):
            if e.kind == "service":
                assert e.date is not None and e.minutes is not None
                if start.date() <= e.date < end.date():
                    per[e.volunteer].earned += e.points
                    per[e.volunteer].minutes += e.minutes
            elif start <= e.at < end:
                if e.kind == "correction":
                    per[e.volunteer].earned += e.points
                else:
                    per[e.volunteer].redeemed -= e.points
        stars = {s.volunteer: s.stars for s in node.leaderboard(d.id)}
        for volunteer in sorted(per, key=lambda v: (-per[v].earned, v)):
            m = per[volunteer]
            w.writerow(
                {
                    "record": "volunteer",
                    "id": volunteer,
                    "who": volunteer,
                    "what": d.title,
                    "when": month,
                    "points": m.earned,
                    "minutes": m.minutes,
                    "stars": stars.get(volunteer, 0),
                    "status": f"redeemed {m.redeemed}" if m.redeemed else "",
                }
            )
            rows += 1
    for d in docs:
        if d.kind != "resource":
            continue
        for b in node.bookings(d.id):
            starts = b.confirmed_start or b.start
            if start <= starts < end:
                w.writerow(
                    {
                        "record": "booking",
                        "id": b.id,
                        "who": b.organisation or b.booker,
                        "what": f"{d.title}: {b.purpose}",
                        "when": starts.astimezone(zone).isoformat(),
                        "status": b.status,
                    }
                )
                rows += 1
    for d in docs:
        if d.kind != "wishes":
            continue
        for item in node.wishes(d.id):
            if start <= item.at < end:
                w.writerow(
                    {
                        "record": "wish",
                        "id": item.id,
                        "who": item.by,
                        "what": f"{item.kind}: {item.title}",
                        "when": item.at.astimezone(zone).isoformat(),
                        "status": item.status,
                    }
                )
                rows += 1
    return rows


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("node_dir")
    p.add_argument("month", help="YYYY-MM")
    p.add_argument("--community", help="default: the node's organisation")
    p.add_argument("--out", help="CSV file to write (default: standard output)")
    p.add_argument("--config", help="the node's configuration file (linli.toml)")
    p.add_argument("--utc-offset", type=float, default=8.0, help="hours (default 8)")
    args = p.parse_args(argv)
    zone = timezone(timedelta(hours=args.utc_offset))
    try:
        month_bounds(args.month, zone)
    except ValueError:
        print(f"error: month must be YYYY-MM, got {args.month!r}", file=sys.stderr)
        return 2
    try:
        with linli.Node.open(args.node_dir, config=args.config) as node:
            community = args.community or node.org
            if args.out:
                with open(args.out, "w", newline="", encoding="utf-8") as f:
                    n = report(node, community, args.month, zone, f)
            else:
                n = report(node, community, args.month, zone, sys.stdout)
    except (linli.LinliError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{n} rows", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
