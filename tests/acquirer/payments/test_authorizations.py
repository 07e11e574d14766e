"""Authorization decisions through the real app and a real SQLite file."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from acquirer import Settings, create_app
from acquirer.payments.sql import SqlPaymentStore
from acquirer.registry import TokenStatus
from emvcore.keyfile import IssuerKeySet, save_issuer_keys
from emvcore.pan import luhn_check_digit, mask_pan
from tests.acquirer.testkit import USD, Api, TestCard

CONTRACT_FIELDS = [
    "authorization_id",
    "approved",
    "response_code",
    "reason",
    "issuer_authentication_data",
    "token_masked",
    "par",
    "atc",
    "cryptogram_verified",
    "created_at",
]


@pytest.mark.parametrize("scheme", ["visa", "mastercard"])
def test_valid_arqc_is_approved_and_card_accepts_tag_91(
    api: Api, new_card: Callable[..., TestCard], store: SqlPaymentStore, scheme: str
) -> None:
    card = new_card(scheme)
    tap = card.tap(amount=1250, atc=7)
    response = api.authorize(tap)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == CONTRACT_FIELDS
    assert body["approved"] is True
    assert (body["response_code"], body["reason"]) == ("00", "approved")
    assert body["cryptogram_verified"] is True
    assert body["atc"] == 7
    assert body["token_masked"] == mask_pan(card.token)
    assert body["par"] == store.get_token(card.token).par  # type: ignore[union-attr]
    assert re.fullmatch(r"auth_[0-9A-HJKMNP-TV-Z]{26}", body["authorization_id"])
    assert datetime.fromisoformat(body["created_at"]).tzinfo is not None
    assert card.accepts(tap, body["issuer_authentication_data"])


def test_pan_from_track2_equivalent_data(api: Api, new_card: Callable[..., TestCard]) -> None:
    card = new_card("visa")
    body = api.authorize(card.tap(amount=100, atc=1, track2=True), amount=100).json()
    assert body["reason"] == "approved"


def test_tampered_cryptogram_is_declined_without_tag_91_and_burns_no_atc(
    api: Api, new_card: Callable[..., TestCard]
) -> None:
    card = new_card("visa")
    tap = card.tap(amount=1250, atc=3)
    forged = bytearray(tap.data)
    index = forged.index(tap.arqc)
    forged[index] ^= 0x01
    body = api.authorize(forged.hex()).json()
    assert body["approved"] is False
    assert (body["response_code"], body["reason"]) == ("05", "cryptogram_invalid")
    assert body["issuer_authentication_data"] is None
    assert body["cryptogram_verified"] is False
    # The forged request did not claim ATC 3: the genuine one still goes through.
    assert api.authorize(tap).json()["reason"] == "approved"


def test_data_changed_after_the_arqc_fails_the_cryptogram(
    api: Api, new_card: Callable[..., TestCard]
) -> None:
    card = new_card("mastercard")
    tap = card.tap(amount=1250, atc=3)
    altered = tap.data.replace(
        bytes.fromhex("9F0206000000001250"), bytes.fromhex("9F0206000000000001")
    )
    body = api.authorize(altered.hex(), amount=1).json()
    assert body["reason"] == "cryptogram_invalid"


def test_wrong_cvn_in_iad_is_a_failed_cryptogram(
    api: Api, new_card: Callable[..., TestCard]
) -> None:
    card = new_card("visa")
    body = api.authorize(card.tap(amount=1250, atc=1, cvn=0x0A)).json()
    assert body["reason"] == "cryptogram_invalid"
    assert body["issuer_authentication_data"] is None


def test_card_that_did_not_ask_for_arqc(api: Api, new_card: Callable[..., TestCard]) -> None:
    card = new_card("visa")
    body = api.authorize(card.tap(amount=1250, atc=1, cid=0x40)).json()  # a TC
    assert (body["response_code"], body["reason"]) == ("05", "cid_not_arqc")
    assert body["issuer_authentication_data"] is None


@pytest.mark.parametrize("scheme", ["visa", "mastercard"])
def test_replayed_atc_is_declined_with_a_decline_tag_91(
    api: Api, new_card: Callable[..., TestCard], scheme: str
) -> None:
    card = new_card(scheme)
    tap = card.tap(amount=1250, atc=9)
    assert api.authorize(tap).json()["approved"] is True
    replay = api.authorize(tap).json()
    assert (replay["response_code"], replay["reason"]) == ("05", "atc_replayed")
    assert replay["cryptogram_verified"] is True
    assert card.accepts(tap, replay["issuer_authentication_data"])


def test_stale_atc(api: Api, new_card: Callable[..., TestCard]) -> None:
    card = new_card("visa")
    assert api.authorize(card.tap(amount=1250, atc=100)).json()["approved"] is True
    stale = api.authorize(card.tap(amount=1250, atc=100 - 33)).json()
    assert (stale["response_code"], stale["reason"]) == ("05", "atc_stale")
    # Inside the window (default 32) a late, unused ATC is still accepted.
    assert api.authorize(card.tap(amount=1250, atc=100 - 32)).json()["approved"] is True


def test_unknown_token(api: Api, new_card: Callable[..., TestCard]) -> None:
    card = new_card("visa")
    body15 = card.token[:-1]
    other = body15[:-1] + str((int(body15[-1]) + 1) % 10)
    stranger = TestCard(token=other + luhn_check_digit(other), key=card.key)
    body = api.authorize(stranger.tap(amount=1250, atc=1)).json()
    assert (body["response_code"], body["reason"]) == ("14", "token_unknown")
    assert body["par"] is None
    assert body["issuer_authentication_data"] is None


def test_expired_token(settings: Settings, new_card: Callable[..., TestCard]) -> None:
    card = new_card("visa")
    later = datetime(2099, 1, 1, tzinfo=UTC)
    with TestClient(create_app(settings, clock=lambda: later)) as client:
        tap = card.tap(amount=1250, atc=1)
        body = Api(client).authorize(tap).json()
    assert (body["response_code"], body["reason"]) == ("54", "token_expired")
    assert card.accepts(tap, body["issuer_authentication_data"])


def test_suspended_token(
    api: Api, new_card: Callable[..., TestCard], store: SqlPaymentStore
) -> None:
    card = new_card("mastercard")
    store.set_token_status(card.token, TokenStatus.SUSPENDED)
    tap = card.tap(amount=1250, atc=1)
    body = api.authorize(tap).json()
    assert (body["response_code"], body["reason"]) == ("62", "token_inactive")
    assert card.accepts(tap, body["issuer_authentication_data"])


def test_amount_mismatch(api: Api, new_card: Callable[..., TestCard]) -> None:
    card = new_card("visa")
    body = api.authorize(card.tap(amount=1250, atc=1), amount=1300).json()
    assert (body["response_code"], body["reason"]) == ("13", "amount_mismatch")
    assert body["cryptogram_verified"] is True


def test_currency_mismatch(api: Api, new_card: Callable[..., TestCard]) -> None:
    card = new_card("visa")
    body = api.authorize(card.tap(amount=1250, atc=1, currency=USD), currency="EUR").json()
    assert (body["response_code"], body["reason"]) == ("13", "currency_mismatch")
    assert (
        api.authorize(card.tap(amount=1250, atc=2, currency=USD), currency="USD").json()["approved"]
        is True
    )


def test_token_without_issuer_key(settings: Settings, new_card: Callable[..., TestCard]) -> None:
    card = new_card("visa")
    from emvcore.keyfile import load_issuer_keys

    full = load_issuer_keys(settings.issuer_keys)
    save_issuer_keys(
        IssuerKeySet(tuple(k for k in full.keys if k.scheme != "visa"), True), settings.issuer_keys
    )
    with TestClient(create_app(settings)) as client:
        body = Api(client).authorize(card.tap(amount=1250, atc=1)).json()
    assert (body["response_code"], body["reason"]) == ("96", "issuer_key_unknown")


def test_account_verification_names_the_account_and_moves_no_money(
    api: Api, new_card: Callable[..., TestCard], store: SqlPaymentStore
) -> None:
    card = new_card("visa")
    tap = card.tap(amount=0, atc=3)
    response = api.client.post(
        "/v1/authorizations",
        json={**api.body(tap, amount=0), "intent": "account_verification"},
        headers={"Idempotency-Key": "verify-1"},
    )
    body = response.json()
    assert (body["approved"], body["reason"]) == (True, "approved")
    assert body["par"] == store.get_token(card.token).par  # type: ignore[union-attr]
    assert card.accepts(tap, body["issuer_authentication_data"])
    assert store.get_payment(body["authorization_id"]) is None
    assert store.ledger_totals().journals == {}
    # The ATC is used up like any other genuine cryptogram's.
    again = api.client.post(
        "/v1/authorizations",
        json={**api.body(tap, amount=0), "intent": "account_verification"},
        headers={"Idempotency-Key": "verify-2"},
    )
    assert again.json()["reason"] == "atc_replayed"


def test_account_verification_of_a_nonzero_amount_is_refused(
    api: Api, new_card: Callable[..., TestCard]
) -> None:
    card = new_card("visa")
    response = api.client.post(
        "/v1/authorizations",
        json={
            **api.body(card.tap(amount=500, atc=1), amount=500),
            "intent": "account_verification",
        },
        headers={"Idempotency-Key": "verify-3"},
    )
    assert (response.json()["approved"], response.json()["reason"]) == (False, "amount_mismatch")
