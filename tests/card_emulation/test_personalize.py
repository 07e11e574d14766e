"""personalize(): a card from a token record and the issuer keys, and every refusal."""

from __future__ import annotations

from dataclasses import replace

import pytest

from card_emulation import (
    CardImage,
    EmvApplet,
    Fault,
    PersonalizationError,
    ProfileError,
    personalize,
)
from emvcore.crypto.cvn import cryptogram_version
from emvcore.crypto.kd import derive_icc_mk_a
from emvcore.keyfile import IssuerKeySet
from emvcore.pan import luhn_check_digit
from emvcore.provisioning import TokenRecord
from tests.card_emulation.support import PAR, token_record


@pytest.mark.parametrize("profile_name", ["visa", "mastercard"])
def test_personalize_makes_the_card(keys: IssuerKeySet, profile_name: str) -> None:
    record = token_record(profile_name)
    card = personalize("alice-1", profile_name, record, keys)
    key = keys.for_scheme(profile_name)
    assert (card.name, card.profile, card.token, card.expiry, card.psn, card.par) == (
        "alice-1",
        profile_name,
        record.token,
        "2912",
        "01",
        PAR,
    )
    assert (card.dki, card.atc, card.faults, card.test) == (1, 0, frozenset(), True)
    version = cryptogram_version(key.cvn)
    assert card.icc_mk == version.derive_icc_mk(key.imk_ac, record.token, "01")
    assert len(card.icc_mk) == 16
    assert card.icc_mk.hex() not in repr(card).lower()


def test_personalize_with_faults(keys: IssuerKeySet) -> None:
    faults = frozenset({Fault.TAMPER_CRYPTOGRAM})
    card = personalize("mallory", "visa", token_record("visa"), keys, faults=faults)
    assert card.faults == faults


def test_nineteen_digit_mastercard_token_uses_the_versions_master_key_derivation(
    keys: IssuerKeySet,
) -> None:
    # mastercard-cvn17 derives the ICC master key with option A for every PAN length, as
    # the acquirer does; option B differs from it beyond 16 digits.
    record = token_record("mastercard", serial=123456789, length=19)
    card = personalize("long", "mastercard", record, keys)
    key = keys.for_scheme("mastercard")
    assert card.icc_mk == derive_icc_mk_a(key.imk_ac, record.token, record.psn)


def _assert_no_token(exc: pytest.ExceptionInfo[PersonalizationError], token: str) -> None:
    message = str(exc.value)
    assert token not in message
    assert token[6:] not in message


def test_wrong_scheme(keys: IssuerKeySet) -> None:
    record = token_record("visa")
    with pytest.raises(PersonalizationError) as exc:
        personalize("alice", "mastercard", record, keys)
    assert (
        str(exc.value) == "token record is for scheme 'visa', profile 'mastercard' is 'mastercard'"
    )
    _assert_no_token(exc, record.token)


def _luhn(body: str) -> str:
    return body + luhn_check_digit(body)


@pytest.mark.parametrize(
    "token",
    [
        "4111111111111111",  # another issuer's BIN
        _luhn("489538000000000"),  # just above the visa range
        _luhn("489536990000000"),  # just below it
        _luhn("48953000000"),  # 12 digits, below the range
    ],
)
def test_token_outside_every_bin_range(keys: IssuerKeySet, token: str) -> None:
    record = TokenRecord(token, "2912", "00", PAR, "visa", True)
    with pytest.raises(PersonalizationError) as exc:
        personalize("alice", "visa", record, keys)
    assert str(exc.value) == f"no issuer key covers BIN {token[:6]}"
    _assert_no_token(exc, token)


def test_cvn_mismatch(keys: IssuerKeySet) -> None:
    visa_key = replace(keys.for_scheme("visa"), cvn="visa-cvn10")
    other = IssuerKeySet(keys=(visa_key, keys.for_scheme("mastercard")), test_keys=True)
    record = token_record("visa")
    with pytest.raises(PersonalizationError) as exc:
        personalize("alice", "visa", record, other)
    assert str(exc.value) == (
        "issuer key 'Visa-style test tokens' is for visa-cvn10, profile 'visa' uses visa-cvn18"
    )
    _assert_no_token(exc, record.token)


def test_test_record_with_production_keys(keys: IssuerKeySet) -> None:
    production = IssuerKeySet(keys=keys.keys, test_keys=False)
    with pytest.raises(PersonalizationError, match="test token record"):
        personalize("alice", "visa", token_record("visa"), production)
    card = personalize("alice", "visa", token_record("visa", test=False), production)
    assert card.test is False


@pytest.mark.parametrize(
    "name", ["", "Alice", "a/b", "../etc", "-x", "_x", "a b", "a" * 41, "ali.ce", "é"]
)
def test_bad_names(keys: IssuerKeySet, name: str) -> None:
    record = token_record("visa")
    with pytest.raises(PersonalizationError) as exc:
        personalize(name, "visa", record, keys)
    assert "card name" in str(exc.value)
    _assert_no_token(exc, record.token)


@pytest.mark.parametrize("name", ["a", "0", "alice-visa_2", "a" * 40])
def test_good_names(keys: IssuerKeySet, name: str) -> None:
    assert personalize(name, "visa", token_record("visa"), keys).name == name


def test_unknown_profile(keys: IssuerKeySet) -> None:
    with pytest.raises(ProfileError) as exc:
        personalize("alice", "amex", token_record("visa"), keys)
    assert (
        str(exc.value)
        == "unknown profile 'amex' (known: visa, mastercard, visa-phone, mastercard-phone)"
    )


def test_with_atc_copies(visa_card: CardImage) -> None:
    later = visa_card.with_atc(7)
    assert (later.atc, visa_card.atc) == (7, 0)
    assert replace(later, atc=0) == visa_card


def test_personalized_card_runs(visa_card: CardImage) -> None:
    assert (
        EmvApplet(visa_card).process_apdu(bytes.fromhex("00A4040007A000000003101000"))[-2:]
        == b"\x90\x00"
    )
