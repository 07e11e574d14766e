"""AES DUKPT refusals: lengths, key strength, usages; none of them spends a counter."""

from __future__ import annotations

import pytest

from emvcore.crypto.dukpt.aes import (
    AesDukptDevice,
    KeyType,
    KeyUsage,
    Ksn,
    derive_initial_key,
    derive_working_key,
    host_derive_working_key,
)
from emvcore.errors import CryptoError, DukptError, DukptExhaustedError

pytestmark = pytest.mark.filterwarnings("error")

BDK = bytes.fromhex("FEDCBA9876543210F1F1F1F1F1F1F1F1")
IKID = bytes.fromhex("1234567890123456")
IK = bytes.fromhex("1273671EA26AC29AFA4D1084127652A1")


def test_dukpt_errors_are_crypto_errors() -> None:
    assert issubclass(DukptExhaustedError, DukptError)
    assert issubclass(DukptError, CryptoError)


@pytest.mark.parametrize("length", [0, 8, 15, 17, 31, 33])
def test_bdk_lengths(length: int) -> None:
    with pytest.raises(DukptError, match=f"not {length}"):
        derive_initial_key(bytes(length), IKID)


@pytest.mark.parametrize("length", [7, 9, 12])
def test_initial_key_id_and_ksn_lengths(length: int) -> None:
    with pytest.raises(DukptError):
        derive_initial_key(BDK, bytes(length))
    with pytest.raises(DukptError, match="12 bytes"):
        Ksn.from_bytes(bytes(length + 1 if length == 12 else length))


@pytest.mark.parametrize(
    ("initial_key", "key_type"),
    [
        (IK, KeyType.AES192),
        (IK, KeyType.AES256),
        (IK, KeyType.HMAC256),
        (bytes(24), KeyType.AES256),
    ],
)
def test_working_key_stronger_than_its_derivation_key(
    initial_key: bytes, key_type: KeyType
) -> None:
    with pytest.raises(DukptError, match="stronger"):
        derive_working_key(initial_key, Ksn(IKID, 1), KeyUsage.PIN_ENCRYPTION, key_type)


@pytest.mark.parametrize("key_type", list(KeyType))
def test_aes256_derives_every_key_type_at_its_length(key_type: KeyType) -> None:
    key = derive_working_key(bytes(32), Ksn(IKID, 1), KeyUsage.MAC_BOTH_WAYS, key_type)
    assert len(key) == key_type.length


@pytest.mark.parametrize("usage", [KeyUsage.KEY_DERIVATION, KeyUsage.KEY_DERIVATION_INITIAL_KEY])
def test_derivation_usages_are_not_working_keys(usage: KeyUsage) -> None:
    with pytest.raises(DukptError, match="not a working key usage"):
        host_derive_working_key(BDK, Ksn(IKID, 1), usage, KeyType.AES128)


def test_device_refusals_do_not_spend_a_counter() -> None:
    device = AesDukptDevice(IK, IKID)
    with pytest.raises(DukptError):
        device.next_working_key(KeyUsage.PIN_ENCRYPTION, KeyType.AES256)
    with pytest.raises(DukptError):
        device.next_working_key(KeyUsage.KEY_DERIVATION, KeyType.AES128)
    ksn, _ = device.next_working_key(KeyUsage.PIN_ENCRYPTION, KeyType.AES128)
    assert ksn.counter == 1


def test_device_never_shows_its_keys() -> None:
    device = AesDukptDevice(IK, IKID)
    _, key = device.next_working_key(KeyUsage.PIN_ENCRYPTION, KeyType.AES128)
    shown = repr(device)
    assert "123456789012345600000002" in shown
    assert IK.hex().upper() not in shown.upper() and key.hex().upper() not in shown.upper()
    assert all(
        register is None or register.hex() not in shown.lower()
        for register in device.intermediate_keys
    )


def test_tdes_working_keys_from_an_aes128_bdk_have_their_length() -> None:
    for key_type in (KeyType.TDES2, KeyType.TDES3):
        key = host_derive_working_key(BDK, Ksn(IKID, 1), KeyUsage.PIN_ENCRYPTION, key_type)
        assert len(key) == key_type.length
