"""The examples in ``examples/python`` run on generated data, as a partner would run them."""

from __future__ import annotations

import csv
import random
import subprocess
import sys
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import linli
from conftest import District

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "python"
SHANGHAI = timezone(timedelta(hours=8))


def run(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *map(str, args)], capture_output=True, text=True, timeout=300
    )


def generate_hours(path: Path, rows: int, seed: int) -> tuple[dict[str, Decimal], list[int]]:
    """A partner's CSV of ``rows`` rows, some of them bad. Returns the expected balances
    of the good rows and the line numbers of the bad ones."""
    rng = random.Random(seed)
    expected: dict[str, Decimal] = defaultdict(Decimal)
    bad: list[int] = []
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["volunteer", "activity", "date", "hours", "team", "evidence"])
        for i in range(rows):
            line = i + 2
            volunteer = f"dianye:{rng.randint(1, 6)}"
            day = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            hours = rng.choice(["0.5", "1", "1.5", "2", "3.25", "4"])
            if i % 7 == 3:
                hours, bad_line = "25", True  # more than a day
            elif i % 11 == 5:
                day, bad_line = "2026-13-01", True  # not a date
            elif i % 13 == 6:
                volunteer, bad_line = "somebody", True  # not a volunteer id
            elif i % 17 == 8:
                day, bad_line = "2025-06-01", True  # outside the ledger's year
            else:
                bad_line = False
            w.writerow([volunteer, rng.choice(["gardening", "reading"]), day, hours, "", f"p{i}"])
            if bad_line:
                bad.append(line)
            else:
                expected[volunteer] += Decimal(hours)
    return dict(expected), bad


def test_import_volunteer_hours(tmp_path: Path, district: District) -> None:
    node = district.community("dianye")
    with node:
        ledger = node.create_ledger(2026, "beishi", hand_points=True)
        heads = node.heads(ledger)
    hours = tmp_path / "hours.csv"
    expected, bad = generate_hours(hours, 60, seed=8)
    assert len(bad) >= 10
    script = EXAMPLES / "import_volunteer_hours.py"

    dry = run(script, node.path, ledger, hours, "--dry-run")
    assert dry.returncode == 1, dry.stderr
    # The dry run finds every bad row, and writes nothing.
    dry_bad = [int(x.split(":")[0].split()[-1]) for x in dry.stdout.splitlines()[1:]]
    assert dry.stdout.startswith(f"would record {60 - len(bad)} rows, rejected {len(bad)}\n")
    assert dry_bad == bad
    with linli.Node.open(node.path) as again:
        assert again.heads(ledger) == heads
        assert list(again.ledger_entries(ledger)) == []

    rejects = tmp_path / "rejected.csv"
    real = run(script, node.path, ledger, hours, "--rejects", rejects)
    assert real.returncode == 1, real.stderr
    assert real.stdout.startswith(f"recorded {60 - len(bad)} rows, rejected {len(bad)}\n")
    assert "hours must be more than 0 and at most 24, got 25" in real.stdout
    assert "date is not YYYY-MM-DD: '2026-13-01'" in real.stdout
    assert "not in this ledger's year 2026" in real.stdout
    assert "record id \"somebody\" is invalid" in real.stdout
    with rejects.open(newline="", encoding="utf-8") as f:
        rejected_rows = list(csv.DictReader(f))
    assert [int(r["line"]) for r in rejected_rows] == bad
    assert all(r["reason"] and r["volunteer"] for r in rejected_rows)
    with linli.Node.open(node.path) as again:
        for volunteer, points in expected.items():
            assert again.balance(volunteer) == points, volunteer
        entries = list(again.ledger_entries(ledger, page_size=16))
        assert len(entries) == 60 - len(bad)
        assert all(e.kind == "service" and e.evidence for e in entries)


