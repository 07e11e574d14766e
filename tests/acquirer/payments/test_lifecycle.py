"""The payment lifecycle over the API, on every backend: sale, pre-authorization, increment,
capture (completion), void, refund, reversal; idempotency of each; the ledger after each."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from acquirer.payments.store import PaymentStore
from tests.acquirer.testkit import Api, TestCard

TERMINAL = "SHOP0001"


class Lifecycle:
    """Drives one terminal's payments through the API."""

    def __init__(self, api: Api, card: TestCard) -> None:
        self.api, self.card = api, card
        self.atc = 0
        self.n = 0

    def key(self) -> str:
        self.n += 1
        return f"op-{self.n}"

    def authorize(
        self, amount: int, *, intent: str = "sale", key: str | None = None
    ) -> dict[str, Any]:
        self.atc += 1
        body = self.api.body(self.card.tap(amount=amount, atc=self.atc), amount=amount)
        if intent != "sale":
            body["intent"] = intent
        response = self.api.client.post(
            "/v1/authorizations", json=body, headers={"Idempotency-Key": key or self.key()}
        )
        assert response.status_code == 200, response.text
        doc: dict[str, Any] = response.json()
        assert doc["approved"] is True
        return doc

    def post(
        self, path: str, *, key: str | None = None, terminal: str = TERMINAL, **fields: Any
    ) -> httpx.Response:
        response: httpx.Response = self.api.client.post(
            path,
            json={"terminal_id": terminal, **fields},
            headers={"Idempotency-Key": key or self.key()},
        )
        return response

    def op(self, payment_id: str, name: str, **fields: Any) -> httpx.Response:
        return self.post(f"/v1/payments/{payment_id}/{name}", **fields)


@pytest.fixture
def life(any_api: Api, any_new_card: Callable[..., TestCard]) -> Lifecycle:
    return Lifecycle(any_api, any_new_card("visa"))


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    doc: dict[str, Any] = response.json()
    return doc


def _problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


def _assert_ledger_balances(store: PaymentStore) -> dict[str, int]:
    totals = store.ledger_totals()
    assert totals.unbalanced == 0
    balances = store.account_balances()
    assert sum(balances.values()) == 0
    return balances


def test_sale_is_captured_and_posted(life: Lifecycle, any_store: PaymentStore) -> None:
    auth = life.authorize(1250)
    payment = any_store.get_payment(auth["authorization_id"])
    assert payment is not None and (payment.status, payment.captured) == ("captured", 1250)
    assert any_store.ledger_totals().journals == {"sale": 1}
    assert _assert_ledger_balances(any_store) == {
        "fee_revenue EUR": -19,
        "issuer_receivable EUR": 1250,
        f"merchant_payable:{TERMINAL} EUR": -1231,
    }
    view = life.api.client.get(
        f"/v1/payments/{auth['authorization_id']}", params={"terminal_id": TERMINAL}
    )
    assert _ok(view)["status"] == "captured"


def test_refunds_never_exceed_captured_and_replay(life: Lifecycle, any_store: PaymentStore) -> None:
    pid = life.authorize(1250)["authorization_id"]
    first = life.op(pid, "refunds", amount=500, key="r1")
    assert _ok(first)["payment"]["refunded"] == 500
    again = life.op(pid, "refunds", amount=500, key="r1")
    assert again.content == first.content and again.headers["Idempotent-Replayed"] == "true"
    _problem(life.op(pid, "refunds", amount=600, key="r1"), 409, "idempotency_key_reused")
    _problem(life.op(pid, "refunds", amount=800), 422, "amount_exceeded")
    assert _ok(life.op(pid, "refunds"))["amount"] == 750  # the rest
    _problem(life.op(pid, "refunds", amount=1), 422, "amount_exceeded")
    _problem(life.op(pid, "void"), 409, "payment_state_conflict")  # refunded: no void
    assert any_store.ledger_totals().journals == {"sale": 1, "refund": 2}
    balances = _assert_ledger_balances(any_store)
    assert balances["issuer_receivable EUR"] == 0
    assert balances[f"merchant_payable:{TERMINAL} EUR"] == 19  # the fee is not returned


def test_void_of_a_sale_undoes_it(life: Lifecycle, any_store: PaymentStore) -> None:
    pid = life.authorize(1250)["authorization_id"]
    voided = _ok(life.op(pid, "void"))
    assert voided["payment"]["status"] == "voided" and voided["amount"] == 1250
    _problem(life.op(pid, "void"), 409, "payment_state_conflict")
    _problem(life.op(pid, "refunds", amount=1), 409, "payment_state_conflict")
    assert set(_assert_ledger_balances(any_store).values()) == {0}


