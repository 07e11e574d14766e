"""Issuer and ICC certificates: round trips, then each OdaFailure from one corruption."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from emvcore.errors import CryptoError, OdaError
from emvcore.oda import _recovery as rec
from emvcore.oda.certificates import (
    icc_certificate,
    issuer_certificate,
    recover_icc_key,
    recover_issuer_key,
    static_data_to_authenticate,
)
from emvcore.oda.failures import OdaFailure
from emvcore.oda.rsa import generate_rsa_key, modulus_bytes
from tests.emvcore.oda.support import (
    PAN,
    RECORDS,
    TODAY,
    Chain,
    forge,
    issuer_body,
    raw_block,
)

pytestmark = pytest.mark.filterwarnings("error")


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def issuer_fails(chain: Chain, failure: OdaFailure, **changes: Any) -> None:
    """Recover the chain's issuer key with some inputs replaced; expect ``failure``."""
    args: dict[str, Any] = {
        "certificate": chain.cert90,
        "remainder": chain.rem92,
        "exponent": chain.exp9f32,
        "pan": PAN,
        "today": TODAY,
    }
    args.update(changes)
    with pytest.raises(OdaError) as caught:
        recover_issuer_key(chain.capk, **args)
    assert caught.value.failure is failure, str(caught.value)
    assert PAN not in str(caught.value)


def icc_fails(chain: Chain, failure: OdaFailure, **changes: Any) -> None:
    """Recover the chain's ICC key with some inputs replaced; expect ``failure``."""
    args: dict[str, Any] = {
        "certificate": chain.cert9f46,
        "remainder": chain.rem9f48,
        "exponent": chain.exp9f47,
        "pan": PAN,
        "static_data": chain.static_data,
        "today": TODAY,
    }
    args.update(changes)
    with pytest.raises(OdaError) as caught:
        recover_icc_key(chain.issuer_key(), **args)
    assert caught.value.failure is failure, str(caught.value)
    assert PAN not in str(caught.value)


# --- round trips --------------------------------------------------------------------------


def test_sizes_force_remainders(chain_remainders: Chain, chain_fits: Chain) -> None:
    assert len(chain_remainders.rem92) == 144 - (176 - 36) == 4
    assert len(chain_remainders.rem9f48) == 128 - (144 - 42) == 26
    assert chain_fits.rem92 == b"" and chain_fits.rem9f48 == b""


def test_issuer_key_round_trip(chain: Chain) -> None:
    key = chain.issuer_key()
    assert key.modulus == modulus_bytes(chain.issuer)
    assert key.exponent == chain.issuer.public_key().public_numbers().e
    assert (key.expiry, key.serial, key.identifier) == ("1228", bytes.fromhex("000001"), "476173")
    assert PAN[:6] not in repr(key)


def test_icc_key_round_trip(chain: Chain) -> None:
    key = chain.icc_key()
    assert key.modulus == modulus_bytes(chain.icc) and key.exponent == 3
    assert (key.expiry, key.serial, key.identifier, key.bits) == (
        "1227",
        b"\x00\x00\x42",
        PAN,
        1024,
    )
    assert PAN not in repr(key)


def test_expiry_is_the_last_day_of_the_month(chain: Chain) -> None:
    key = recover_issuer_key(
        chain.capk, chain.cert90, chain.rem92, chain.exp9f32, pan=PAN, today=date(2028, 12, 31)
    )
    assert key.expiry == "1228"
    issuer_fails(chain, OdaFailure.ISSUER_CERT_EXPIRED, today=date(2029, 1, 1))


# --- issuer certificate failures ----------------------------------------------------------


@pytest.mark.parametrize("field", ["certificate", "exponent"])
def test_issuer_data_missing(chain: Chain, field: str) -> None:
    issuer_fails(chain, OdaFailure.ISSUER_CERT_MISSING, **{field: None})
    issuer_fails(chain, OdaFailure.ISSUER_CERT_MISSING, **{field: b""})


def test_issuer_cert_truncated_or_oversized(chain: Chain) -> None:
    issuer_fails(chain, OdaFailure.ISSUER_CERT_FORMAT, certificate=chain.cert90[:-1])
    issuer_fails(chain, OdaFailure.ISSUER_CERT_FORMAT, certificate=chain.cert90 + b"\x00")


def test_issuer_cert_not_below_the_modulus(chain: Chain) -> None:
    issuer_fails(chain, OdaFailure.ISSUER_CERT_FORMAT, certificate=b"\xff" * len(chain.cert90))


@pytest.mark.parametrize("at", [0, 50, -1])
def test_issuer_cert_flipped_byte_breaks_the_recovered_frame(chain: Chain, at: int) -> None:
    issuer_fails(chain, OdaFailure.ISSUER_CERT_FORMAT, certificate=flip(chain.cert90, at % 176))


