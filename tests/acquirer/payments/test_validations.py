"""The acquirer refuses what it should (issue 11): each quoted defect, on both stores.

- "A EUR merchant's terminal had a USD sale approved" -> ``currency_not_accepted``;
- "zero-amount sales are approved and counted in batches" -> a 422, and no zero journal;
- "``settlement close --terminal NOPE`` exits 0 with an empty batch" -> exit 1 / 404;
- "the acquirer ignores the TVR" -> ``oda_failed`` / ``card_expired``, unless the issuer
  profile (``Settings.tvr_exempt_bins``) accepts them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from acquirer import Settings, create_app
from acquirer.cli import app as cli_app
from acquirer.payments.sql import SqlPaymentStore
from acquirer.payments.store import PaymentStore
from acquirer.registry import MerchantRow, TerminalRow, TerminalStatus
from tests.acquirer.testkit import USD, Api, TestCard

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TERMINAL = "SHOP0001"


def register(store: PaymentStore, currency: str = "EUR") -> None:
    store.put_merchant(MerchantRow("M1", "Shop", "5411", currency, "acct", NOW))
    store.put_terminal(TerminalRow(TERMINAL, "M1", ("pay",), TerminalStatus.ACTIVE, None, NOW))


def test_a_eur_merchant_does_not_take_usd(
    any_api: Api, any_store: PaymentStore, any_new_card: Callable[..., TestCard]
) -> None:
    register(any_store, "EUR")
    card = any_new_card()
    usd = any_api.authorize(card.tap(amount=1250, atc=1, currency=USD), currency="USD").json()
    assert (usd["approved"], usd["reason"], usd["response_code"]) == (
        False,
        "currency_not_accepted",
        "58",
    )
    assert usd["cryptogram_verified"] is True and usd["issuer_authentication_data"]
    assert any_api.authorize(card.tap(amount=1250, atc=2)).json()["approved"] is True
    assert any_store.ledger_totals().journals == {"sale": 1}


@pytest.mark.parametrize("intent", ["sale", "preauthorization"])
def test_a_zero_amount_is_never_a_sale(
    any_api: Api, any_store: PaymentStore, any_new_card: Callable[..., TestCard], intent: str
) -> None:
    card = any_new_card()
    response = any_api.client.post(
        "/v1/authorizations",
        json={**any_api.body(card.tap(amount=0, atc=1), amount=0), "intent": intent},
        headers={"Idempotency-Key": f"zero-{intent}"},
    )
    assert response.status_code == 422, response.text
    assert "account verification" in response.text
    assert any_store.count_authorizations() == 0
    verify = any_api.client.post(
        "/v1/authorizations",
        json={
            **any_api.body(card.tap(amount=0, atc=2), amount=0),
            "intent": "account_verification",
        },
        headers={"Idempotency-Key": "verify-1"},
    )
    assert verify.json()["approved"] is True
    register(any_store)
    batch = any_api.client.post(
        "/v1/settlement/batches", json={"terminal_id": TERMINAL}, headers={"Idempotency-Key": "b1"}
    )
    assert batch.status_code == 200 and batch.json()["totals"] == []


def test_a_zero_sale_from_an_in_process_caller_is_declined(
    any_api: Api, any_store: PaymentStore, any_new_card: Callable[..., TestCard]
) -> None:
    from acquirer.payments.messages import AuthorizationRequest

    service = any_api.client.app.state.payments.authorizations  # type: ignore[attr-defined]
    card = any_new_card()
    outcome = service.authorize(
        AuthorizationRequest(TERMINAL, "in-proc-0", 0, "EUR", card.tap(amount=0, atc=1).data)
    )
    assert (outcome.approved, outcome.reason) == (False, "amount_mismatch")
    assert any_store.ledger_totals().journals == {}


def test_settling_an_unknown_terminal_is_a_404(any_api: Api, any_store: PaymentStore) -> None:
    response = any_api.client.post(
        "/v1/settlement/batches", json={"terminal_id": "NOPE"}, headers={"Idempotency-Key": "b1"}
    )
    assert response.status_code == 404
    assert response.json()["code"] == "settlement_scope_unknown"
    assert any_store.list_batches() == []


def test_settlement_close_of_unknown_scopes_exits_1(settings: Settings) -> None:
    runner = CliRunner()
    d = ("--data-dir", str(settings.data_dir))
    for scope in ("--terminal", "--merchant"):
        result = runner.invoke(cli_app, ["settlement", "close", scope, "NOPE", *d])
        assert result.exit_code == 1, result.output
        assert "NOPE" in result.output and "is registered" in result.output
    assert "batch_" not in runner.invoke(cli_app, ["settlement", "list", *d]).output


#: TVR values (EMV Book 3 Annex C5): byte 1 b7 SDA failed, b4 DDA failed, b3 CDA failed;
#: byte 2 b7 expired application.
TVRS = {
    "sda_failed": ("4000000000", "oda_failed", "05"),
    "dda_failed": ("0800000000", "oda_failed", "05"),
    "cda_failed": ("0400008000", "oda_failed", "05"),
    "expired": ("0040000000", "card_expired", "54"),
}


@pytest.mark.parametrize("case", list(TVRS))
def test_the_issuer_reads_the_tvr(
    any_api: Api, any_store: PaymentStore, any_new_card: Callable[..., TestCard], case: str
) -> None:
    tvr, reason, code = TVRS[case]
    card = any_new_card("mastercard")
    answer = any_api.authorize(card.tap(amount=1250, atc=1, tvr=bytes.fromhex(tvr))).json()
    assert (answer["approved"], answer["reason"], answer["response_code"]) == (False, reason, code)
    assert card.accepts(card.tap(amount=1250, atc=1), answer["issuer_authentication_data"]) is False
    # "ODA not performed" (byte 1 b8) and "floor limit exceeded" are not failures.
    fine = any_api.authorize(card.tap(amount=1250, atc=2, tvr=bytes.fromhex("8000008000")))
    assert fine.json()["approved"] is True
    assert any_store.ledger_totals().journals == {"sale": 1}


def test_an_issuer_profile_may_accept_the_tvr(
    backend_settings: Settings, any_store: SqlPaymentStore, any_new_card: Callable[..., TestCard]
) -> None:
    card = any_new_card("mastercard")
    exempt = dataclasses.replace(backend_settings, tvr_exempt_bins=(card.token[:6],))
    with TestClient(create_app(exempt)) as client:
        api = Api(client)
        tap = card.tap(amount=1250, atc=1, tvr=bytes.fromhex("0440000000"))
        assert api.authorize(tap).json()["approved"] is True


def test_tvr_exempt_bins_are_digits(tmp_path: Path) -> None:
    from acquirer import ConfigurationError

    with pytest.raises(ConfigurationError):
        Settings(tmp_path, tvr_exempt_bins=("51x",))
