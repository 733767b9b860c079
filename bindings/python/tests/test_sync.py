"""Two Python nodes on loopback: a service record and a booking travel both ways."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

import linli
from conftest import District

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def next_evening(days: int) -> tuple[datetime.datetime, datetime.datetime]:
    day = datetime.date.today() + datetime.timedelta(days=days)
    start = datetime.datetime.combine(day, datetime.time(19, 0), tzinfo=SHANGHAI)
    return start, start + datetime.timedelta(hours=2)


def test_two_nodes_sync_a_service_record_and_a_booking(district: District) -> None:
    dianye = district.community("dianye")
    hongqi = district.community("hongqi")
    try:
        room = dianye.create_room("beishi", "Dianye hall", 60)
        ledger = dianye.create_ledger(2026, "beishi", hand_points=True)
        dianye.record_service(ledger, "dianye:1", "patrol", "2026-05-01", 2.0)
        addrs = dianye.listen()
        assert addrs and "/p2p/" in addrs[0]

        report = hongqi.sync_with(addrs[0])
        assert isinstance(report, linli.SyncReport)
        assert report.bytes_in > 0
        assert "SyncReport(" in repr(report)
        # The record arrived: Hongqi sees the volunteer's points, and the room.
        assert hongqi.balance("dianye:1") == Decimal("2")
        assert hongqi.bookings(room) == []

        # Hongqi books Dianye's hall; the next sync carries the request to the owner.
        start, end = next_evening(8)
        booking = hongqi.request_booking(
            room, "Li Wei", "reading club", start, end, 20, organisation="Hongqi reading club"
        )
        # (The live announcement may carry it before the session does; when sync_with
        # returns, the owner holds it either way.)
        hongqi.sync_with(addrs[0])
        seen = [b for b in dianye.bookings(room) if b.id == booking]
        assert len(seen) == 1 and seen[0].status == "tentative", seen

        # The owner confirms; Hongqi learns it on the next sync.
        dianye.confirm_booking(room, booking)
        hongqi.sync_with(addrs[0])
        (mine,) = [b for b in hongqi.bookings(room) if b.id == booking]
        assert mine.status == "confirmed"
        # A session with nothing new moves no changes.
        idle = hongqi.sync_with(addrs[0])
        assert (idle.received, idle.sent) == (0, 0)
    finally:
        hongqi.close()
        dianye.close()


def test_sync_errors_name_the_problem(district: District, tmp_path: object) -> None:
    dianye = district.community("dianye")
    hongqi = district.community("hongqi")
    try:
        addr = dianye.listen()[0]
        with pytest.raises(linli.ValidationError, match="not-an-address"):
            hongqi.sync_with("not-an-address")
        with pytest.raises(linli.ValidationError, match="/p2p/"):
            hongqi.sync_with(addr.split("/p2p/")[0])
        with pytest.raises(linli.ValidationError, match="timeout"):
            hongqi.sync_with(addr, timeout=0)
        with pytest.raises(linli.ValidationError, match="already running"):
            dianye.listen()
        # A peer that is not there: SyncError within the timeout.
        dead = "/ip4/127.0.0.1/tcp/9/p2p/" + addr.split("/p2p/")[1]
        dianye.close()
        with pytest.raises(linli.SyncError, match="could not connect"):
            hongqi.sync_with(dead, timeout=0.5)
        with pytest.raises(linli.LinliError):
            dianye.sync_with(addr)
    finally:
        hongqi.close()
        dianye.close()
