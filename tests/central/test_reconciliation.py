"""A generated day at the settlement centre balances to the fen, four ways, against the records."""

from __future__ import annotations

import random

from centralkit import Clerk

from casework.cases import item_snapshot
from casework.fees import FeeInput, assess_case
from central.reconciliation import reconcile
from web.filters import yuan


def _generate_day(central, rng: random.Random) -> dict[str, int]:
    """Cases at several windows, every fee paid, some refunded; returns the expected sums."""
    catalogue = central.catalogue()
    items = [i for i in catalogue.items if i.fees]
    expected = {"paid": 0, "refunded": 0}
    per_window: dict[str, int] = {}
    for n in range(40):
        item = rng.choice(items)
        number = central.next_number("case")
        central.act(number, "case.received", window=item.window, staff="gen", item=item_snapshot(item),
                    applicant={"type": "person", "name": f"申请人{n}"}, materials=[m.name for m in item.materials])
        inputs = [FeeInput(code, quantity=rng.randint(1, 3), base_fen=rng.randint(1, 10**7)) for code in item.fees]
        assessment = assess_case(catalogue.fees, inputs)
        if assessment.total_fen == 0:
            continue
        record = central.act(number, "case.fee_assessed", window=item.window, staff="gen",
                             lines=[line.to_data() for line in assessment.lines],
                             notice=central.next_number("payment"))
        method = rng.choice(["cash", "bank_card", "transfer", "mobile"])
        central.act(number, "case.fee_paid", window=None, staff=rng.choice(["qian", "sun"]),
                    assessment=record.id, amount_fen=assessment.total_fen, method=method, reference=f"T{n}")
        expected["paid"] += assessment.total_fen
        per_window[item.window] = per_window.get(item.window, 0) + assessment.total_fen
        if rng.random() < 0.25:
            refund = rng.randint(1, assessment.total_fen)
            central.act(number, "case.fee_refunded", window=None, staff="sun", assessment=record.id,
                        amount_fen=refund, reason="多收退还", approved_by="sun", requested_by="qian")
            expected["refunded"] += refund
            per_window[item.window] -= refund
    expected.update({f"window:{k}": v for k, v in per_window.items()})
    return expected


def test_a_generated_day_balances_to_the_fen(app):
    central = app.extensions["central"]
    expected = _generate_day(central, random.Random(20261125))
    day = central.today().isoformat()
    result = reconcile(central, central.log.db, day)
    assert result.balanced
    assert result.records_paid == expected["paid"] and result.records_refunded == expected["refunded"]
    assert result.records_net == expected["paid"] - expected["refunded"]
    for group in ("window", "department", "method", "cashier"):
        assert result.totals[group] == result.records_net
    for key, _paid, _refunded, net in result.groups["window"]:
        assert net == expected[f"window:{key}"], key
    # the page shows the same figures, and says it balances
    page = Clerk(app, "li").get(f"/settlement/reconciliation?day={day}").text
    assert 'id="balance" class="balance-ok"' in page
    assert f'<strong id="net">{yuan(result.records_net)}</strong>' in page
    # another day has nothing and still balances
    assert reconcile(central, central.log.db, "2026-11-24").records_net == 0


def test_a_payment_missing_from_the_projection_unbalances_the_day(app):
    central = app.extensions["central"]
    _generate_day(central, random.Random(7))
    day = central.today().isoformat()
    with central.log.transaction() as db:  # simulate a lost projection row: the records still count
        db.execute("DELETE FROM settlement_entries WHERE rowid = (SELECT min(rowid) FROM settlement_entries"
                   " WHERE kind = 'paid')")
    result = reconcile(central, central.log.db, day)
    assert not result.balanced and result.missing
