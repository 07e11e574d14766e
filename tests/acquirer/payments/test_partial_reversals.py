"""A sale or completion reversed in parts leaves every account where it was (issue 17, defect 5).

Before the fix each part's fee was recomputed on the part: a sale of 340 reversed as
10 x 34 handed back 10 x fee(34) = 10 instead of fee(340) = 5, leaving fee revenue +5 and
the merchant's payable -5. Each part's fee is now the fee of the amount remaining before it
less the fee of the amount remaining after it, so the parts hand back exactly the original fee.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from acquirer.payments import ledger
from acquirer.payments.lifecycle import transition
from acquirer.payments.rows import Intent, OperationKind, PaymentRow, PaymentStatus

FEE_BPS = 150
AT = datetime(2026, 1, 1, tzinfo=UTC)


def _payment(intent: Intent, amount: int) -> PaymentRow:
    sale = intent is Intent.SALE
    return PaymentRow(
        id="auth_1",
        terminal_id="SHOP1",
        intent=intent,
        currency="EUR",
        par=None,
        token_masked="411111******1111",
        authorized=amount,
        captured=amount if sale else 0,
        refunded=0,
        status=PaymentStatus.CAPTURED if sale else PaymentStatus.AUTHORIZED,
        created_at=AT,
        updated_at=AT,
    )


def _post(balances: Counter[str], journals: tuple[ledger.Journal, ...]) -> None:
    for journal in journals:
        for posting in journal.postings:
            balances[posting.account] += posting.amount


def _reverse_in_parts(
    payment: PaymentRow, parts: list[int], kind: OperationKind, balances: Counter[str]
) -> PaymentRow:
    for part in parts:
        payment, value, journals = transition(kind, payment, part, FEE_BPS)
        assert value == part
        _post(balances, journals)
    return payment


def _split(amount: int, cuts: list[int]) -> list[int]:
    """``amount`` cut at the given points (each in 1..amount-1) into parts that sum to it."""
    points = sorted({c for c in cuts if 0 < c < amount})
    edges = [0, *points, amount]
    return [b - a for a, b in itertools.pairwise(edges)]


def test_the_quoted_splits_return_every_account_to_zero() -> None:
    for amount, parts in ((340, [34] * 10), (1250, [625, 625])):
        balances: Counter[str] = Counter()
        _post(balances, (ledger.sale("SHOP1", "EUR", amount, FEE_BPS),))
        payment = _reverse_in_parts(
            _payment(Intent.SALE, amount), parts, OperationKind.REVERSAL, balances
        )
        assert payment.status is PaymentStatus.REVERSED
        assert {a: b for a, b in balances.items() if b} == {}, (amount, parts)


@given(
    amount=st.integers(min_value=1, max_value=999_999_999_999),
    cuts=st.lists(st.integers(min_value=1, max_value=999_999_999_999), max_size=12),
    fee_bps=st.integers(min_value=0, max_value=10_000),
)
def test_a_sale_reversed_in_any_split_leaves_every_account_at_zero(
    amount: int, cuts: list[int], fee_bps: int
) -> None:
    parts = _split(amount, [c % amount for c in cuts])
    balances: Counter[str] = Counter()
    _post(balances, (ledger.sale("SHOP1", "EUR", amount, fee_bps),))
    payment = _payment(Intent.SALE, amount)
    for part in parts:
        payment, _, journals = transition(OperationKind.REVERSAL, payment, part, fee_bps)
        _post(balances, journals)
    assert payment.status is PaymentStatus.REVERSED
    assert {a: b for a, b in balances.items() if b} == {}


@given(
    held=st.integers(min_value=1, max_value=999_999_999),
    captured=st.integers(min_value=1, max_value=999_999_999),
    cuts=st.lists(st.integers(min_value=1, max_value=999_999_999), max_size=8),
)
def test_a_completion_reversed_in_parts_leaves_every_account_at_zero(
    held: int, captured: int, cuts: list[int]
) -> None:
    captured = min(captured, held)
    balances: Counter[str] = Counter()
    payment = _payment(Intent.PREAUTHORIZATION, held)
    _post(balances, (ledger.hold("SHOP1", "EUR", held),))
    payment, _, journals = transition(OperationKind.CAPTURE, payment, captured, FEE_BPS)
    _post(balances, journals)
    parts = _split(captured, [c % captured for c in cuts])
    payment = _reverse_in_parts(payment, parts, OperationKind.REVERSAL, balances)
    assert payment.status is PaymentStatus.REVERSED
    assert {a: b for a, b in balances.items() if b} == {}


def test_a_void_after_a_partial_reversal_hands_back_the_rest_of_the_fee() -> None:
    balances: Counter[str] = Counter()
    _post(balances, (ledger.sale("SHOP1", "EUR", 340, FEE_BPS),))
    payment = _reverse_in_parts(
        _payment(Intent.SALE, 340), [34, 34], OperationKind.REVERSAL, balances
    )
    payment, _, journals = transition(OperationKind.VOID, payment, None, FEE_BPS)
    _post(balances, journals)
    assert payment.status is PaymentStatus.VOIDED
    assert {a: b for a, b in balances.items() if b} == {}
