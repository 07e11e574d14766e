"""Mandates: signing, strict verification, and every refusal a stable reason code."""

from __future__ import annotations

import json

import pytest

from emvcore.agentpay import Period, Presence, Reason, Recurrence, new_mandate_id, verify_mandate
from emvcore.agentpay.keys import PrivateKey
from emvcore.errors import AgentPayError, EmvError, MandateError
from tests.emvcore_agentpay.support import (
    DAY,
    NOW,
    forge,
    hs256_with_public_key,
    mandate_terms,
    signed_mandate,
    split,
)


def refused(token: object, key: PrivateKey, reason: Reason, now: int = NOW) -> MandateError:
    with pytest.raises(MandateError) as caught:
        verify_mandate(token, key.public_key(), now=now)
    assert caught.value.reason is reason, str(caught.value)
    return caught.value


def test_a_signed_mandate_verifies_to_its_terms(wallet: PrivateKey, agent: PrivateKey) -> None:
    terms = mandate_terms(wallet, agent, recurrence=Recurrence(Period.WEEK, 10))
    from emvcore.agentpay import sign_mandate

    assert verify_mandate(sign_mandate(terms, wallet), wallet.public_key(), now=NOW + DAY) == terms


def test_the_header_is_es256_with_the_explicit_type(wallet: PrivateKey, agent: PrivateKey) -> None:
    header, claims, _ = split(signed_mandate(wallet, agent))
    assert header["alg"] == "ES256" and header["typ"] == "tap-mandate+jwt"
    assert claims["cnf"] == {"jkt": mandate_terms(wallet, agent).agent_key}
    assert claims["max_amount"] == 2000 and isinstance(claims["max_amount"], int)


def test_mandate_ids_are_unguessable_and_fresh() -> None:
    ids = {new_mandate_id() for _ in range(1000)}
    assert len(ids) == 1000 and all(len(i) == 26 for i in ids)


def test_a_mandate_signed_by_another_wallet_is_refused(
    wallet: PrivateKey, stranger: PrivateKey, agent: PrivateKey
) -> None:
    refused(signed_mandate(stranger, agent), wallet, Reason.MANDATE_SIGNATURE_INVALID)


def test_a_mandate_whose_claims_were_changed_is_refused(
    wallet: PrivateKey, agent: PrivateKey
) -> None:
    header, claims, signature = split(signed_mandate(wallet, agent))
    forged = forge(header, {**claims, "max_amount": 200_000}, signature)
    refused(forged, wallet, Reason.MANDATE_SIGNATURE_INVALID)


def test_alg_none_is_refused(wallet: PrivateKey, agent: PrivateKey) -> None:
    header, claims, _ = split(signed_mandate(wallet, agent))
    refused(forge({**header, "alg": "none"}, claims, ""), wallet, Reason.MANDATE_ALGORITHM_REFUSED)


def test_hs256_with_the_public_key_as_secret_is_refused(
    wallet: PrivateKey, agent: PrivateKey
) -> None:
    header, claims, _ = split(signed_mandate(wallet, agent))
    token = hs256_with_public_key(header, claims, wallet.public_key())
    refused(token, wallet, Reason.MANDATE_ALGORITHM_REFUSED)


@pytest.mark.parametrize("alg", ["ES384", "RS256", "EdDSA", "es256", None])
def test_any_other_algorithm_is_refused(
    wallet: PrivateKey, agent: PrivateKey, alg: str | None
) -> None:
    header, claims, signature = split(signed_mandate(wallet, agent))
    refused(
        forge({**header, "alg": alg}, claims, signature), wallet, Reason.MANDATE_ALGORITHM_REFUSED
    )


@pytest.mark.parametrize("typ", ["JWT", "tap-payment-binding+jwt", "tap-confirmation+jwt", None])
def test_another_type_is_refused(wallet: PrivateKey, agent: PrivateKey, typ: str | None) -> None:
    header, claims, signature = split(signed_mandate(wallet, agent))
    refused(forge({**header, "typ": typ}, claims, signature), wallet, Reason.MANDATE_TYPE_INVALID)


def test_an_unknown_critical_header_is_refused(wallet: PrivateKey, agent: PrivateKey) -> None:
    header, claims, signature = split(signed_mandate(wallet, agent))
    token = forge({**header, "crit": ["exp-policy"], "exp-policy": 1}, claims, signature)
    refused(token, wallet, Reason.MANDATE_CRITICAL_HEADER)


@pytest.mark.parametrize("member", ["jku", "x5u", "jwk", "b64"])
def test_key_fetching_and_unencoded_payload_headers_are_refused(
    wallet: PrivateKey, agent: PrivateKey, member: str
) -> None:
    header, claims, signature = split(signed_mandate(wallet, agent))
    refused(
        forge({**header, member: "https://evil.example/k"}, claims, signature),
        wallet,
        Reason.MANDATE_MALFORMED,
    )


