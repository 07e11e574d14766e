"""The sealed sensitive data of an authorization (emvcore.crypto.dukpt.envelope)."""

from __future__ import annotations

import pytest

from emvcore import tlv
from emvcore.crypto.aes import aes_cbc_decrypt
from emvcore.crypto.dukpt.aes import (
    AesDukptDevice,
    KeyType,
    KeyUsage,
    Ksn,
    derive_initial_key,
    host_derive_working_key,
)
from emvcore.crypto.dukpt.envelope import (
    ENCIPHERED_TAG,
    KSN_TAG,
    MAC_TAG,
    TEMPLATE_TAG,
    is_sealed,
    open_sealed,
    seal,
    transaction_key_specs,
)
from emvcore.errors import DukptEnvelopeError, DukptError

BDK = bytes.fromhex("FEDCBA9876543210F1F1F1F1F1F1F1F1")
IKID = bytes.fromhex("1234567890123456")
PAN = bytes.fromhex("4895370012345678")
RECORD = tlv.encode_many(
    [
        (0x9F36, b"\x00\x2a"),
        (0x5A, PAN),
        (0x57, bytes.fromhex("4895370012345678D28122011234")),
        (0x5F24, bytes.fromhex("281231")),
        (0x9F26, bytes(8)),
    ]
)


def _sealed(device: AesDukptDevice | None = None) -> tuple[bytes, Ksn]:
    device = device or AesDukptDevice(derive_initial_key(BDK, IKID), IKID)
    ksn, (data_key, mac_key) = device.next_transaction_keys(*transaction_key_specs(device))
    return seal(RECORD, ksn, data_key, mac_key), ksn


def _template(sealed: bytes) -> dict[int, bytes]:
    (template,) = [o for o in tlv.decode(sealed) if o.tag == TEMPLATE_TAG]
    return {o.tag: o.value for o in tlv.decode(template.value)}


def _with_template(sealed: bytes, fields: dict[int, bytes]) -> bytes:
    kept = b"".join(o.encode() for o in tlv.decode(sealed) if o.tag != TEMPLATE_TAG)
    return kept + tlv.encode(TEMPLATE_TAG, tlv.encode_many(list(fields.items())))


def test_the_sensitive_tags_leave_the_record_and_come_back() -> None:
    sealed, ksn = _sealed()
    assert PAN not in sealed and is_sealed(sealed) and not is_sealed(RECORD)
    assert {o.tag for o in tlv.decode(sealed)} == {0x9F36, 0x9F26, TEMPLATE_TAG}
    opened = open_sealed(sealed, lambda _ksn: BDK)
    assert opened.ksn == ksn
    assert tlv.flatten(opened.record) == tlv.flatten(RECORD)


def test_the_data_key_is_the_published_x9_24_3_working_key_of_the_ksn() -> None:
    # Counter 1, usage 3000 (data encryption), AES-128: X9.24-3-2017 test vector
    # A35C412EFD41FDB98B69797C02DCD08F (see emvcore.crypto.dukpt.aes).
    sealed, ksn = _sealed()
    key = host_derive_working_key(BDK, ksn, KeyUsage.DATA_ENCRYPT, KeyType.AES128)
    assert key.hex().upper() == "A35C412EFD41FDB98B69797C02DCD08F"
    clear = aes_cbc_decrypt(key, bytes(16), _template(sealed)[ENCIPHERED_TAG])
    assert clear.startswith(tlv.encode(0x5A, PAN))


def test_a_record_in_clear_is_returned_as_it_is_with_no_ksn() -> None:
    opened = open_sealed(RECORD, lambda _ksn: BDK)
    assert opened.ksn is None and opened.record == RECORD


@pytest.mark.parametrize("field", [ENCIPHERED_TAG, MAC_TAG, KSN_TAG])
def test_a_flipped_bit_anywhere_in_the_template_is_refused(field: int) -> None:
    sealed, _ = _sealed()
    fields = _template(sealed)
    value = bytearray(fields[field])
    value[-1] ^= 0x01
    fields[field] = bytes(value)
    with pytest.raises(DukptError):  # the MAC (or, for the KSN, its counter) refuses it
        open_sealed(_with_template(sealed, fields), lambda _ksn: BDK)


def test_another_bdk_does_not_open_it() -> None:
    sealed, _ = _sealed()
    with pytest.raises(DukptEnvelopeError, match="MAC"):
        open_sealed(sealed, lambda _ksn: bytes(16))


def test_sealed_and_clear_sensitive_tags_together_are_refused() -> None:
    sealed, _ = _sealed()
    with pytest.raises(DukptEnvelopeError, match="both"):
        open_sealed(sealed + tlv.encode(0x5A, PAN), lambda _ksn: BDK)


def test_a_template_missing_its_mac_is_refused() -> None:
    sealed, _ = _sealed()
    fields = _template(sealed)
    del fields[MAC_TAG]
    with pytest.raises(DukptEnvelopeError, match="DF73"):
        open_sealed(_with_template(sealed, fields), lambda _ksn: BDK)


def test_a_record_without_sensitive_tags_cannot_be_sealed() -> None:
    device = AesDukptDevice(derive_initial_key(BDK, IKID), IKID)
    ksn, (data_key, mac_key) = device.next_transaction_keys(*transaction_key_specs(device))
    with pytest.raises(DukptEnvelopeError):
        seal(tlv.encode(0x9F36, b"\x00\x01"), ksn, data_key, mac_key)


def test_a_restored_device_continues_where_the_saved_one_stopped() -> None:
    device = AesDukptDevice(derive_initial_key(BDK, IKID), IKID)
    _sealed(device)
    again = AesDukptDevice.restore(IKID, device.intermediate_keys, device.ksn.counter)
    _, ksn = _sealed(again)
    assert ksn.counter == 2
    assert open_sealed(_sealed(again)[0], lambda _ksn: BDK).ksn == Ksn(IKID, 3)
