"""Incremental authorizations obey the authorization's risk rules (issue 17, defect 1).

Before the fix, with an MCC limit of 10,000 a 5,000 pre-authorization accepted an increment of
999,999,999,999; with the PAR denied and the token suspended another increment was accepted,
and the capture took more than the 12 digits an amount field carries.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from acquirer.payments.store import PaymentStore
from acquirer.registry import MerchantRow, TerminalRow, TerminalStatus, TokenStatus
from tests.acquirer.payments.test_lifecycle import TERMINAL, Lifecycle
from tests.acquirer.testkit import Api, TestCard

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
N12 = 999_999_999_999


@pytest.fixture
def life(any_api: Api, any_new_card: Callable[..., TestCard]) -> Lifecycle:
    return Lifecycle(any_api, any_new_card("visa"))


def _code(life: Lifecycle, payment: str, amount: int) -> tuple[int, str | None]:
    response = life.op(payment, "increments", amount=amount)
    return response.status_code, response.json().get("code")


def _bike_dock(store: PaymentStore, limit: int | None) -> None:
    store.put_merchant(MerchantRow("M1", "Bikes", "4121", "EUR", "acct", NOW))
    store.put_terminal(TerminalRow(TERMINAL, "M1", ("pay",), TerminalStatus.ACTIVE, None, NOW))
    store.set_mcc_limit("4121", limit)


def test_increment_obeys_the_category_limit(life: Lifecycle, any_store: PaymentStore) -> None:
    _bike_dock(any_store, 10_000)
    hold = life.authorize(5_000, intent="preauthorization")["authorization_id"]
    assert _code(life, hold, N12) == (422, "increment_declined")
    assert _code(life, hold, 5_001) == (422, "increment_declined")
    assert _code(life, hold, 5_000)[0] == 200  # exactly at the limit
    assert _code(life, hold, 1) == (422, "increment_declined")
    payment = any_store.get_payment(hold)
    assert payment is not None and payment.authorized == 10_000
    assert life.op(hold, "capture").json()["amount"] == 10_000


def test_increment_refused_for_a_denied_account_or_a_suspended_token(
    life: Lifecycle, any_store: PaymentStore
) -> None:
    hold = life.authorize(5_000, intent="preauthorization")["authorization_id"]
    assert _code(life, hold, 1_000)[0] == 200
    token = any_store.get_token(life.card.token)
    assert token is not None
    any_store.deny_par(token.par, "unpaid rental", NOW)
    assert _code(life, hold, 1_000) == (422, "increment_declined")
    any_store.allow_par(token.par)
    any_store.set_token_status(life.card.token, TokenStatus.SUSPENDED)
    assert _code(life, hold, 1_000) == (422, "increment_declined")
    any_store.set_token_status(life.card.token, TokenStatus.ACTIVE)
    assert _code(life, hold, 1_000)[0] == 200
    payment = any_store.get_payment(hold)
    assert payment is not None and payment.authorized == 7_000


def test_a_payment_never_exceeds_what_an_amount_field_carries(
    life: Lifecycle, any_store: PaymentStore
) -> None:
    hold = life.authorize(5_000, intent="preauthorization")["authorization_id"]
    assert _code(life, hold, N12 - 5_000)[0] == 200
    assert _code(life, hold, 1) == (422, "amount_exceeded")
    capture = life.op(hold, "capture")
    assert capture.status_code == 200 and capture.json()["amount"] == N12
    assert any_store.ledger_totals().unbalanced == 0