def test_validity_window_with_bounded_skew(wallet: PrivateKey, agent: PrivateKey) -> None:
    token = signed_mandate(wallet, agent, not_before=NOW + DAY, issued_at=NOW)
    refused(token, wallet, Reason.MANDATE_NOT_YET_VALID, now=NOW + DAY - 61)
    assert verify_mandate(token, wallet.public_key(), now=NOW + DAY - 60)
    expires = NOW + 30 * DAY
    assert verify_mandate(token, wallet.public_key(), now=expires + 59)
    refused(token, wallet, Reason.MANDATE_EXPIRED, now=expires + 60)


def test_a_mandate_issued_in_the_future_is_not_yet_valid(
    wallet: PrivateKey, agent: PrivateKey
) -> None:
    token = signed_mandate(wallet, agent, issued_at=NOW + 3600, not_before=NOW)
    refused(token, wallet, Reason.MANDATE_NOT_YET_VALID)


@pytest.mark.parametrize(
    "change",
    [
        {"max_amount": 20.0},
        {"max_amount": "2000"},
        {"max_amount": True},
        {"budget": -1},
        {"budget": 2**53},
        {"currency": "eur"},
        {"payees": {}},
        {"payees": {"merchants": ["m-coffee", "m-coffee"]}},
        {"presence": "agent_decides"},
        {"use": {"kind": "forever"}},
        {"payer": {}},
        {"payee": "m-evil"},
        {"ver": "1"},
    ],
)
def test_malformed_claims_are_refused(
    wallet: PrivateKey, agent: PrivateKey, change: dict[str, object]
) -> None:
    from emvcore.agentpay import jose
    from emvcore.agentpay.mandate import PROFILE

    claims = {**mandate_terms(wallet, agent).claims(), **change}
    # Sign the bad claims properly: the refusal must come from reading them, not the signature.
    try:
        token = jose.sign(PROFILE, claims, wallet)
    except MandateError as exc:  # floats cannot even be canonicalized
        assert exc.reason is Reason.MANDATE_MALFORMED
        return
    refused(token, wallet, Reason.MANDATE_MALFORMED)


def test_a_future_version_is_refused_by_its_own_code(wallet: PrivateKey, agent: PrivateKey) -> None:
    from emvcore.agentpay import jose
    from emvcore.agentpay.mandate import PROFILE

    token = jose.sign(PROFILE, {**mandate_terms(wallet, agent).claims(), "ver": 2}, wallet)
    refused(token, wallet, Reason.MANDATE_VERSION_UNSUPPORTED)


def test_duplicate_claim_names_are_refused(wallet: PrivateKey, agent: PrivateKey) -> None:
    """A second ``max_amount`` that one JSON reader keeps and another drops is malformed,
    even when the wallet's key signed those exact bytes."""
    from joserfc import jws
    from joserfc.jwk import ECKey

    token = signed_mandate(wallet, agent)
    header, claims, _ = split(token)
    body = json.dumps(claims, separators=(",", ":")).encode()
    doubled = body[:-1] + b',"max_amount":999999}'
    forged = jws.serialize_compact(header, doubled, ECKey.import_key(wallet), algorithms=["ES256"])
    refused(forged, wallet, Reason.MANDATE_MALFORMED)


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c.d", "!!.??.**", 42, None, "x" * 20_000])
def test_garbage_is_malformed(wallet: PrivateKey, token: object) -> None:
    refused(token, wallet, Reason.MANDATE_MALFORMED)


@pytest.mark.parametrize(
    "change",
    [
        {"merchants": (), "mccs": ()},
        {"max_amount": 20_000, "budget": 10_000},
        {"presence": Presence.HUMAN_NOT_PRESENT, "agent_key": None},
        {"expires_at": 1_767_225_600 + 500 * DAY},
        {"par": None, "token": None},
        {"mandate_id": "1234"},
    ],
)
def test_the_wallet_cannot_sign_an_unsafe_mandate(
    wallet: PrivateKey, change: dict[str, object]
) -> None:
    with pytest.raises(MandateError) as caught:
        mandate_terms(wallet, wallet, **change)
    assert caught.value.reason is Reason.MANDATE_MALFORMED


def test_errors_are_emvcore_errors_and_never_carry_the_token(
    wallet: PrivateKey, agent: PrivateKey
) -> None:
    token = signed_mandate(wallet, agent, token="4895370012345674", expires_at=NOW + DAY)
    error = refused(token, wallet, Reason.MANDATE_EXPIRED, now=NOW + 2 * DAY)
    assert isinstance(error, AgentPayError) and isinstance(error, EmvError)
    assert "4895370012345674" not in str(error) and token not in str(error)
