"""Tests of linli.Node: lifecycle, the service ledger, the registry, export/import, errors."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

import linli
from conftest import District

def test_root_node_identity(tmp_path: Path) -> None:
    with linli.Node.init(tmp_path / "n", org="heping") as node:
        assert node.root == node.node_id
        assert len(node.node_id) == 64
        assert node.org == "heping"
        assert node.path == tmp_path / "n"
        assert "heping" in repr(node)


def test_init_with_secret_is_deterministic(tmp_path: Path) -> None:
    with linli.Node.init(tmp_path / "a", org="heping", secret=b"\x01" * 32) as a:
        a_id = a.node_id
    with linli.Node.init(tmp_path / "b", org="heping", secret=b"\x01" * 32) as b:
        assert b.node_id == a_id


def test_ledger_record_service_balance(district: District, dianye: linli.Node) -> None:
    ledger = dianye.create_ledger(2026, "beishi", hand_points=True)
    entry = dianye.record_service(
        ledger, "dianye:1", "gardening", date(2026, 3, 1), 2.5, team="green"
    )
    assert entry.startswith("dianye@")
    dianye.record_service(ledger, "dianye:1", "reading", "2026-03-02", 1)
    dianye.record_service(ledger, "dianye:2", "cleaning", "2026-03-02", 0.5, team="green")
    assert dianye.balance("dianye:1") == Decimal("3.5")
    assert dianye.balance("dianye:9") == Decimal(0)
    board = dianye.leaderboard(ledger)
    assert [s.volunteer for s in board] == ["dianye:1", "dianye:2"]
    assert board[0].earned == Decimal("3.5") and board[0].minutes == 210
    assert board[0].stars == 0
    assert "dianye:1" in repr(board[0])
    assert [s.volunteer for s in dianye.leaderboard(ledger, team="green")] == [
        "dianye:1",
        "dianye:2",
    ]


def test_results_are_immutable(dianye: linli.Node) -> None:
    ledger = dianye.create_ledger(2026, "beishi", hand_points=True)
    dianye.record_service(ledger, "dianye:1", "gardening", "2026-03-01", 2)
    row = dianye.leaderboard(ledger)[0]
    with pytest.raises(AttributeError):
        row.minutes = 1  # type: ignore[misc]


def test_documents_and_status(dianye: linli.Node) -> None:
    ledger = dianye.create_ledger(2026, "beishi", hand_points=True)
    docs = {d.id: d for d in dianye.documents()}
    assert docs[ledger].kind == "ledger"
    assert docs[ledger].year == 2026
    assert docs[ledger].owner == "dianye" and docs[ledger].community == "dianye"
    created = docs[ledger].created
    assert created.tzinfo is not None
    assert abs((datetime.now(timezone.utc) - created).total_seconds()) < 600
    status = dianye.status()
    assert status.node_id == dianye.node_id and status.org == "dianye"
    assert status.documents == {"federation": 1, "ledger": 1}
    assert status.accepted == status.log and status.refused == 0
    assert status.equivocating == []
    assert len(bytes.fromhex(status.incarnation)) == 8
    assert "NodeStatus(" in repr(status)


def test_registry_compounds(dianye: linli.Node) -> None:
    reg = dianye.create_registry("beishi", "Dianye compounds")
    cid = dianye.add_compound(reg, "Shimalu", "1 Dianye Road", 120)
    dianye.add_compound(reg, "Red star", "2 Dianye Road", 80, mode="red property")
    compounds = {c.name: c for c in dianye.compounds(reg)}
    assert compounds["Shimalu"].id == cid
    assert compounds["Shimalu"].households == 120
    assert compounds["Shimalu"].mode == "property_firm"
    assert compounds["Red star"].mode == "red property"


def test_bad_hours_is_validation_error(dianye: linli.Node) -> None:
    ledger = dianye.create_ledger(2026, "beishi", hand_points=True)
    with pytest.raises(linli.ValidationError, match="hours must be more than 0 and at most 24"):
        dianye.record_service(ledger, "dianye:1", "gardening", "2026-03-01", 30)
    with pytest.raises(linli.ValidationError, match="not in this ledger's year"):
        dianye.record_service(ledger, "dianye:1", "gardening", "2025-03-01", 1)
    with pytest.raises(linli.ValidationError, match="invalid date"):
        dianye.record_service(ledger, "dianye:1", "gardening", "March 1st", 1)
    with pytest.raises(linli.ValidationError, match="datetime.date"):
        dianye.record_service(ledger, "dianye:1", "gardening", 20260301, 1)  # type: ignore[arg-type]
    # Nothing was written.
    assert dianye.leaderboard(ledger) == []


def test_bad_ids_are_validation_errors(dianye: linli.Node) -> None:
    with pytest.raises(linli.ValidationError, match="record id"):
        dianye.balance("nobody")
    with pytest.raises(linli.ValidationError, match="document id"):
        dianye.leaderboard("not-a-doc")
    with pytest.raises(linli.ValidationError, match="organisation code"):
        dianye.create_ledger(2026, "Bei Shi")


def test_unknown_document(dianye: linli.Node) -> None:
    with pytest.raises(linli.ValidationError, match="unknown document"):
        dianye.leaderboard("00" * 32)
    with pytest.raises(linli.LinliError, match="unknown document"):
        dianye.record_service("00" * 32, "dianye:1", "x", "2026-01-01", 1)


def test_wrong_kind(dianye: linli.Node) -> None:
    reg = dianye.create_registry("beishi", "Dianye compounds")
    with pytest.raises(linli.ValidationError, match="registry, not a service ledger"):
        dianye.leaderboard(reg)


def test_other_communitys_ledger_is_authorization_error(
    district: District, dianye: linli.Node
) -> None:
    xinhua = district.community("xinhua")
    try:
        ledger = xinhua.create_ledger(2026, "beishi", hand_points=True)
        xinhua.export(district.tmp / "xinhua.linli")
        dianye.import_(district.tmp / "xinhua.linli")
        with pytest.raises(linli.AuthorizationError) as info:
            dianye.record_service(ledger, "dianye:1", "gardening", "2026-03-01", 1)
        assert str(info.value)
    finally:
        xinhua.close()
    with pytest.raises(linli.AuthorizationError):
        dianye.create_ledger(2026, "beishi", community="xinhua")


def test_uncertified_node_cannot_write(tmp_path: Path, district: District) -> None:
    with linli.Node.init(tmp_path / "stranger", org="stranger", root=district.root.node_id) as n:
        with pytest.raises(linli.AuthorizationError, match="cannot write"):
            n.create_ledger(2026, "beishi", hand_points=True)


def test_context_manager_closes_and_reopen_keeps_data(district: District) -> None:
    node = district.community("dianye")
    path = node.path
    with node as n:
        assert n is node
        ledger = n.create_ledger(2026, "beishi", hand_points=True)
        n.record_service(ledger, "dianye:7", "gardening", "2026-05-01", 4)
    assert node.closed
    node.close()  # idempotent
    with pytest.raises(linli.StorageError, match="shut down"):
        node.status()
    with linli.Node.open(path) as again:
        assert again.node_id == node.node_id
        assert again.balance("dianye:7") == Decimal(4)
        assert [s.volunteer for s in again.leaderboard(ledger)] == ["dianye:7"]


def test_exit_does_not_swallow_exceptions(tmp_path: Path) -> None:
    with pytest.raises(KeyError):
        with linli.Node.init(tmp_path / "n", org="heping") as node:
            raise KeyError("x")
    assert node.closed


def test_storage_errors(tmp_path: Path) -> None:
    with pytest.raises(linli.StorageError, match="no linli store"):
        linli.Node.open(tmp_path / "nothing")
    with linli.Node.init(tmp_path / "n", org="heping"):
        with pytest.raises(linli.StorageError, match="already holds"):
            linli.Node.init(tmp_path / "n", org="heping")
        with pytest.raises(linli.StorageError, match="in use"):
            linli.Node.open(tmp_path / "n")
    with pytest.raises(linli.ValidationError, match="32 bytes"):
        linli.Node.init(tmp_path / "k", org="heping", secret=b"short")
    with pytest.raises(linli.ValidationError, match="organisation code"):
        linli.Node.init(tmp_path / "o", org="Not An Org")


def test_export_import_roundtrip(district: District, dianye: linli.Node) -> None:
    ledger = dianye.create_ledger(2026, "beishi", hand_points=True)
    dianye.record_service(ledger, "dianye:1", "gardening", "2026-03-01", 2)
    summary = dianye.export(district.tmp / "dianye.linli")
    assert summary.changes == 4 and summary.bytes > 0
    report = district.root.import_(summary.path)
    assert report.applied == 2 and report.duplicates == 2 and report.complete
    assert district.root.balance("dianye:1") == Decimal(2)
    again = district.root.import_(summary.path)
    assert again.applied == 0 and again.duplicates == 4
    with pytest.raises(linli.StorageError):
        district.root.import_(district.tmp / "missing.linli")


def test_gil_released_while_waiting(dianye: linli.Node) -> None:
    ledger = dianye.create_ledger(2026, "beishi", hand_points=True)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(5):
                dianye.record_service(ledger, f"dianye:{n}", "x", "2026-01-01", 1)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(s.minutes for s in dianye.leaderboard(ledger)) == 20 * 60


SHANGHAI = timezone(timedelta(hours=8))


def tomorrow_at(hour: int) -> datetime:
    d = datetime.now(SHANGHAI).date() + timedelta(days=1)
    return datetime(d.year, d.month, d.day, hour, tzinfo=SHANGHAI)


def test_room_bookings(dianye: linli.Node) -> None:
    room = dianye.create_room("beishi", "Dianye activity room", 30)
    start, end = tomorrow_at(10), tomorrow_at(12)
    bid = dianye.request_booking(
        room, "Li Wei", "reading club", start, end, 12, organisation="Dianye readers"
    )
    [b] = dianye.bookings(room)
    assert b.id == bid and b.booker == "Li Wei" and b.organisation == "Dianye readers"
    assert b.start == start and b.end == end and b.start.tzinfo is not None
    assert b.status == "tentative" and b.confirmed_start is None
    dianye.confirm_booking(room, bid)
    [b] = dianye.bookings(room)
    assert b.status == "confirmed" and b.confirmed_start == start
    assert "reading club" in repr(b)
    with pytest.raises(linli.ValidationError, match="capacity"):
        dianye.request_booking(room, "Li Wei", "too many", start, end, 300)
    with pytest.raises(linli.ValidationError):
        dianye.request_booking(room, "Li Wei", "backwards", end, start, 3)
    with pytest.raises(linli.ValidationError, match="timezone-aware"):
        dianye.request_booking(room, "Li Wei", "x", start.replace(tzinfo=None), end, 1)


def test_events(dianye: linli.Node) -> None:
    events = dianye.subscribe()
    assert events.next(timeout=0.05) is None
    ledger = dianye.create_ledger(2026, "beishi", hand_points=True)
    ev = events.next(timeout=5)
    assert ev is not None
    assert ev.kind == "document_changed" and ev.doc == ledger and ev.origin == "local"
    assert "document_changed" in repr(ev)
    dianye.record_service(ledger, "dianye:1", "x", "2026-01-01", 1)
    assert next(iter(events)).doc == ledger
    with pytest.raises(linli.ValidationError, match="timeout"):
        events.next(timeout=-1)
    dianye.close()
    assert list(events) == []


def test_redeem_and_insufficient_balance_conflict(dianye: linli.Node) -> None:
    ledger = dianye.create_ledger(2026, "beishi", hand_points=True)
    dianye.record_service(ledger, "dianye:1", "gardening", "2026-03-01", 5)
    entry = dianye.redeem(ledger, "dianye:1", "rice", Decimal("1.5"), "Dianye shop")
    assert entry.startswith("dianye@")
    assert dianye.balance("dianye:1") == Decimal("3.5")
    dianye.redeem(ledger, "dianye:1", "soap", 1, "Dianye shop")
    assert dianye.balance("dianye:1") == Decimal("2.5")
    with pytest.raises(linli.ConflictError, match="overdraw"):
        dianye.redeem(ledger, "dianye:1", "bike", "100", "Dianye shop")
    with pytest.raises(linli.ValidationError, match="two decimals"):
        dianye.redeem(ledger, "dianye:1", "rice", "0.001", "Dianye shop")
    with pytest.raises(linli.ValidationError, match="invalid number"):
        dianye.redeem(ledger, "dianye:1", "rice", "lots", "Dianye shop")
    assert dianye.balance("dianye:1") == Decimal("2.5")


def test_overlapping_confirmation_is_conflict(dianye: linli.Node) -> None:
    room = dianye.create_room("beishi", "Dianye activity room", 30)
    start, end = tomorrow_at(14), tomorrow_at(16)
    first = dianye.request_booking(room, "Li Wei", "reading club", start, end, 10)
    second = dianye.request_booking(room, "Wang Fang", "chess", start, end, 4)
    dianye.confirm_booking(room, first)
    with pytest.raises(linli.ConflictError):
        dianye.confirm_booking(room, second)
    statuses = {b.id: b.status for b in dianye.bookings(room)}
    assert statuses == {first: "confirmed", second: "tentative"}


def test_wishes(dianye: linli.Node) -> None:
    doc = dianye.create_wishes("beishi", "Dianye wishes")
    wid = dianye.post_wish(doc, "wish", "Wheelchair ramp", "At gate 2", "access", place="Shimalu")
    dianye.post_wish(doc, "offer", "Haircuts", "Monthly", "elder care", channel="wechat group")
    items = {w.title: w for w in dianye.wishes(doc)}
    assert items["Wheelchair ramp"].id == wid
    assert items["Wheelchair ramp"].kind == "wish"
    assert items["Wheelchair ramp"].place == "Shimalu"
    assert items["Wheelchair ramp"].by == "beishi/dianye"
    assert items["Wheelchair ramp"].at.tzinfo is not None
    assert items["Haircuts"].channel == "wechat group"
    assert "Haircuts" in repr(items["Haircuts"])
    with pytest.raises(linli.ValidationError, match="unknown item kind"):
        dianye.post_wish(doc, "complaint", "x", "y", "z")
    with pytest.raises(linli.ValidationError):
        dianye.post_wish(doc, "wish", "", "y", "z")


def test_rejected_changes_are_listed(district: District, dianye: linli.Node) -> None:
    assert dianye.rejected() == []
    xinhua = district.community("xinhua")
    try:
        # The root revokes xinhua; dianye learns of it, then receives xinhua's later ledger.
        district.root.revoke_certificate(district.federation, xinhua.node_id, "key lost")
        district.root.export(district.tmp / "revocation.linli")
        dianye.import_(district.tmp / "revocation.linli")
        ledger = xinhua.create_ledger(2026, "beishi", hand_points=True)
        xinhua.export(district.tmp / "xinhua.linli")
        report = dianye.import_(district.tmp / "xinhua.linli")
    finally:
        xinhua.close()
    assert report.refused == 1
    [r] = dianye.rejected()
    assert r.doc == ledger and r.signer == xinhua.node_id
    assert "revoked" in r.reason
    assert r.received_at.tzinfo is not None
    assert "Rejected(" in repr(r)
    assert ledger not in {d.id for d in dianye.documents()}


def test_dropped_node_unlocks_its_store(tmp_path: Path) -> None:
    import gc

    node = linli.Node.init(tmp_path / "n", org="heping")
    node_id = node.node_id
    del node
    gc.collect()
    with linli.Node.open(tmp_path / "n") as again:
        assert again.node_id == node_id


def test_certificates(district: District, dianye: linli.Node) -> None:
    certs = dianye.certificates(district.federation)
    [c] = [c for c in certs if c.subject == dianye.node_id]
    assert c.role == "community" and c.org == "dianye" and c.parent == "beishi"
    assert c.issuer == district.root.node_id and c.name == "dianye office"
    assert c.not_before < c.not_after and c.not_before.tzinfo is not None
    assert "community" in repr(c)
    # Without an end: linli-core's default, the CLI's and HTTP API's too (three years from
    # the root, which has no end of its own).
    subject = "ab" * 32
    district.root.issue_certificate(district.federation, subject, "partner", "choir", "dianye")
    [p] = [c for c in district.root.certificates(district.federation) if c.subject == subject]
    assert p.name == "choir office"
    assert (p.not_after - p.not_before).days == 3 * 365
    with pytest.raises(linli.ValidationError, match="unknown role"):
        district.root.issue_certificate(district.federation, dianye.node_id, "mayor", "dianye")
    with pytest.raises(linli.ValidationError, match="timezone-aware"):
        district.root.issue_certificate(
            district.federation,
            dianye.node_id,
            "community",
            "dianye",
            "beishi",
            not_before=datetime(2026, 1, 1),
        )


def test_open_options(tmp_path: Path) -> None:
    with linli.Node.init(tmp_path / "n", org="heping", durability="normal", snapshot_every=10):
        pass
    with linli.Node.open(tmp_path / "n", check_integrity=False, max_size_bytes=1 << 30) as n:
        assert n.org == "heping"
    with pytest.raises(linli.ValidationError, match="durability"):
        linli.Node.open(tmp_path / "n", durability="sometimes")


def test_import_events_have_import_origin(district: District, dianye: linli.Node) -> None:
    events = district.root.subscribe()
    ledger = dianye.create_ledger(2026, "beishi", hand_points=True)
    dianye.export(district.tmp / "d.linli")
    district.root.import_(district.tmp / "d.linli")
    seen = []
    while (ev := events.next(timeout=0.5)) is not None:
        seen.append(ev)
    assert any(e.doc == ledger and e.origin == "import" for e in seen), seen


def test_personal_data_stays_out_of_documents_and_can_be_erased(dianye: linli.Node) -> None:
    room = dianye.create_room("beishi", "Dianye hall", 30)
    start, end = tomorrow_at(14), tomorrow_at(16)
    bid = dianye.request_booking(
        room, "王小红", "dance class", start, end, 10, contact="13800138000"
    )
    # This node is the owner and the requester: it reads the full name and contact.
    [b] = dianye.bookings(room)
    assert b.booker == "王小红" and b.contact == "13800138000"
    ledger = dianye.create_ledger(2026, "beishi", hand_points=True)
    dianye.identify_volunteer(ledger, "dianye:7", "李志愿", phone="13987654321")
    with pytest.raises(linli.ValidationError, match="not of community"):
        dianye.identify_volunteer(ledger, "hongqi:3", "张三")
    with pytest.raises(linli.ValidationError, match="may not be empty"):
        dianye.identify_volunteer(ledger, "dianye:8", " ")
    wishes = dianye.create_wishes("beishi", "Dianye wishes")
    dianye.post_wish(
        wishes, "wish", "Walking frame", "For an elder", "elder care", resident_name="赵大爷"
    )
    with pytest.raises(linli.ValidationError, match="need resident_name"):
        dianye.post_wish(wishes, "wish", "x", "y", "z", resident_contact="1")
    records = {r["kind"]: r for r in dianye.personal_records()}
    assert set(records) == {"booker", "volunteer", "resident"}
    assert records["booker"]["data"] == {"name": "王小红", "contact": "13800138000"}
    assert records["booker"]["record"] == f"requests/{bid}"
    assert records["volunteer"]["audience"] == ["beishi/dianye"]
    dianye.erase_personal(room, f"requests/{bid}")
    [b] = dianye.bookings(room)
    assert b.booker == "王**" and b.contact is None and b.status == "tentative"
    [erased] = [r for r in dianye.personal_records(room)]
    assert erased["kind"] == "erased" and erased["data"] is None
    with pytest.raises(linli.ValidationError, match="no record"):
        dianye.erase_personal(room, "requests/dianye:99")
    with pytest.raises(linli.ValidationError, match="holds no personal data"):
        dianye.erase_personal(ledger, "volunteers/dianye:99")
    dianye.erase_personal(ledger, "volunteers/dianye:7")
    with pytest.raises(linli.ConflictError, match="was erased"):
        dianye.identify_volunteer(ledger, "dianye:7", "李志愿")


def test_every_core_operation_is_reachable_by_name(dianye: linli.Node) -> None:
    ops = {o["op"]: o for o in dianye.operations()}
    # Operations that had no typed method before are in the catalogue, with help text.
    for op in ["resource.delegate", "resource.bar", "registry.update_compound", "ledger.set_rules"]:
        assert op in ops and ops[op]["doc"], op
    assert all(o["kind"] == "resource" for o in dianye.operations("resource"))
    room = dianye.create_room("beishi", "Dianye hall", 30)
    effect = dianye.operation("resource.bar", who={"group": "Noisy troupe"}, reason="noise")
    assert effect == "done"
    with pytest.raises(linli.AuthorizationError, match="Noisy troupe"):
        dianye.request_booking(
            room, "Li", "dance", tomorrow_at(10), tomorrow_at(11), 5, organisation="Noisy troupe"
        )
    with pytest.raises(linli.ValidationError, match="no field"):
        dianye.operation("resource.bar", colour="red", reason="x", who={"group": "x"})
    with pytest.raises(linli.ValidationError, match="needs reason"):
        dianye.operation("resource.bar", who={"group": "x"})
    with pytest.raises(linli.ValidationError, match="no operation"):
        dianye.operation("resource.teleport")
    with pytest.raises(linli.NotFoundError, match="holds no"):
        dianye.operation("wishes.assign", wish="dianye:1", claim="dianye:1")


def test_booking_with_alternates_and_weeks(dianye: linli.Node) -> None:
    room = dianye.create_room("beishi", "Dianye side room", 20)
    first = dianye.request_booking(
        room, "Li Wei", "chess", tomorrow_at(10), tomorrow_at(11), 4
    )
    dianye.confirm_booking(room, first)
    bid = dianye.request_booking(
        room,
        "Wang Fang",
        "choir",
        tomorrow_at(10),
        tomorrow_at(11),
        8,
        alternates=[(tomorrow_at(12), tomorrow_at(13))],
        weeks=2,
    )
    dianye.confirm_booking(room, bid)
    b = {x.id: x for x in dianye.bookings(room)}[bid]
    assert b.status == "confirmed" and b.confirmed_start == tomorrow_at(12)
    with pytest.raises(linli.ValidationError, match="weeks"):
        dianye.request_booking(room, "x", "y", tomorrow_at(14), tomorrow_at(15), 1, weeks=60)


def test_generated_ops_module_reaches_every_operation(dianye: linli.Node) -> None:
    from linli import ops

    assert "resource_bar" in ops.__all__ and "ledger_set_rules" in ops.__all__
    room = dianye.create_room("beishi", "Ops room", 20)
    assert ops.resource_bar(dianye, who={"group": "Loud band"}, reason="noise", doc=room) == "done"
    with pytest.raises(linli.AuthorizationError, match="Loud band"):
        dianye.request_booking(
            room, "Li", "gig", tomorrow_at(10), tomorrow_at(11), 5, organisation="Loud band"
        )
    with pytest.raises(TypeError):
        ops.resource_bar(dianye, reason="no who")  # type: ignore[call-arg]
