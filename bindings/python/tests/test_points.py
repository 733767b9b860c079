"""Points that behave like the real schemes, from Python: the points store with stock
(through the generated ``linli.ops``), a volunteer's points, the star certificate, and a
team claim counted once."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

import linli
import linli.ops as ops

SHANGHAI = timezone(timedelta(hours=8))


def test_store_stock_certificate_and_team_claims(dianye: linli.Node) -> None:
    ledger = dianye.create_ledger(2026, "beishi", hand_points=True)
    dianye.record_service(ledger, "dianye:7", "patrol", "2026-05-01", 5)
    added = ops.ledger_store_add(dianye, name="5 kg rice", cost=200, stock=1, doc=ledger)
    rice = added["store_item"]
    assert isinstance(rice, str) and rice.startswith("dianye@"), rice
    ops.ledger_redeem_item(dianye, volunteer="dianye:7", item=rice, doc=ledger)
    with pytest.raises(linli.ConflictError, match="out of stock"):
        ops.ledger_redeem_item(dianye, volunteer="dianye:7", item=rice, doc=ledger)
    [item] = dianye.store(ledger)
    assert (item.name, item.cost, item.stock, item.redeemed) == ("5 kg rice", Decimal(2), 0, 1)
    ops.ledger_store_restock(dianye, item=rice, quantity=3, doc=ledger)
    assert dianye.store(ledger)[0].stock == 3

    p = dianye.points("dianye:7")
    assert (p.earned, p.redeemed, p.balance, p.expired) == (Decimal(5), Decimal(2), Decimal(3), Decimal(0))
    cert = dianye.star_certificate("dianye:7")
    assert cert.issued_by == "beishi/dianye" and cert.stars == 0 and cert.earned == Decimal(5)
    assert [(h.year, h.hours) for h in cert.hours] == [(2026, "5.00")]
    with pytest.raises(linli.ValidationError, match="only the home community"):
        dianye.star_certificate("hongqi:1")

    wishes = dianye.create_wishes("beishi", "Dianye wishes")
    wid = dianye.post_wish(wishes, "wish", "Walking frame", "Building 3", "elder care")
    ops.wishes_claim_team(
        dianye, wish=wid, lead="dianye:2", members=["dianye:1", "dianye:2"], doc=wishes
    )
    with pytest.raises(linli.ValidationError, match="not among the members"):
        ops.wishes_claim_team(
            dianye, wish=wid, lead="dianye:9", members=["dianye:1", "dianye:2"], doc=wishes
        )
    [claim] = dianye.claims(wishes, wid)
    assert claim.volunteer == "dianye:2" and claim.members == ["dianye:1", "dianye:2"]
    year = datetime.now(SHANGHAI).year
    [count] = dianye.claim_counts(wishes, year)
    assert (count.claims, count.team_claims, count.volunteers) == (1, 1, 2)
