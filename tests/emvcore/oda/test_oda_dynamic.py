"""DDA, fDDA and CDA: the card signs, the terminal verifies; each failure provoked."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from emvcore.errors import CryptoError, OdaError
from emvcore.oda import _recovery as rec
from emvcore.oda.dynamic import (
    cda_icc_dynamic_data,
    cda_response_data,
    cda_transaction_data_hash,
    fdda_icc_dynamic_data,
    fdda_terminal_data,
    icc_dynamic_number,
    recover_dynamic_data,
    sign_dynamic_data,
    verify_cda,
)
from emvcore.oda.failures import OdaFailure
from emvcore.oda.rsa import rsa_public
from tests.emvcore.oda.support import Chain, forge

pytestmark = pytest.mark.filterwarnings("error")

UN = bytes.fromhex("1A2B3C4D")
IDN = bytes.fromhex("A1B2C3D4E5F60718")
CARD_AUTH = bytes.fromhex("01CAFEBABE8000")
AC = bytes.fromhex("0123456789ABCDEF")


def fdda_data() -> bytes:
    return fdda_terminal_data(
        unpredictable_number=UN,
        amount=bytes.fromhex("000000001250"),
        currency=bytes.fromhex("0978"),
        card_authentication_related_data=CARD_AUTH,
    )


def failure_of(call: Callable[..., object], *args: Any, **kwargs: Any) -> OdaFailure:
    with pytest.raises(OdaError) as caught:
        call(*args, **kwargs)
    return caught.value.failure


# --- DDA / fDDA ---------------------------------------------------------------------------


def test_fdda_round_trip(chain: Chain) -> None:
    icc = chain.icc_key()
    idd = fdda_icc_dynamic_data(IDN[:2])
    sdad = sign_dynamic_data(chain.icc, idd, fdda_data())
    assert len(sdad) == 128
    recovered = recover_dynamic_data(icc, sdad, fdda_data())
    assert recovered == bytes.fromhex("02A1B2") and icc_dynamic_number(recovered) == IDN[:2]


def test_fdda_terminal_data_layout() -> None:
    assert fdda_data() == UN + bytes.fromhex("000000001250") + bytes.fromhex("0978") + CARD_AUTH


def test_dda_round_trip_with_the_longest_dynamic_data(chain: Chain) -> None:
    idd = bytes(range(128 - 25))
    sdad = sign_dynamic_data(chain.icc, idd, b"DDOL values")
    assert recover_dynamic_data(chain.icc_key(), sdad, b"DDOL values") == idd
    with pytest.raises(CryptoError):
        sign_dynamic_data(chain.icc, idd + b"\x00", b"")


def test_sdad_failures(chain: Chain) -> None:
    icc = chain.icc_key()
    sdad = sign_dynamic_data(chain.icc, fdda_icc_dynamic_data(IDN), fdda_data())
    assert failure_of(recover_dynamic_data, icc, None, fdda_data()) is OdaFailure.SDAD_MISSING
    assert failure_of(recover_dynamic_data, icc, b"", fdda_data()) is OdaFailure.SDAD_MISSING
    for bad in (sdad[:-1], sdad + b"\x00", b"\xff" * 128, sdad[:5] + b"\x00" + sdad[6:]):
        assert failure_of(recover_dynamic_data, icc, bad, fdda_data()) is OdaFailure.SDAD_FORMAT
    # Wrong terminal dynamic data: another UN, another amount.
    other = fdda_terminal_data(
        unpredictable_number=UN,
        amount=bytes.fromhex("000000001251"),
        currency=bytes.fromhex("0978"),
        card_authentication_related_data=CARD_AUTH,
    )
    assert failure_of(recover_dynamic_data, icc, sdad, other) is OdaFailure.SDAD_HASH
    assert failure_of(recover_dynamic_data, icc, sdad, b"") is OdaFailure.SDAD_HASH


def test_sdad_signed_by_another_key(chain_remainders: Chain, chain_fits: Chain) -> None:
    sdad = sign_dynamic_data(chain_fits.icc, fdda_icc_dynamic_data(IDN), b"")
    assert (
        failure_of(recover_dynamic_data, chain_remainders.icc_key(), sdad, b"")
        is OdaFailure.SDAD_FORMAT
    )


@pytest.mark.parametrize(
    "body",
    [
        bytes([0x95, 0x01, 0x02, 0x12, 0x34]),  # signed data format 95, not 05
        bytes([0x05, 0x02, 0x02, 0x12, 0x34]),  # hash algorithm 02
        bytes([0x05, 0x01, 0x68, 0x12, 0x34]),  # L_DD 104 > room of 103
    ],
    ids=["format", "hash-algorithm", "length"],
)
def test_sdad_format_fields(chain_remainders: Chain, body: bytes) -> None:
    sdad = forge(chain_remainders.icc, body.ljust(128 - 22, b"\xbb"), b"")
    icc = chain_remainders.icc_key()
    assert failure_of(recover_dynamic_data, icc, sdad, b"") is OdaFailure.SDAD_FORMAT


def test_fdda_card_authentication_related_data() -> None:
    for bad in (b"", bytes.fromhex("00CAFEBABE8000"), bytes.fromhex("01CAFE"), bytes(17)):
        with pytest.raises(OdaError) as caught:
            fdda_terminal_data(
                unpredictable_number=UN,
                amount=bytes(6),
                currency=bytes(2),
                card_authentication_related_data=bad,
            )
        assert caught.value.failure is OdaFailure.SDAD_FORMAT
    with pytest.raises(CryptoError):
        fdda_terminal_data(
            unpredictable_number=UN[:3],
            amount=bytes(6),
            currency=bytes(2),
            card_authentication_related_data=CARD_AUTH,
        )


@pytest.mark.parametrize("data", [b"", b"\x01\x12", b"\x09" + bytes(9), b"\x04\x12\x34"])
def test_icc_dynamic_number_format(data: bytes) -> None:
    assert failure_of(icc_dynamic_number, data) is OdaFailure.SDAD_FORMAT


@pytest.mark.parametrize("number", [b"\x01", bytes(9)])
def test_icc_dynamic_number_length_when_signing(number: bytes) -> None:
    with pytest.raises(CryptoError):
        fdda_icc_dynamic_data(number)


# --- CDA ----------------------------------------------------------------------------------

PDOL_DATA = bytes.fromhex("3600C0000000000012500978")
CDOL1_DATA = bytes.fromhex("00000000125000000000000009781A2B3C4D")
RESPONSE = bytes.fromhex("9F2701809F360200 2A9F10120110A00003220000000000000000000000FF")


def cda_signature(chain: Chain, cid: int = 0x80, un: bytes = UN) -> tuple[bytes, bytes]:
    tdhc = cda_transaction_data_hash(PDOL_DATA, CDOL1_DATA, RESPONSE)
    idd = cda_icc_dynamic_data(icc_dynamic_number=IDN, cid=cid, ac=AC, transaction_data_hash=tdhc)
    return sign_dynamic_data(chain.icc, idd, un), tdhc


def test_cda_round_trip(chain: Chain) -> None:
    sdad, tdhc = cda_signature(chain)
    result = verify_cda(
        chain.icc_key(), sdad, unpredictable_number=UN, cid=0x80, transaction_data_hash=tdhc
    )
    assert (result.icc_dynamic_number, result.cid, result.ac) == (IDN, 0x80, AC)


def test_cda_transaction_data_hash_is_sha1_of_the_three() -> None:
    expected = hashlib.sha1(PDOL_DATA + CDOL1_DATA + RESPONSE).digest()
    assert cda_transaction_data_hash(PDOL_DATA, CDOL1_DATA, RESPONSE) == expected


def test_cda_response_data_keeps_the_received_encoding() -> None:
    # 9F36 with a long-form length (81 02) stays as the card sent it; 9F4B and padding go.
    template = bytes.fromhex("9F2701809F36 81 02 002A 00 9F4B03AABBCC 9F2608") + AC
    assert cda_response_data(template) == bytes.fromhex("9F2701809F368102002A9F2608") + AC
    assert failure_of(cda_response_data, bytes.fromhex("9F2705")) is OdaFailure.SDAD_FORMAT


def test_cda_cid_mismatch(chain: Chain) -> None:
    sdad, tdhc = cda_signature(chain, cid=0x40)
    failure = failure_of(
        verify_cda,
        chain.icc_key(),
        sdad,
        unpredictable_number=UN,
        cid=0x80,
        transaction_data_hash=tdhc,
    )
    assert failure is OdaFailure.CDA_MISMATCH


def test_cda_wrong_unpredictable_number(chain: Chain) -> None:
    sdad, tdhc = cda_signature(chain, un=bytes.fromhex("00000000"))
    failure = failure_of(
        verify_cda,
        chain.icc_key(),
        sdad,
        unpredictable_number=UN,
        cid=0x80,
        transaction_data_hash=tdhc,
    )
    assert failure is OdaFailure.SDAD_HASH


def test_cda_wrong_transaction_data_hash(chain: Chain) -> None:
    sdad, _ = cda_signature(chain)
    other = cda_transaction_data_hash(PDOL_DATA, CDOL1_DATA, RESPONSE + b"\x00")
    failure = failure_of(
        verify_cda,
        chain.icc_key(),
        sdad,
        unpredictable_number=UN,
        cid=0x80,
        transaction_data_hash=other,
    )
    assert failure is OdaFailure.SDAD_HASH


def test_cda_missing_and_malformed(chain: Chain) -> None:
    icc, tdhc = chain.icc_key(), bytes(20)
    kwargs = {"unpredictable_number": UN, "cid": 0x80, "transaction_data_hash": tdhc}
    assert failure_of(verify_cda, icc, None, **kwargs) is OdaFailure.SDAD_MISSING
    # A DDA-style signature (dynamic number only) is not CDA dynamic data.
    dda = sign_dynamic_data(chain.icc, fdda_icc_dynamic_data(IDN), UN)
    assert failure_of(verify_cda, icc, dda, **kwargs) is OdaFailure.SDAD_FORMAT
    sdad, _ = cda_signature(chain)
    assert failure_of(verify_cda, icc, sdad[1:], **kwargs) is OdaFailure.SDAD_FORMAT


def test_cda_icc_dynamic_data_layout() -> None:
    tdhc = bytes(range(20))
    idd = cda_icc_dynamic_data(
        icc_dynamic_number=IDN[:4], cid=0x80, ac=AC, transaction_data_hash=tdhc
    )
    assert idd == b"\x04" + IDN[:4] + b"\x80" + AC + tdhc
    for bad in ({"cid": 256}, {"ac": AC[:7]}, {"transaction_data_hash": tdhc[:19]}):
        args: dict[str, Any] = {
            "icc_dynamic_number": IDN,
            "cid": 0x80,
            "ac": AC,
            "transaction_data_hash": tdhc,
        }
        with pytest.raises(CryptoError):
            cda_icc_dynamic_data(**{**args, **bad})


def test_recovered_layout_table_17(chain_remainders: Chain) -> None:
    sdad = sign_dynamic_data(chain_remainders.icc, b"\x02\x12\x34", b"")
    icc = chain_remainders.icc_key()
    block = rsa_public(sdad, icc.modulus, icc.exponent)
    assert block[:7] == bytes.fromhex("6A 05 01 03 021234")  # header, format, hash alg, L_DD
    assert set(block[7 : -1 - rec.HASH_LENGTH]) == {0xBB} and block[-1] == 0xBC
