#!/usr/bin/env python3
"""Print every volunteer's earned points, balance and stars, as CSV, from a node's data
directory — whether the node's daemon is running or not.

    python volunteer_balances.py NODE_DIR

With ``linli run`` serving NODE_DIR, the script talks to the daemon through its local API
(``linli.connect``); without one it opens the store itself (``linli.Node.open``). The calls,
result classes and exceptions are the same either way. Columns:
``ledger,year,volunteer,earned,balance,stars`` (balances over every ledger the node holds).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Optional, TextIO

import linli


def node_for(node_dir: Path) -> linli.Node:
    """The running daemon of ``node_dir`` if there is one, else the store opened here."""
    try:
        return linli.connect(node_dir)
    except linli.LinliError as e:
        if str(e).startswith(("no daemon runs", "no daemon answers")):
            return linli.Node.open(node_dir)
        raise


def write(node: linli.Node, out: TextIO) -> int:
    """Writes the rows; returns how many."""
    w = csv.writer(out)
    w.writerow(["ledger", "year", "volunteer", "earned", "balance", "stars"])
    rows = 0
    for doc in node.documents():
        if doc.kind != "ledger":
            continue
        for s in node.leaderboard(doc.id):
            balance = node.balance(s.volunteer)
            w.writerow([doc.title, doc.year, s.volunteer, s.earned, balance, s.stars])
            rows += 1
    return rows


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("node_dir", type=Path)
    args = p.parse_args(argv)
    try:
        with node_for(args.node_dir) as node:
            where = "daemon" if node.remote else "store"
            rows = write(node, sys.stdout)
    except linli.LinliError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{rows} volunteer(s), read from the {where}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