def test_import_volunteer_hours_usage_errors(tmp_path: Path, district: District) -> None:
    node = district.community("dianye")
    with node:
        ledger = node.create_ledger(2026, "beishi", hand_points=True)
        registry = node.create_registry("beishi", "Dianye compounds")
    script = EXAMPLES / "import_volunteer_hours.py"
    bad_header = tmp_path / "bad.csv"
    bad_header.write_text("who,when\nx,y\n", encoding="utf-8")
    r = run(script, node.path, ledger, bad_header)
    assert r.returncode == 2 and "missing columns volunteer, activity, date, hours" in r.stderr
    good = tmp_path / "good.csv"
    good.write_text("volunteer,activity,date,hours\ndianye:1,x,2026-01-01,1\n", encoding="utf-8")
    r = run(script, node.path, registry, good)
    assert r.returncode == 2 and "is a registry, not a ledger" in r.stderr
    r = run(script, node.path, ledger, good, "--config", tmp_path / "missing.toml")
    assert r.returncode == 2 and "missing.toml does not exist" in r.stderr
    r = run(script, node.path, ledger, good, "--dry-run")
    assert r.returncode == 0 and r.stdout == "would record 1 rows, rejected 0\n", r.stderr
    r = run(script, node.path, ledger, good)
    assert r.returncode == 0 and r.stdout == "recorded 1 rows, rejected 0\n", r.stderr


def month_of(t: datetime) -> str:
    return t.astimezone(SHANGHAI).strftime("%Y-%m")


def test_monthly_report(tmp_path: Path, district: District) -> None:
    node = district.community("dianye")
    day = datetime.now(SHANGHAI).date() + timedelta(days=1)
    start = datetime(day.year, day.month, day.day, 10, tzinfo=SHANGHAI)
    with node:
        ledger = node.create_ledger(2026, "beishi", hand_points=True)
        node.record_service(ledger, "dianye:1", "gardening", "2026-03-01", 8)
        node.record_service(ledger, "dianye:1", "gardening", "2026-03-31", 4)
        node.record_service(ledger, "dianye:2", "reading", "2026-03-02", 1)
        node.record_service(ledger, "dianye:3", "reading", "2026-04-01", 2)  # April
        room = node.create_room("beishi", "Dianye activity room", 30)
        kept = node.request_booking(room, "Li Wei", "reading club", start, start + timedelta(hours=1), 5)
        node.confirm_booking(room, kept)
        wishes = node.create_wishes("beishi", "Dianye wishes")
        wish = node.post_wish(wishes, "wish", "Wheelchair ramp", "At gate 2", "access")
        node.claim_wish(wishes, wish, "we can")
    script = EXAMPLES / "monthly_report.py"

    march = tmp_path / "march.csv"
    r = run(script, node.path, "2026-03", "--out", march)
    assert r.returncode == 0, r.stderr
    with march.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    volunteers = [(x["id"], x["points"], x["minutes"], x["stars"]) for x in rows if x["record"] == "volunteer"]
    assert volunteers == [("dianye:1", "12", "720", "1"), ("dianye:2", "1", "60", "0")]
    if month_of(start) != "2026-03":
        assert [x["record"] for x in rows] == ["volunteer", "volunteer"]

    month = month_of(start)
    out = tmp_path / "now.csv"
    r = run(script, node.path, month, "--out", out)
    assert r.returncode == 0, r.stderr
    with out.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    [booking] = [x for x in rows if x["record"] == "booking"]
    assert booking["id"] == kept and booking["status"] == "confirmed"
    assert booking["what"] == "Dianye activity room: reading club"
    assert booking["when"] == start.isoformat()
    wish_rows = [x for x in rows if x["record"] == "wish"]
    # The wish was posted now: it is in the report if now is in the booking's month.
    if month_of(datetime.now(timezone.utc)) == month:
        assert [(x["id"], x["status"], x["what"]) for x in wish_rows] == [
            (wish, "claimed", "wish: Wheelchair ramp")
        ]
    else:
        assert wish_rows == []

    bad = run(script, node.path, "March")
    assert bad.returncode == 2 and "YYYY-MM" in bad.stderr
    missing = run(script, tmp_path / "nowhere", "2026-03")
    assert missing.returncode == 2 and "no linli store" in missing.stderr