def test_issuer_cert_wrong_header_or_trailer(chain: Chain) -> None:
    body = issuer_body(chain)
    good = bytes([0x6A]) + body + rec.sha1(body + chain.rem92 + chain.exp9f32)
    issuer_fails(
        chain, OdaFailure.ISSUER_CERT_FORMAT, certificate=raw_block(chain.ca, good + b"\xbd")
    )
    bad_header = bytes([0x6B]) + good[1:] + b"\xbc"
    issuer_fails(chain, OdaFailure.ISSUER_CERT_FORMAT, certificate=raw_block(chain.ca, bad_header))
    assert raw_block(chain.ca, good + b"\xbc") == chain.cert90  # the control: all else equal


@pytest.mark.parametrize(
    "change",
    [
        {"fmt": 0x04},
        {"hash_alg": 0x02},
        {"pk_alg": 0x02},
        {"exponent_length": 2},
        {"expiry": b"\x13\x28"},
        {"expiry": b"\x1a\x28"},
        {"key_length": 0},
    ],
    ids=["format", "hash-alg", "pk-alg", "exponent-length", "month-13", "not-bcd", "key-length-0"],
)
def test_issuer_cert_format_fields(chain: Chain, change: dict[str, Any]) -> None:
    body = issuer_body(chain, **change)
    forged = forge(chain.ca, body, chain.rem92 + chain.exp9f32)
    issuer_fails(chain, OdaFailure.ISSUER_CERT_FORMAT, certificate=forged)


def test_issuer_cert_key_length_disagrees_with_remainder(chain_remainders: Chain) -> None:
    chain = chain_remainders
    body = issuer_body(chain, key_length=150)
    forged = forge(chain.ca, body, chain.rem92 + chain.exp9f32)
    issuer_fails(chain, OdaFailure.ISSUER_CERT_FORMAT, certificate=forged)


def test_issuer_cert_hash(chain: Chain) -> None:
    # A wrong or missing remainder and a wrong exponent change the hashed data.
    issuer_fails(chain, OdaFailure.ISSUER_CERT_HASH, remainder=chain.rem92 + b"\x01")
    if chain.rem92:
        issuer_fails(chain, OdaFailure.ISSUER_CERT_HASH, remainder=flip(chain.rem92, 0))
        issuer_fails(chain, OdaFailure.ISSUER_CERT_HASH, remainder=b"")
    wrong = b"\x03" if chain.exp9f32 != b"\x03" else b"\x01\x00\x01"
    issuer_fails(chain, OdaFailure.ISSUER_CERT_HASH, exponent=wrong)


def test_issuer_cert_hash_covers_the_body(chain: Chain) -> None:
    body = issuer_body(chain)
    block = bytes([0x6A]) + body + rec.sha1(body + b"other") + b"\xbc"
    issuer_fails(chain, OdaFailure.ISSUER_CERT_HASH, certificate=raw_block(chain.ca, block))


def test_issuer_id_mismatch(chain: Chain) -> None:
    issuer_fails(chain, OdaFailure.ISSUER_ID_MISMATCH, pan="5413330089600010")
    for identifier in ("47FFFFFF", "4761A3FF"):  # 2 digits; a non-digit before the padding
        body = issuer_body(chain, identifier=bytes.fromhex(identifier))
        forged = forge(chain.ca, body, chain.rem92 + chain.exp9f32)
        issuer_fails(chain, OdaFailure.ISSUER_ID_MISMATCH, certificate=forged)


def test_issuer_cert_expired(chain: Chain) -> None:
    issuer_fails(chain, OdaFailure.ISSUER_CERT_EXPIRED, today=date(2030, 6, 1))


# --- ICC certificate failures -------------------------------------------------------------


@pytest.mark.parametrize("field", ["certificate", "exponent"])
def test_icc_data_missing(chain: Chain, field: str) -> None:
    icc_fails(chain, OdaFailure.ICC_CERT_MISSING, **{field: None})


def test_icc_cert_format(chain: Chain) -> None:
    icc_fails(chain, OdaFailure.ICC_CERT_FORMAT, certificate=chain.cert9f46[:-1])
    icc_fails(chain, OdaFailure.ICC_CERT_FORMAT, certificate=chain.cert9f46 + b"\x00")
    icc_fails(chain, OdaFailure.ICC_CERT_FORMAT, certificate=flip(chain.cert9f46, 10))
    # An issuer certificate where the ICC certificate belongs: format 02, not 04.
    issuer_as_icc = issuer_certificate(
        chain.issuer,
        issuer_modulus=modulus_bytes(chain.icc),
        issuer_exponent=3,
        issuer_identifier="476173",
        expiry="1227",
        serial=b"\x00\x00\x01",
    )
    icc_fails(
        chain, OdaFailure.ICC_CERT_FORMAT, certificate=issuer_as_icc[0], remainder=issuer_as_icc[1]
    )


