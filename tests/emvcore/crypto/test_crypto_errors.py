"""Error paths: wrong lengths and parameters raise CryptoError, tampering fails verification."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from emvcore.crypto import (
    Padding,
    arpc_method_1,
    arpc_method_2,
    cryptogram_version,
    derive_common_sk,
    derive_icc_mk,
    derive_icc_mk_a,
    derive_icc_mk_b,
    derive_mastercard_sk,
    generate_ac,
    mac_iso9797_alg3,
    pad,
    verify_ac,
)
from emvcore.crypto.tdes import (
    adjust_parity,
    des_ecb_decrypt,
    des_ecb_encrypt,
    kcv,
    tdes_cbc_encrypt,
    tdes_ecb_decrypt,
    tdes_ecb_encrypt,
    tdes_key,
    xor,
)
from emvcore.errors import CryptoError, EmvError

pytestmark = pytest.mark.filterwarnings("error")

KEY = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
PAN = "5413330089600010"
ATC = bytes.fromhex("001C")
UN = bytes.fromhex("ABCDEF12")
ARQC = bytes.fromhex("1234567890ABCDEF")


def test_crypto_error_is_an_emv_error() -> None:
    assert issubclass(CryptoError, EmvError)


# --- tdes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [0, 7, 9, 15, 17, 23, 25, 32])
def test_tdes_key_lengths(length: int) -> None:
    with pytest.raises(CryptoError, match=f"not {length}"):
        tdes_key(bytes(length))


@pytest.mark.parametrize("length", [8, 16, 24])
def test_tdes_key_expands_to_24_bytes(length: int) -> None:
    key = bytes(range(length))
    expanded = tdes_key(key)
    assert len(expanded) == 24
    assert expanded[:8] == key[:8] and expanded[16:] == (key[16:] or key[:8])


@pytest.mark.parametrize(
    "function", [tdes_ecb_encrypt, tdes_ecb_decrypt, des_ecb_encrypt, des_ecb_decrypt]
)
def test_block_multiple(function: Callable[[bytes, bytes], bytes]) -> None:
    key = KEY[:8] if function in (des_ecb_encrypt, des_ecb_decrypt) else KEY
    with pytest.raises(CryptoError, match="multiple of 8"):
        function(key, bytes(9))


def test_single_des_needs_8_byte_key() -> None:
    with pytest.raises(CryptoError, match="8 bytes"):
        des_ecb_encrypt(KEY, bytes(8))


def test_single_des_is_tdes_with_repeated_key() -> None:
    block = bytes.fromhex("4E6F772069732074")
    assert des_ecb_encrypt(KEY[:8], block) == tdes_ecb_encrypt(KEY[:8] * 2, block)
    assert des_ecb_decrypt(KEY[:8], des_ecb_encrypt(KEY[:8], block)) == block


def test_cbc_iv_length() -> None:
    with pytest.raises(CryptoError, match="IV"):
        tdes_cbc_encrypt(KEY, bytes(7), bytes(8))


def test_kcv_length() -> None:
    with pytest.raises(CryptoError):
        kcv(KEY, 0)
    with pytest.raises(CryptoError):
        kcv(KEY, 9)


def test_xor_lengths() -> None:
    with pytest.raises(CryptoError):
        xor(b"\x00", b"\x00\x00")


def test_adjust_parity_every_byte_odd() -> None:
    adjusted = adjust_parity(bytes(range(256)))
    assert all(bin(b).count("1") % 2 == 1 for b in adjusted)
    assert all((a ^ b) & 0xFE == 0 for a, b in zip(adjusted, range(256), strict=True))


# --- mac ----------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [8, 24])
def test_mac_key_length(length: int) -> None:
    with pytest.raises(CryptoError, match="16-byte key"):
        mac_iso9797_alg3(bytes(length), b"data")


@pytest.mark.parametrize("length", [0, 3, 9])
def test_mac_length(length: int) -> None:
    with pytest.raises(CryptoError, match="4 to 8"):
        mac_iso9797_alg3(KEY, b"data", length=length)


def test_pad_block_size() -> None:
    with pytest.raises(CryptoError):
        pad(b"data", Padding.METHOD_1, 0)


@pytest.mark.parametrize("size", range(0, 25))
def test_pad_lengths(size: int) -> None:
    data = b"\xff" * size
    one = pad(data, Padding.METHOD_1)
    two = pad(data, Padding.METHOD_2)
    assert len(one) % 8 == 0 and len(two) % 8 == 0
    assert one.startswith(data) and set(one[size:]) <= {0}
    assert len(one) == max(8, -(-size // 8) * 8)
    assert two[size] == 0x80 and set(two[size + 1 :]) <= {0} and len(two) > size


# --- key derivation -------------------------------------------------------------------------


@pytest.mark.parametrize("derive", [derive_icc_mk_a, derive_icc_mk_b, derive_icc_mk])
@pytest.mark.parametrize(
    ("imk", "pan", "psn"),
    [
        (KEY[:8], PAN, "00"),
        (KEY + KEY[:8], PAN, "00"),
        (KEY, "", "00"),
        (KEY, "1" * 20, "00"),
        (KEY, "54133300896000l0", "00"),
        (KEY, PAN, "0"),
        (KEY, PAN, "0A"),
    ],
)
def test_master_key_derivation_rejects(
    derive: Callable[[bytes, str, str], bytes], imk: bytes, pan: str, psn: str
) -> None:
    with pytest.raises(CryptoError) as raised:
        derive(imk, pan, psn)
    message = str(raised.value)
    assert PAN not in message and imk.hex() not in message.lower()


def test_master_key_has_odd_parity() -> None:
    for derive in (derive_icc_mk_a, derive_icc_mk_b):
        assert all(bin(b).count("1") % 2 for b in derive(KEY, "1234567890123456789"))


def test_derive_icc_mk_chooses_option_by_pan_length() -> None:
    assert derive_icc_mk(KEY, PAN) == derive_icc_mk_a(KEY, PAN)
    long_pan = "1234567890123456789"
    assert derive_icc_mk(KEY, long_pan) == derive_icc_mk_b(KEY, long_pan)
    assert derive_icc_mk_b(KEY, long_pan) != derive_icc_mk_a(KEY, long_pan)


# --- session keys ---------------------------------------------------------------------------


@pytest.mark.parametrize("mk_length", [8, 24])
def test_session_key_master_key_length(mk_length: int) -> None:
    with pytest.raises(CryptoError, match="ICC master key"):
        derive_common_sk(bytes(mk_length), ATC)
    with pytest.raises(CryptoError, match="ICC master key"):
        derive_mastercard_sk(bytes(mk_length), ATC, UN)


@pytest.mark.parametrize("atc", [b"", b"\x01", b"\x00\x01\x02"])
def test_session_key_atc_length(atc: bytes) -> None:
    with pytest.raises(CryptoError, match="9F36"):
        derive_common_sk(KEY, atc)
    with pytest.raises(CryptoError, match="9F36"):
        derive_mastercard_sk(KEY, atc, UN)


@pytest.mark.parametrize("un", [b"", b"\x01\x02\x03", bytes(5)])
def test_mastercard_session_key_un_length(un: bytes) -> None:
    with pytest.raises(CryptoError, match="9F37"):
        derive_mastercard_sk(KEY, ATC, un)


# --- cryptograms and ARPC -----------------------------------------------------------------


def test_generate_ac_key_length() -> None:
    with pytest.raises(CryptoError):
        generate_ac(KEY[:8], b"data", Padding.METHOD_2)


def test_verify_ac_rejects_tampering() -> None:
    data = bytes(range(37))
    ac = generate_ac(KEY, data, Padding.METHOD_2)
    assert verify_ac(KEY, data, ac, Padding.METHOD_2)
    assert not verify_ac(KEY, data, ac, Padding.METHOD_1)
    assert not verify_ac(KEY, data[:-1] + b"\x00", ac, Padding.METHOD_2)
    for position in range(8):
        tampered = bytearray(ac)
        tampered[position] ^= 0x01
        assert not verify_ac(KEY, data, bytes(tampered), Padding.METHOD_2)


@pytest.mark.parametrize("length", [0, 4, 7, 9])
def test_verify_ac_length(length: int) -> None:
    with pytest.raises(CryptoError, match="8 bytes"):
        verify_ac(KEY, b"data", bytes(length), Padding.METHOD_2)


def test_arpc_lengths() -> None:
    with pytest.raises(CryptoError, match="ARPC key"):
        arpc_method_1(KEY[:8], ARQC, b"00")
    with pytest.raises(CryptoError, match="ARQC"):
        arpc_method_1(KEY, ARQC[:7], b"00")
    with pytest.raises(CryptoError, match="response code"):
        arpc_method_1(KEY, ARQC, b"000")
    with pytest.raises(CryptoError, match="card status update"):
        arpc_method_2(KEY, ARQC, bytes(3))
    with pytest.raises(CryptoError, match="proprietary"):
        arpc_method_2(KEY, ARQC, bytes(4), bytes(9))


# --- cryptogram versions --------------------------------------------------------------------


def test_unknown_cvn_lists_known_names() -> None:
    with pytest.raises(CryptoError, match=re.escape("'visa-cvn99'")) as raised:
        cryptogram_version("visa-cvn99")
    for name in ("visa-cvn10", "visa-cvn18", "mastercard-cvn16", "mastercard-cvn17"):
        assert name in str(raised.value)
