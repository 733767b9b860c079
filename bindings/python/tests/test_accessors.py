"""Tests of the accessors added for partner organisations: kitchens, registry appointments,
inspections and scores, booking decisions, wish claims, ledger corrections and entries,
leaderboards, peers, events and ``Node.open(config=...)``."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Callable, Optional

import pytest

import linli
from conftest import District

SHANGHAI = timezone(timedelta(hours=8))
CHECKLIST = [
    ("h1", "fire box", "must_have", 30),
    ("h2", "cameras", "must_have", 30),
    ("n1", "no blocked exits", "must_not_have", 40),
]


def shanghai_day(days: int) -> date:
    return datetime.now(SHANGHAI).date() + timedelta(days=days)


def tomorrow_at(hour: int) -> datetime:
    d = shanghai_day(1)
    return datetime(d.year, d.month, d.day, hour, tzinfo=SHANGHAI)


def poll(
    events: linli.Events, pred: Callable[[linli.Event], bool], deadline_s: float = 10.0
) -> Optional[linli.Event]:
    """The first event matching ``pred`` before the deadline (None if none came)."""
    deadline = time.monotonic() + deadline_s
    while (left := deadline - time.monotonic()) > 0:
        ev = events.next(timeout=left)
        if ev is None:
            return None
        if pred(ev):
            return ev
    return None


# ---- open(config=...) ---------------------------------------------------------------


def test_open_with_config(tmp_path: Path) -> None:
    with linli.Node.init(tmp_path / "n", org="heping") as n:
        assert n.config_path is None
    cfg = tmp_path / "n" / "linli.toml"
    cfg.write_text("[network]\nlisten = []\n", encoding="utf-8")
    with linli.Node.open(tmp_path / "n", config=cfg) as n:
        assert n.config_path == cfg
        assert n.org == "heping"
    with linli.Node.open(tmp_path / "n", config=str(cfg)) as n:
        assert n.config_path == cfg
    with linli.Node.open(tmp_path / "n", config=None) as n:
        assert n.config_path is None


def test_open_with_missing_config_names_the_file(tmp_path: Path) -> None:
    with linli.Node.init(tmp_path / "n", org="heping"):
        pass
    missing = tmp_path / "n" / "nope.toml"
    with pytest.raises(linli.ValidationError, match=r"config file .*nope\.toml does not exist"):
        linli.Node.open(tmp_path / "n", config=missing)
    with pytest.raises(linli.ValidationError, match="is not a file"):
        linli.Node.open(tmp_path / "n", config=tmp_path)
    # The store was not opened (nor locked) by the failed calls.
    with linli.Node.open(tmp_path / "n") as n:
        assert n.org == "heping"


# ---- shared kitchen -----------------------------------------------------------------


def test_kitchen_orders_against_capacity(dianye: linli.Node) -> None:
    kitchen = dianye.create_kitchen("beishi", "Dianye kitchen", 40, daily_capacity=10)
    day = shanghai_day(3)
    a = dianye.place_order(kitchen, "3-2-401", day, 6, ["noodles"])
    b = dianye.place_order(kitchen, "3-2-402", day.isoformat(), 5, ["rice", "soup"])
    c = dianye.place_order(kitchen, "1-1-101", day, 2, [])
    other_day = dianye.place_order(kitchen, "1-1-101", shanghai_day(4), 1, ["rice"])
    assert a.startswith("dianye@")
    summary = dianye.kitchen_day(kitchen, day)
    assert summary.date == day and summary.service == "dinner"
    assert summary.capacity == 10
    assert summary.accepted_portions == 0 and summary.waiting_portions == 13
    assert [o.id for o in summary.orders] == [a, b, c]
    assert summary.cutoff.tzinfo is not None
    # Cut-off: 20:00 Shanghai the evening before.
    assert summary.cutoff.astimezone(SHANGHAI) == datetime(
        (day - timedelta(days=1)).year,
        (day - timedelta(days=1)).month,
        (day - timedelta(days=1)).day,
        20,
        tzinfo=SHANGHAI,
    )
    dianye.accept_order(kitchen, a)
    with pytest.raises(linli.ConflictError, match="daily capacity"):
        dianye.accept_order(kitchen, b)  # 6 + 5 > 10
    dianye.refuse_order(kitchen, b, "full")
    dianye.accept_order(kitchen, c)
    dianye.mark_collected(kitchen, a)
    dianye.mark_collected(kitchen, c, collected=False)
    summary = dianye.kitchen_day(kitchen, day)
    statuses = {o.id: (o.status, o.reason) for o in summary.orders}
    assert statuses == {
        a: ("collected", None),
        b: ("refused", "full"),
        c: ("uncollected", None),
    }
    assert summary.accepted_portions == 8 and summary.waiting_portions == 0
    [order_b] = [o for o in summary.orders if o.id == b]
    assert order_b.items == ["rice", "soup"] and order_b.household == "3-2-402"
    assert order_b.date == day and order_b.placed_at.tzinfo is not None
    assert "MealOrder(" in repr(order_b) and "KitchenDay(" in repr(summary)
    dianye.cancel_order(kitchen, other_day)
    assert {o.id: o.status for o in dianye.orders(kitchen)} == {
        a: "collected",
        b: "refused",
        c: "uncollected",
        other_day: "cancelled",
    }
    with pytest.raises(linli.ConflictError, match="cancelled"):
        dianye.accept_order(kitchen, other_day)


def test_kitchen_day_of_a_room_is_validation_error(dianye: linli.Node) -> None:
    room = dianye.create_room("beishi", "Dianye activity room", 30)
    with pytest.raises(linli.ValidationError, match="not a kitchen"):
        dianye.kitchen_day(room, shanghai_day(2))
    with pytest.raises(linli.ValidationError, match="not a kitchen"):
        dianye.place_order(room, "1-1-101", shanghai_day(2), 1, [])


# ---- compound registry: appointment, inspections, scores --------------------------


def test_appointment_inspection_and_scores(district: District, dianye: linli.Node) -> None:
    district.root.set_district_config(
        district.federation,
        checklist_id="heping-2026",
        checklist=CHECKLIST,
        weights={"owners": 1, "community": 1, "street": 2, "department": 1},
        pass_mark=60,
    )
    district.send(district.root, dianye)
    street = district.street("beishi")
    try:
        reg = dianye.create_registry("beishi", "Dianye compounds")
        cid = dianye.add_compound(reg, "Shimalu", "1 Dianye Road", 120)
        assert dianye.appointment(reg, cid).state == "vacant"
        assert dianye.appointment(reg, cid).appointments == ()
        # Only the street appoints.
        with pytest.raises(linli.AuthorizationError, match="only beishi may"):
            dianye.appoint(reg, cid, "Good Homes Ltd", "2026-01-01")
        district.send(dianye, street)
        street.appoint(
            reg, cid, "Good Homes Ltd", date(2026, 1, 1), end=date(2028, 12, 31), mode="guarantee_firm"
        )
        district.send(street, dianye)
        state = dianye.appointment(reg, cid)
        assert state.state == "current" and state.compound == cid
        [a] = state.appointments
        assert a.manager == "Good Homes Ltd" and a.mode == "guarantee_firm"
        assert a.start == date(2026, 1, 1) and a.end == date(2028, 12, 31)
        assert a.status == "appointed" and a.by == "beishi" and a.at.tzinfo is not None
        assert "Good Homes" in repr(state)

        iid = dianye.inspect(reg, cid, "2026-03-05", {"h1": True, "h2": False, "n1": True}, "ok")
        [ins] = dianye.inspections(reg, cid)
        assert ins.id == iid and ins.compound == cid and ins.template == "heping-2026"
        assert ins.points == 70 and ins.max_points == 100
        assert ins.results == {"h1": True, "h2": False, "n1": True}
        assert ins.date == date(2026, 3, 5) and ins.note == "ok" and ins.by == "beishi/dianye"
        with pytest.raises(linli.ValidationError, match='no result for item "n1"'):
            dianye.inspect(reg, cid, "2026-03-06", {"h1": True, "h2": True})
        assert len(dianye.inspections(reg, cid)) == 1

        dianye.score(reg, cid, 2026, "community", {"service": 30, "cleanliness": 20}, "fair")
        street.score(reg, cid, 2026, "street", {"overall": 55})
        district.send(street, dianye)
        sheets = dianye.score_sheets(reg, cid, 2026)
        assert [(s.role, s.total, s.by) for s in sheets] == [
            ("community", 50, "beishi/dianye"),
            ("street", 55, "beishi"),
        ]
        assert sheets[0].marks == {"service": 30, "cleanliness": 20}
        assert sheets[0].manager == "Good Homes Ltd" and sheets[0].comment == "fair"
        comp = dianye.composite_score(reg, cid, 2026)
        assert comp.totals == {"community": 50, "street": 55}
        # Weighted: (50 * 1 + 55 * 2) / 3
        assert comp.score == pytest.approx(160 / 3)
        assert comp.below_threshold and not comp.complete
        assert "CompositeScore(" in repr(comp)
        empty = dianye.composite_score(reg, cid, 2025)
        assert empty.score is None and not empty.below_threshold and empty.totals == {}
        with pytest.raises(linli.ValidationError, match="may not write the street sheet"):
            dianye.score(reg, cid, 2026, "street", {"overall": 100})
        with pytest.raises(linli.ValidationError, match="above 100"):
            dianye.score(reg, cid, 2026, "owners", {"a": 60, "b": 50})
        with pytest.raises(linli.ValidationError, match="unknown scorer role"):
            dianye.score(reg, cid, 2026, "mayor", {"a": 1})
    finally:
        street.close()


def test_concurrent_appointments_are_contested(district: District, dianye: linli.Node) -> None:
    a = district.street("beishi")
    b = linli.Node.init(district.tmp / "beishi-2", org="beishi", root=district.root.node_id)
    try:
        district.root.issue_certificate(district.federation, b.node_id, "street", "beishi")
        district.send(district.root, b)
        reg = dianye.create_registry("beishi", "Dianye compounds")
        cid = dianye.add_compound(reg, "Shimalu", "1 Dianye Road", 120)
        district.send(dianye, a)
        district.send(dianye, b)
        a.appoint(reg, cid, "Firm A", "2026-01-01")
        b.appoint(reg, cid, "Firm B", "2026-01-01")
        district.send(a, dianye)
        district.send(b, dianye)
        state = dianye.appointment(reg, cid)
        assert state.state == "contested"
        assert sorted(x.manager for x in state.appointments) == ["Firm A", "Firm B"]
    finally:
        a.close()
        b.close()


# ---- bookings: reject, waitlist, cancel, revoke ------------------------------------


def test_booking_decisions(dianye: linli.Node) -> None:
    room = dianye.create_room("beishi", "Dianye activity room", 30)
    s, e = tomorrow_at(14), tomorrow_at(16)
    first = dianye.request_booking(room, "Li Wei", "reading club", s, e, 10)
    second = dianye.request_booking(room, "Wang Fang", "chess", s, e, 4)
    third = dianye.request_booking(room, "Zhao Min", "choir", tomorrow_at(9), tomorrow_at(10), 8)
    fourth = dianye.request_booking(room, "Sun Li", "yoga", tomorrow_at(18), tomorrow_at(19), 8)
    dianye.confirm_booking(room, first)
    dianye.waitlist_booking(room, second)
    dianye.reject_booking(room, third, "room is being painted")
    assert [b.id for b in dianye.waitlist(room)] == [second]
    with pytest.raises(linli.ConflictError, match="waitlisted"):
        dianye.promote_waitlist(room)  # the slot is still taken
    dianye.cancel_booking(room, first, "club moved")
    assert dianye.promote_waitlist(room) == [second]
    assert dianye.waitlist(room) == []
    dianye.confirm_booking(room, fourth)
    dianye.revoke_booking(room, fourth, "misuse")
    by_id = {b.id: b for b in dianye.bookings(room)}
    assert {i: (b.status, b.status_reason) for i, b in by_id.items()} == {
        first: ("cancelled", "club moved"),
        second: ("confirmed", None),
        third: ("rejected", "room is being painted"),
        fourth: ("revoked", "misuse"),
    }
    assert by_id[second].confirmed_start == s and by_id[second].confirmed_end == e
    assert "status_reason='misuse'" in repr(by_id[fourth])
    # Cancelled and revoked are final.
    with pytest.raises(linli.ConflictError, match="final"):
        dianye.confirm_booking(room, first)
    with pytest.raises(linli.ConflictError, match="final"):
        dianye.cancel_booking(room, fourth)


# ---- wishes: claims and lifecycle ----------------------------------------------------


def test_wish_claims_and_lifecycle(district: District, dianye: linli.Node) -> None:
    doc = dianye.create_wishes("beishi", "Dianye wishes")
    wid = dianye.post_wish(doc, "wish", "Wheelchair ramp", "At gate 2", "access")
    [w] = dianye.wishes(doc)
    assert w.status == "published"
    xinhua = district.community("xinhua")
    try:
        district.send(dianye, xinhua)
        theirs = xinhua.claim_wish(doc, wid, "our unit can build it", volunteer="xinhua:7")
        district.send(xinhua, dianye)
    finally:
        xinhua.close()
    ours = dianye.claim_wish(doc, wid, "we can")
    assert dianye.wishes(doc)[0].status == "claimed"
    claims = {c.id: c for c in dianye.claims(doc, wid)}
    assert set(claims) == {theirs, ours}
    assert claims[theirs].claimant == "beishi/xinhua" and claims[theirs].volunteer == "xinhua:7"
    assert claims[theirs].note == "our unit can build it" and not claims[theirs].assigned
    assert claims[ours].volunteer is None and claims[ours].wish == wid
    dianye.assign_claim(doc, wid, theirs)
    with pytest.raises(linli.ConflictError, match="already assigned"):
        dianye.assign_claim(doc, wid, ours)
    assert {c.id: c.assigned for c in dianye.claims(doc, wid)} == {theirs: True, ours: False}
    assert dianye.wishes(doc)[0].status == "assigned"
    dianye.release_claim(doc, wid, theirs)
    dianye.assign_claim(doc, wid, ours)
    dianye.advance_wish(doc, wid, "fulfilled", "ramp built")
    assert dianye.wishes(doc)[0].status == "fulfilled"
    dianye.advance_wish(doc, wid, "confirmed")
    assert dianye.wishes(doc)[0].status == "confirmed"
    assert "Claim(" in repr(dianye.claims(doc, wid)[0])
    with pytest.raises(linli.ValidationError, match="unknown stage"):
        dianye.advance_wish(doc, wid, "finished")
    problem = dianye.post_wish(doc, "problem", "Broken lamp", "Building 3", "safety")
    dianye.advance_wish(doc, problem, "routed", "power company")
    assert {x.id: x.status for x in dianye.wishes(doc)}[problem] == "routed"


# ---- ledger: corrections, entries, leaderboards ------------------------------------


def test_corrections_and_entries(dianye: linli.Node) -> None:
    ledger = dianye.create_ledger(2026, "beishi", hand_points=True)
    service = dianye.record_service(
        ledger, "dianye:1", "gardening", "2026-03-01", 2, team="green", evidence="photo-1"
    )
    fix = dianye.correct(ledger, "dianye:1", Decimal("-0.5"), "half an hour too much", corrects=service)
    redemption = dianye.redeem(ledger, "dianye:1", "rice", 1, "Dianye store")
    assert dianye.balance("dianye:1") == Decimal("0.5")
    entries = {e.id: e for e in dianye.ledger_entries(ledger)}
    assert set(entries) == {service, fix, redemption}
    s = entries[service]
    assert (s.kind, s.volunteer, s.activity, s.team, s.minutes, s.evidence) == (
        "service",
        "dianye:1",
        "gardening",
        "green",
        120,
        "photo-1",
    )
    assert s.date == date(2026, 3, 1) and s.points == Decimal(2) and s.issuer == "beishi/dianye"
    assert s.at.tzinfo is not None and s.item is None and s.reason is None
    c = entries[fix]
    assert (c.kind, c.points, c.corrects, c.reason) == (
        "correction",
        Decimal("-0.5"),
        service,
        "half an hour too much",
    )
    r = entries[redemption]
    assert (r.kind, r.points, r.item, r.outlet) == ("redemption", Decimal(-1), "rice", "Dianye store")
    assert "LedgerEntry(" in repr(r)
    with pytest.raises(linli.ValidationError, match="belongs to dianye:1, not dianye:2"):
        dianye.correct(ledger, "dianye:2", 1, "wrong volunteer", corrects=service)
    with pytest.raises(linli.ValidationError, match="unknown entry"):
        dianye.correct(ledger, "dianye:1", 1, "x", corrects="dianye@abcdef0123456789:99")
    # Standing counts corrections, not redemptions.
    [row] = dianye.leaderboard(ledger)
    assert row.earned == Decimal("1.5") and row.minutes == 120


def test_ledger_entries_are_read_a_page_at_a_time(district: District) -> None:
    node = district.community("dianye")
    ledger = node.create_ledger(2026, "beishi", hand_points=True)
    ids = [
        node.record_service(ledger, f"dianye:{1 + i % 3}", "x", "2026-01-01", 1) for i in range(12)
    ]
    all_ids = [e.id for e in node.ledger_entries(ledger, page_size=5)]
    assert sorted(all_ids) == sorted(ids) and len(set(all_ids)) == 12
    assert all_ids == [e.id for e in node.ledger_entries(ledger, page_size=100)]
    only = [e for e in node.ledger_entries(ledger, volunteer="dianye:2", page_size=2)]
    assert len(only) == 4 and {e.volunteer for e in only} == {"dianye:2"}
    it = node.ledger_entries(ledger, page_size=5)
    first = next(it)
    assert first.id == all_ids[0]
    node.close()
    # The rest of the first page was read already; the next page needs the node.
    assert [next(it).id for _ in range(4)] == all_ids[1:5]
    with pytest.raises(linli.StorageError, match="shut down"):
        next(it)
    with pytest.raises(linli.ValidationError, match="page_size"):
        district.root.ledger_entries(ledger, page_size=0)


def test_empty_ledger_entries(dianye: linli.Node) -> None:
    ledger = dianye.create_ledger(2026, "beishi", hand_points=True)
    assert list(dianye.ledger_entries(ledger)) == []
    reg = dianye.create_registry("beishi", "Dianye compounds")
    with pytest.raises(linli.ValidationError, match="not a service ledger"):
        dianye.ledger_entries(reg)


def test_leaderboard_across_ledgers(district: District, dianye: linli.Node) -> None:
    xinhua = district.community("xinhua")
    try:
        theirs = xinhua.create_ledger(2026, "beishi", hand_points=True)
        # Xinhua records service by a Dianye volunteer and by its own.
        xinhua.record_service(theirs, "dianye:1", "tutoring", "2026-02-01", 3)
        xinhua.record_service(theirs, "xinhua:1", "tutoring", "2026-02-01", 1)
        district.send(xinhua, dianye)
    finally:
        xinhua.close()
    ours = dianye.create_ledger(2026, "beishi", hand_points=True)
    dianye.record_service(ours, "dianye:1", "gardening", "2026-03-01", 2)
    dianye.record_service(ours, "dianye:2", "gardening", "2026-03-01", 4)
    assert [(s.volunteer, s.earned) for s in dianye.leaderboard(ours)] == [
        ("dianye:2", Decimal(4)),
        ("dianye:1", Decimal(2)),
    ]
    across = dianye.leaderboard(ours, across=True)
    assert [(s.volunteer, s.earned) for s in across] == [
        ("dianye:1", Decimal(5)),
        ("dianye:2", Decimal(4)),
        ("xinhua:1", Decimal(1)),
    ]
    home = dianye.leaderboard(ours, across=True, home="dianye")
    assert [s.volunteer for s in home] == ["dianye:1", "dianye:2"]
    with pytest.raises(linli.ValidationError, match="across=True"):
        dianye.leaderboard(ours, home="dianye")


# ---- peers, status, heads, events ---------------------------------------------------


def test_peers_status_and_heads(dianye: linli.Node) -> None:
    assert dianye.peers() == []
    ledger = dianye.create_ledger(2026, "beishi", hand_points=True)
    before = dianye.heads(ledger)
    assert len(before) == 1 and len(before[0]) == 64
    log = dianye.status().log
    dianye.record_service(ledger, "dianye:1", "x", "2026-01-01", 1)
    assert dianye.heads(ledger) != before
    assert dianye.status().log == log + 1


def test_events_of_local_writes(dianye: linli.Node) -> None:
    events = dianye.events()
    ledger = dianye.create_ledger(2026, "beishi", hand_points=True)
    ev = poll(events, lambda e: e.kind == "document_changed" and e.doc == ledger)
    assert ev is not None and ev.origin == "local"
    dianye.record_service(ledger, "dianye:1", "x", "2026-01-01", 1)
    ev = poll(events, lambda e: e.doc == ledger)
    assert ev is not None and "document_changed" in repr(ev)
    # Nothing more happened: a short wait returns None.
    assert events.next(timeout=0.05) is None
    with pytest.raises(linli.ValidationError, match="timeout"):
        events.next(timeout=-1)


def test_events_end_when_node_closes(district: District) -> None:
    node = district.community("dianye")
    events = node.events()
    node.close()
    assert events.next(timeout=5) is None
    assert list(events) == []  # iteration ends (never blocks) on a closed node


def test_refused_change_event(district: District, dianye: linli.Node) -> None:
    events = dianye.subscribe()
    xinhua = district.community("xinhua")
    try:
        district.root.revoke_certificate(district.federation, xinhua.node_id, "key lost")
        district.send(district.root, dianye)
        ledger = xinhua.create_ledger(2026, "beishi", hand_points=True)
        export = district.tmp / "xinhua-late.linli"
        xinhua.export(export)
        dianye.import_(export)
    finally:
        xinhua.close()
    ev = poll(events, lambda e: e.kind == "change_rejected")
    assert ev is not None and ev.doc == ledger and ev.reason and "revoked" in ev.reason


def test_ledger_entries_shared_between_threads(dianye: linli.Node) -> None:
    import threading

    ledger = dianye.create_ledger(2026, "beishi", hand_points=True)
    ids = {dianye.record_service(ledger, "dianye:1", "x", "2026-01-01", 1) for _ in range(30)}
    it = dianye.ledger_entries(ledger, page_size=4)
    seen: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def drain() -> None:
        try:
            for e in it:
                with lock:
                    seen.append(e.id)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=drain) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert not errors
    assert sorted(seen) == sorted(ids)


def test_record_service_dry_run(district: District, dianye: linli.Node) -> None:
    ledger = dianye.create_ledger(2026, "beishi", hand_points=True)
    heads, log = dianye.heads(ledger), dianye.status().log
    would = dianye.record_service(ledger, "dianye:1", "x", "2026-01-01", 1, dry_run=True)
    with pytest.raises(linli.ValidationError, match="at most 24"):
        dianye.record_service(ledger, "dianye:1", "x", "2026-01-01", 25, dry_run=True)
    with pytest.raises(linli.ValidationError, match="not in this ledger's year"):
        dianye.record_service(ledger, "dianye:1", "x", "2025-01-01", 1, dry_run=True)
    with pytest.raises(linli.ValidationError, match="not a service ledger"):
        dianye.record_service(district.federation, "dianye:1", "x", "2026-01-01", 1, dry_run=True)
    assert dianye.heads(ledger) == heads and dianye.status().log == log
    assert list(dianye.ledger_entries(ledger)) == []
    # The id is the one the real write gets.
    assert dianye.record_service(ledger, "dianye:1", "x", "2026-01-01", 1) == would


# ---- volunteer reports --------------------------------------------------------------


def test_monthly_and_yearly_reports(dianye: linli.Node) -> None:
    ledger = dianye.create_ledger(2026, "beishi", hand_points=True)
    dianye.record_service(ledger, "dianye:7", "patrol", date(2026, 3, 5), 2.0, team="patrol")
    dianye.record_service(ledger, "dianye:8", "care", date(2026, 3, 9), 1.5)
    dianye.record_service(ledger, "dianye:7", "patrol", date(2026, 4, 1), 1.0, team="patrol")
    march = dianye.monthly_report("2026-03")
    assert isinstance(march, linli.MonthlyReport) and march.month == "2026-03"
    assert march.community == "beishi/dianye"
    lines = {t.team: t for t in march.teams}
    assert isinstance(lines["*"], linli.TeamLine)
    assert (lines["patrol"].services, lines["patrol"].minutes, lines["patrol"].hours) == (1, 120, "2")
    assert (lines[""].served, lines[""].points) == (1, "1.50")
    assert (lines["*"].served, lines["*"].minutes) == (2, 210)
    year = dianye.yearly_report(2026)
    assert isinstance(year, linli.YearlyReport) and year.year == 2026
    assert {t.team: t.minutes for t in year.teams}["*"] == 270
    assert year.matters_received == 0 and year.volunteers == 0
    with pytest.raises(linli.ValidationError, match="expected YYYY-MM"):
        dianye.monthly_report("2026-13")
