"""Bad input: each error is raised as the matching exception class with a clear message,
and nothing is half-written (the node's documents and log are unchanged afterwards)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

import pytest

import linli
from conftest import District

SHANGHAI = timezone(timedelta(hours=8))
UNKNOWN_DOC = "ab" * 32


def tomorrow_at(hour: int) -> datetime:
    d = datetime.now(SHANGHAI).date() + timedelta(days=1)
    return datetime(d.year, d.month, d.day, hour, tzinfo=SHANGHAI)


@contextmanager
def unchanged(node: linli.Node) -> Iterator[None]:
    """Asserts that the block leaves every document and the change log as they were."""
    docs = {d.id: node.heads(d.id) for d in node.documents()}
    status = node.status()
    yield
    assert {d.id: node.heads(d.id) for d in node.documents()} == docs
    after = node.status()
    assert (after.log, after.accepted, after.refused) == (
        status.log,
        status.accepted,
        status.refused,
    )


def raises(
    node: linli.Node, exc: type[BaseException], match: str, f: Callable[..., Any], *args: Any, **kw: Any
) -> None:
    with unchanged(node), pytest.raises(exc, match=match):
        f(*args, **kw)


@pytest.fixture
def docs(dianye: linli.Node) -> dict[str, str]:
    ledger = dianye.create_ledger(2026, "beishi", hand_points=True)
    dianye.record_service(ledger, "dianye:1", "gardening", "2026-03-01", 2)
    registry = dianye.create_registry("beishi", "Dianye compounds")
    compound = dianye.add_compound(registry, "Shimalu", "1 Dianye Road", 120)
    room = dianye.create_room("beishi", "Dianye activity room", 30)
    booking = dianye.request_booking(room, "Li Wei", "reading", tomorrow_at(10), tomorrow_at(11), 5)
    kitchen = dianye.create_kitchen("beishi", "Dianye kitchen", 20, 10)
    wishes = dianye.create_wishes("beishi", "Dianye wishes")
    wish = dianye.post_wish(wishes, "wish", "Ramp", "At gate 2", "access")
    return {
        "ledger": ledger,
        "registry": registry,
        "compound": compound,
        "room": room,
        "booking": booking,
        "kitchen": kitchen,
        "wishes": wishes,
        "wish": wish,
    }


def test_wrong_types_are_type_errors(dianye: linli.Node, docs: dict[str, str]) -> None:
    bad: Any = 12
    raises(dianye, TypeError, "hours", dianye.record_service, docs["ledger"], "dianye:1", "x", "2026-01-01", "two")
    raises(dianye, TypeError, "ledger", dianye.record_service, bad, "dianye:1", "x", "2026-01-01", 1)
    raises(dianye, TypeError, "portions", dianye.place_order, docs["kitchen"], "1-1-101", "2030-01-01", "3", [])
    raises(dianye, TypeError, "results", dianye.inspect, docs["registry"], docs["compound"], "2026-01-01", ["h1"])
    raises(dianye, TypeError, "marks", dianye.score, docs["registry"], docs["compound"], 2026, "community", {"a": "ten"})
    raises(dianye, TypeError, "booking", dianye.confirm_booking, docs["room"], None)
    # Dates and times are checked by the bindings, before anything reaches the node.
    raises(dianye, linli.ValidationError, "expected a datetime.date", dianye.record_service, docs["ledger"], "dianye:1", "x", 20260301, 1)
    raises(
        dianye,
        linli.ValidationError,
        "expected a datetime.date",
        dianye.place_order,
        docs["kitchen"],
        "1-1-101",
        datetime(2030, 1, 1, tzinfo=timezone.utc),
        1,
        [],
    )
    raises(
        dianye,
        linli.ValidationError,
        "timezone-aware",
        dianye.request_booking,
        docs["room"],
        "Li Wei",
        "chess",
        datetime(2030, 1, 1, 10),
        datetime(2030, 1, 1, 11),
        3,
    )


def test_bad_values_are_validation_errors(dianye: linli.Node, docs: dict[str, str]) -> None:
    raises(dianye, linli.ValidationError, "at most two decimals", dianye.redeem, docs["ledger"], "dianye:1", "rice", "0.125", "store")
    raises(dianye, linli.ValidationError, "invalid number of points", dianye.correct, docs["ledger"], "dianye:1", "lots", "x")
    raises(dianye, linli.ValidationError, "invalid date", dianye.appoint, docs["registry"], docs["compound"], "Firm", "next year")
    raises(dianye, linli.ValidationError, "unknown appointment status", dianye.appoint, docs["registry"], docs["compound"], "Firm", "2026-01-01", status="hired")
    raises(dianye, linli.ValidationError, "checklist item kind", dianye.set_district_config, UNKNOWN_DOC, checklist=[("h1", "x", "maybe", 1)])
    raises(dianye, linli.ValidationError, "scorer role", dianye.set_district_config, UNKNOWN_DOC, weights={"mayor": 1})
    raises(dianye, linli.ValidationError, "at least 1 portion", dianye.place_order, docs["kitchen"], "1-1-101", date.today() + timedelta(days=5), 0, [])
    raises(dianye, linli.ValidationError, "at least 1 attendee", dianye.request_booking, docs["room"], "Li", "chess", tomorrow_at(12), tomorrow_at(13), 0)
    raises(dianye, linli.ValidationError, "ends", dianye.request_booking, docs["room"], "Li", "chess", tomorrow_at(13), tomorrow_at(12), 3)


def test_unknown_ids_are_validation_errors(dianye: linli.Node, docs: dict[str, str]) -> None:
    raises(dianye, linli.ValidationError, f"unknown document {UNKNOWN_DOC}", dianye.kitchen_day, UNKNOWN_DOC, "2030-01-01")
    raises(dianye, linli.ValidationError, "unknown document", dianye.ledger_entries, UNKNOWN_DOC)
    raises(dianye, linli.ValidationError, "unknown document", dianye.heads, UNKNOWN_DOC)
    raises(dianye, linli.ValidationError, "document id", dianye.orders, "kitchen-1")
    raises(dianye, linli.ValidationError, "unknown booking dianye@abcdef0123456789:9", dianye.confirm_booking, docs["room"], "dianye@abcdef0123456789:9")
    raises(dianye, linli.ValidationError, "unknown booking", dianye.cancel_booking, docs["room"], "dianye@abcdef0123456789:9")
    raises(dianye, linli.ValidationError, "unknown order dianye@abcdef0123456789:9", dianye.accept_order, docs["kitchen"], "dianye@abcdef0123456789:9")
    raises(dianye, linli.ValidationError, "unknown compound dianye@abcdef0123456789:9", dianye.appointment, docs["registry"], "dianye@abcdef0123456789:9")
    raises(dianye, linli.ValidationError, "unknown compound", dianye.composite_score, docs["registry"], "dianye@abcdef0123456789:9", 2026)
    raises(dianye, linli.ValidationError, "unknown wish dianye@abcdef0123456789:9", dianye.claims, docs["wishes"], "dianye@abcdef0123456789:9")
    raises(dianye, linli.ValidationError, "unknown wish", dianye.claim_wish, docs["wishes"], "dianye@abcdef0123456789:9")
    raises(dianye, linli.ValidationError, "has no claim", dianye.assign_claim, docs["wishes"], docs["wish"], "dianye@abcdef0123456789:9")
    raises(dianye, linli.ValidationError, r"record id \"claim 9\" is invalid", dianye.assign_claim, docs["wishes"], docs["wish"], "claim 9")
    raises(dianye, linli.ValidationError, "registry, not a", dianye.place_order, docs["registry"], "1-1-101", "2030-01-01", 1, [])


def test_rejected_operations_change_nothing(district: District, dianye: linli.Node, docs: dict[str, str]) -> None:
    room, booking = docs["room"], docs["booking"]
    other = dianye.request_booking(room, "Wang", "chess", tomorrow_at(10), tomorrow_at(11), 2)
    dianye.confirm_booking(room, booking)
    raises(dianye, linli.ConflictError, "overlaps confirmed booking", dianye.confirm_booking, room, other)
    raises(dianye, linli.ConflictError, "cannot revoke booking", dianye.revoke_booking, room, other, "x")
    raises(dianye, linli.ConflictError, "redeeming 100 would overdraw", dianye.redeem, docs["ledger"], "dianye:1", "tv", 100, "store")
    raises(dianye, linli.AuthorizationError, "only beishi may", dianye.appoint, docs["registry"], docs["compound"], "Firm", "2026-01-01")
    raises(dianye, linli.ValidationError, "no appointed manager", dianye.score, docs["registry"], docs["compound"], 2026, "community", {"a": 1})
    raises(dianye, linli.ValidationError, "has not configured a checklist", dianye.inspect, docs["registry"], docs["compound"], "2026-01-01", {})
    raises(dianye, linli.AuthorizationError, "only the root sets the district settings", dianye.set_district_config, district.federation, pass_mark=50)
    raises(dianye, linli.ConflictError, "is published: cannot mark it confirmed", dianye.advance_wish, docs["wishes"], docs["wish"], "confirmed")
    day = datetime.now(SHANGHAI).date()
    raises(dianye, linli.ConflictError, "after the cut-off", dianye.place_order, docs["kitchen"], "1-1-101", day, 1, [])
    xinhua = district.community("xinhua")
    try:
        district.send(dianye, xinhua)
        raises(xinhua, linli.AuthorizationError, "may not", xinhua.record_service, docs["ledger"], "xinhua:1", "x", "2026-01-01", 1)
        raises(xinhua, linli.AuthorizationError, "may not", xinhua.post_wish, docs["wishes"], "wish", "x", "y", "z")
        raises(xinhua, linli.AuthorizationError, "may not", xinhua.cancel_booking, room, booking)
    finally:
        xinhua.close()


def test_closed_node_raises_storage_error(district: District) -> None:
    node = district.community("dianye")
    ledger = node.create_ledger(2026, "beishi", hand_points=True)
    node.record_service(ledger, "dianye:1", "x", "2026-01-01", 1)
    entries = node.ledger_entries(ledger, page_size=1)
    events = node.events()
    node.close()
    assert node.closed and "closed" in repr(node)
    calls: list[Callable[[], Any]] = [
        node.status,
        node.documents,
        node.peers,
        lambda: node.heads(ledger),
        lambda: node.record_service(ledger, "dianye:1", "x", "2026-01-01", 1),
        lambda: node.correct(ledger, "dianye:1", 1, "x"),
        lambda: node.leaderboard(ledger, across=True),
        lambda: node.ledger_entries(ledger),
        lambda: node.create_kitchen("beishi", "k", 1, 1),
        lambda: node.kitchen_day(ledger, "2026-01-01"),
        lambda: node.export(district.tmp / "closed.linli"),
        lambda: next(entries),
    ]
    for call in calls:
        with pytest.raises(linli.StorageError, match="shut down"):
            call()
    assert events.next(timeout=1) is None
    with linli.Node.open(node.path) as again:  # the store was closed cleanly
        assert [s.minutes for s in again.leaderboard(ledger)] == [60]


def test_locked_store(district: District, dianye: linli.Node, docs: dict[str, str]) -> None:
    with unchanged(dianye):
        with pytest.raises(linli.StorageError, match=re.escape(str(dianye.path)) + ".*in use"):
            linli.Node.open(dianye.path)
        with pytest.raises(linli.StorageError, match="already holds"):
            linli.Node.init(dianye.path, org="dianye", root=district.root.node_id)
    # The running node is not disturbed.
    dianye.record_service(docs["ledger"], "dianye:1", "x", "2026-01-02", 1)
    assert dianye.balance("dianye:1") == Decimal(3)


def test_unknown_path_and_missing_config(tmp_path: Path) -> None:
    with pytest.raises(linli.StorageError, match="no linli store"):
        linli.Node.open(tmp_path / "nothing")
    assert not (tmp_path / "nothing").exists()
    with pytest.raises(linli.ValidationError, match="missing.toml does not exist"):
        linli.Node.open(tmp_path, config=tmp_path / "missing.toml")


def test_unknown_records_are_not_found_errors(dianye: linli.Node, docs: dict[str, str]) -> None:
    # One classification for every surface: NotFoundError (a ValidationError, as before).
    assert issubclass(linli.NotFoundError, linli.ValidationError)
    raises(dianye, linli.NotFoundError, "unknown booking", dianye.confirm_booking, docs["room"], "dianye@abcdef0123456789:9")
    raises(dianye, linli.NotFoundError, "unknown order", dianye.accept_order, docs["kitchen"], "dianye@abcdef0123456789:9")
    raises(dianye, linli.NotFoundError, "unknown wish", dianye.claim_wish, docs["wishes"], "dianye@abcdef0123456789:9")
    raises(dianye, linli.NotFoundError, "unknown document", dianye.ledger_entries, UNKNOWN_DOC)