def test_icc_cert_hash(chain: Chain) -> None:
    icc_fails(chain, OdaFailure.ICC_CERT_HASH, static_data=chain.static_data[:-1])
    icc_fails(chain, OdaFailure.ICC_CERT_HASH, static_data=flip(chain.static_data, 3))
    icc_fails(chain, OdaFailure.ICC_CERT_HASH, exponent=b"\x01\x00\x01")
    if chain.rem9f48:
        icc_fails(chain, OdaFailure.ICC_CERT_HASH, remainder=flip(chain.rem9f48, 25))
    else:
        icc_fails(chain, OdaFailure.ICC_CERT_HASH, remainder=b"\x00")


def test_pan_mismatch(chain: Chain) -> None:
    icc_fails(chain, OdaFailure.PAN_MISMATCH, pan="4761739001010028")
    icc_fails(chain, OdaFailure.PAN_MISMATCH, pan=PAN[:-1])


def test_icc_cert_expired(chain: Chain) -> None:
    icc_fails(chain, OdaFailure.ICC_CERT_EXPIRED, today=date(2028, 1, 1))


def test_icc_cert_with_the_wrong_issuer_key(chain_remainders: Chain, chain_fits: Chain) -> None:
    with pytest.raises(OdaError) as caught:
        recover_icc_key(
            chain_fits.issuer_key(),
            chain_remainders.cert9f46,
            chain_remainders.rem9f48,
            b"\x03",
            pan=PAN,
            static_data=chain_remainders.static_data,
            today=TODAY,
        )
    assert caught.value.failure is OdaFailure.ICC_CERT_FORMAT


# --- issuing: parameter errors ------------------------------------------------------------


def test_issuing_rejects_bad_parameters(chain_remainders: Chain) -> None:
    ca, issuer = chain_remainders.ca, modulus_bytes(chain_remainders.issuer)
    good: dict[str, Any] = {
        "issuer_modulus": issuer,
        "issuer_exponent": 3,
        "issuer_identifier": "476173",
        "expiry": "1228",
        "serial": b"\x00\x00\x01",
    }
    for change in (
        {"issuer_identifier": "47"},
        {"issuer_identifier": "47617390A"},
        {"expiry": "1328"},
        {"expiry": "128"},
        {"serial": b"\x01"},
        {"issuer_exponent": 5},
        {"issuer_modulus": b"\x01" * 177},
    ):
        with pytest.raises(CryptoError):
            issuer_certificate(ca, **{**good, **change})
    with pytest.raises(CryptoError):
        icc_certificate(
            chain_remainders.issuer,
            icc_modulus=modulus_bytes(generate_rsa_key(1024)),
            icc_exponent=3,
            pan="47617390010100101234",
            expiry="1227",
            serial=b"\x00\x00\x01",
            static_data=b"",
        )


# --- static data to be authenticated ------------------------------------------------------


def test_static_data_layout() -> None:
    data = static_data_to_authenticate(RECORDS, aip=bytes.fromhex("3980"))
    sfi1, sfi2, sfi11 = (record for _, record in RECORDS)
    assert data == sfi1[2:] + sfi2[2:] + sfi11 + bytes.fromhex("3980")
    assert static_data_to_authenticate(RECORDS, aip=None) == data[:-2]
    assert static_data_to_authenticate([], aip=None) == b""


def test_static_data_long_record_length_kept_as_received() -> None:
    record = bytes.fromhex("708103") + bytes.fromhex("5F2800")
    assert static_data_to_authenticate([(12, record)], aip=None) == record
    assert static_data_to_authenticate([(3, record)], aip=None) == bytes.fromhex("5F2800")


@pytest.mark.parametrize(
    ("sfi", "record"),
    [
        (11, bytes.fromhex("77035F2800")),  # SFI 11-30 must be a 70 template
        (1, bytes.fromhex("5F280208")),  # not a template at all
        (2, bytes.fromhex("70035F280208")),  # trailing byte after the template
        (3, bytes.fromhex("70055F28")),  # truncated
        (0, bytes.fromhex("70035F2800")),
        (31, bytes.fromhex("70035F2800")),
        (4, b""),
    ],
)
def test_static_data_invalid(sfi: int, record: bytes) -> None:
    with pytest.raises(OdaError) as caught:
        static_data_to_authenticate([(sfi, record)], aip=None)
    assert caught.value.failure is OdaFailure.STATIC_DATA_INVALID


def test_static_data_aip_must_be_two_bytes() -> None:
    with pytest.raises(OdaError) as caught:
        static_data_to_authenticate(RECORDS, aip=b"\x39")
    assert caught.value.failure is OdaFailure.STATIC_DATA_INVALID