def test_preauthorization_increment_and_completion(
    life: Lifecycle, any_store: PaymentStore
) -> None:
    auth = life.authorize(2000, intent="preauthorization")
    pid = auth["authorization_id"]
    payment = any_store.get_payment(pid)
    assert payment is not None and (payment.status, payment.captured) == ("authorized", 0)
    _problem(life.op(pid, "refunds", amount=1), 409, "payment_state_conflict")
    assert _ok(life.op(pid, "increments", amount=500))["payment"]["authorized"] == 2500
    _problem(life.op(pid, "increments"), 422, "request_invalid")  # amount is required
    _problem(life.op(pid, "capture", amount=2501), 422, "amount_exceeded")
    done = _ok(life.op(pid, "capture", amount=1730))
    assert done["payment"] | {} == done["payment"]
    assert (done["payment"]["status"], done["payment"]["captured"]) == ("captured", 1730)
    _problem(life.op(pid, "capture", amount=1), 409, "payment_state_conflict")
    _problem(life.op(pid, "increments", amount=1), 409, "payment_state_conflict")
    assert any_store.ledger_totals().journals == {"hold": 2, "release": 1, "capture": 1}
    balances = _assert_ledger_balances(any_store)
    assert balances["holds_receivable EUR"] == 0 and balances["issuer_receivable EUR"] == 1730


def test_preauthorization_partial_then_full_reversal(
    life: Lifecycle, any_store: PaymentStore
) -> None:
    pid = life.authorize(3000, intent="preauthorization")["authorization_id"]
    partial = _ok(life.op(pid, "reversals", amount=1000))
    assert (partial["payment"]["status"], partial["payment"]["authorized"]) == ("authorized", 2000)
    _problem(life.op(pid, "reversals", amount=2001), 422, "amount_exceeded")
    full = _ok(life.op(pid, "reversals"))
    assert (full["payment"]["status"], full["amount"]) == ("reversed", 2000)
    assert set(_assert_ledger_balances(any_store).values()) == {0}


def test_reversal_by_the_original_idempotency_key(life: Lifecycle, any_store: PaymentStore) -> None:
    life.authorize(1250, key="tap-77")
    partial = _ok(life.post("/v1/reversals", original_idempotency_key="tap-77", amount=250))
    assert partial["payment"]["captured"] == 1000
    full = _ok(life.post("/v1/reversals", original_idempotency_key="tap-77"))
    assert (full["payment"]["status"], full["amount"]) == ("reversed", 1000)
    _problem(
        life.post("/v1/reversals", original_idempotency_key="never-sent"), 404, "payment_unknown"
    )
    assert set(_assert_ledger_balances(any_store).values()) == {0}


def test_a_reversal_that_overtakes_its_original_bars_it(
    life: Lifecycle, any_store: PaymentStore
) -> None:
    # The terminal timed out; its reversal reaches the acquirer before the authorization.
    _problem(
        life.post("/v1/reversals", original_idempotency_key="tap-late"), 404, "payment_unknown"
    )
    life.atc += 1
    tap = life.card.tap(amount=1250, atc=life.atc)
    late = life.api.client.post(
        "/v1/authorizations",
        json=life.api.body(tap, amount=1250),
        headers={"Idempotency-Key": "tap-late"},
    )
    assert late.status_code == 200, late.text
    body = late.json()
    assert (body["approved"], body["reason"], body["response_code"]) == (
        False,
        "reversed_before_authorization",
        "05",
    )
    assert body["issuer_authentication_data"] is None
    # Nothing was authorized, and the card's ATC is not used up by the refused original.
    assert any_store.get_payment(body["authorization_id"]) is None
    assert not any_store.atc_claimed(life.card.token, life.atc)
    # The reversal's answer stays true when it is retried, and the barred key stays barred.
    _problem(
        life.post("/v1/reversals", original_idempotency_key="tap-late"), 404, "payment_unknown"
    )
    again = life.api.client.post(
        "/v1/authorizations",
        json=life.api.body(tap, amount=1250),
        headers={"Idempotency-Key": "tap-late"},
    )
    assert again.json()["reason"] == "reversed_before_authorization"
    assert any_store.ledger_totals().journals == {}


def test_payments_are_private_to_their_terminal(life: Lifecycle) -> None:
    pid = life.authorize(1250)["authorization_id"]
    _problem(life.post(f"/v1/payments/{pid}/void", terminal="OTHER1"), 404, "payment_unknown")
    view = life.api.client.get(f"/v1/payments/{pid}", params={"terminal_id": "OTHER1"})
    _problem(view, 404, "payment_unknown")
    _problem(life.op("auth_" + "0" * 26, "void"), 404, "payment_unknown")
    _problem(life.op("not-an-id", "void"), 422, "request_invalid")
    missing_key = life.api.client.post(f"/v1/payments/{pid}/void", json={"terminal_id": TERMINAL})
    _problem(missing_key, 400, "idempotency_key_missing")
    _problem(life.op(pid, "refunds", amount=0), 422, "request_invalid")
    _problem(life.op(pid, "refunds", amount="5"), 422, "request_invalid")


def test_concurrent_refunds_never_exceed_captured(life: Lifecycle, any_store: PaymentStore) -> None:
    pid = life.authorize(1250)["authorization_id"]
    keys = [f"cr-{n}" for n in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda k: life.op(pid, "refunds", amount=400, key=k), keys))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 3 + [422] * 5
    payment = any_store.get_payment(pid)
    assert payment is not None and payment.refunded == 1200
    assert any_store.ledger_totals().journals == {"sale": 1, "refund": 3}
