"""Check-in sessions as a typed read from Python: ``Node.sessions()`` lists a ledger's
sessions as generated ``SessionInfo`` classes with their check-ins; a wrong code is refused
and leaves the session without check-ins; closing shows the close time."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import linli
import linli.ops as ops

SHANGHAI = timezone(timedelta(hours=8))


def test_sessions_are_a_typed_read(dianye: linli.Node) -> None:
    now = datetime.now(SHANGHAI)
    ledger = dianye.create_ledger(now.year, "beishi")
    start = now - timedelta(minutes=10)
    # Stay inside the ledger's year even just before midnight on 31 December.
    end = min(now + timedelta(minutes=50), datetime(now.year, 12, 31, 23, 59, tzinfo=SHANGHAI))
    opened = ops.ledger_open_session(
        dianye,
        activity="elder care",
        place="activity room",
        start=int(start.timestamp() * 1000),
        end=int(end.timestamp() * 1000),
        team="care",
        doc=ledger,
    )
    sid = opened["session"]
    assert isinstance(sid, str) and sid.startswith("dianye@"), opened

    [s] = dianye.sessions(ledger)
    assert isinstance(s, linli.SessionInfo)
    assert (s.id, s.doc, s.activity, s.place, s.team) == (
        sid,
        ledger,
        "elder care",
        "activity room",
        "care",
    )
    assert s.organiser == "beishi/dianye" and s.here and s.closed is None
    assert s.start == start.replace(microsecond=(start.microsecond // 1000) * 1000)
    assert isinstance(s.end, datetime) and s.end.tzinfo is not None
    assert s.planned_minutes == round((end - start).total_seconds() / 60)
    assert s.checkins == ()

    # A wrong code: refused with the reason, nothing written.
    with pytest.raises(linli.LinliError, match="wrong or expired check-in code"):
        ops.ledger_check_in(dianye, session=sid, volunteer="dianye:7", code="000000", doc=ledger)
    assert dianye.sessions(ledger)[0].checkins == ()

    ops.ledger_close_session(dianye, session=sid, doc=ledger)
    [s] = dianye.sessions(ledger)
    assert isinstance(s.closed, datetime)
    assert dianye.sessions(dianye.create_ledger(now.year - 1, "beishi")) == []
