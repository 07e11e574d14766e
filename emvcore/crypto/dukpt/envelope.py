"""The sensitive data of an authorization under AES DUKPT: sealed by the terminal, opened by the host.

A terminal's data record carries the card's track 2 equivalent data (57), PAN or token (5A)
and expiry (5F24). On the wire those three are replaced by one template holding the KSN of
the transaction and their encipherment under that transaction's AES DUKPT keys
(ANSI X9.24-3-2017: both working keys derived from the one intermediate key of the KSN's
counter, 6.3.2)::

    FF71 len                       DUKPT-enciphered sensitive data template (private class)
      DF71 0C  KSN                 initial key ID (8) || transaction counter (4)
      DF72 len enciphered data     AES-CBC, IV zero, under the data-encryption key (usage 3000)
                                   of TLV(57) || TLV(5A) || TLV(5F24) (those present, in the
                                   record's order), padded by ISO/IEC 9797-1 method 2
      DF73 08  MAC                 AES-CMAC (NIST SP 800-38B) under the MAC-generation key
                                   (usage 2000) of KSN || enciphered data, its first 8 bytes

Both keys have the initial key's AES type (X9.24-3 6.2: a working key no stronger than its
derivation key). Every key serves one transaction, so the zero IV never repeats under a key;
the MAC is checked before anything is deciphered (encrypt-then-MAC), so a tampered or
replayed-with-edits template is refused without a padding oracle.

    >>> from emvcore.crypto.dukpt.aes import AesDukptDevice
    >>> from emvcore import tlv
    >>> bdk = bytes.fromhex("FEDCBA9876543210F1F1F1F1F1F1F1F1")
    >>> device = AesDukptDevice(derive_initial_key(bdk, bytes.fromhex("1234567890123456")),
    ...                         bytes.fromhex("1234567890123456"))
    >>> record = bytes.fromhex("5A0848953700123456785F24032812319F360200 2A".replace(" ", ""))
    >>> ksn, (data_key, mac_key) = device.next_transaction_keys(*transaction_key_specs(device))
    >>> sealed = seal(record, ksn, data_key, mac_key)
    >>> [hex(t.tag) for t in tlv.decode(sealed)]
    ['0x9f36', '0xff71']
    >>> opened = open_sealed(sealed, lambda ksn: bdk)
    >>> opened.ksn.counter, sorted(tlv.flatten(opened.record)) == sorted(tlv.flatten(record))
    (1, True)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from hmac import compare_digest

from emvcore import tlv
from emvcore.crypto.aes import AES_BLOCK_SIZE, aes_cbc_decrypt, aes_cbc_encrypt, aes_cmac
from emvcore.crypto.dukpt.aes import (
    KSN_LENGTH,
    AesDukptDevice,
    KeyType,
    KeyUsage,
    Ksn,
    derive_initial_key,
    derive_working_key,
)
from emvcore.errors import DukptEnvelopeError, TlvError

__all__ = [
    "ENCIPHERED_TAG",
    "KSN_TAG",
    "MAC_LENGTH",
    "MAC_TAG",
    "SENSITIVE_TAGS",
    "TEMPLATE_TAG",
    "Opened",
    "is_sealed",
    "key_specs",
    "open_sealed",
    "seal",
    "transaction_key_specs",
]

#: The tags enciphered: track 2 equivalent data, PAN (the token), application expiry date.
SENSITIVE_TAGS = (0x57, 0x5A, 0x5F24)
TEMPLATE_TAG = 0xFF71
KSN_TAG = 0xDF71
ENCIPHERED_TAG = 0xDF72
MAC_TAG = 0xDF73
MAC_LENGTH = 8
_ZERO_IV = bytes(AES_BLOCK_SIZE)


def transaction_key_specs(device: AesDukptDevice) -> tuple[tuple[KeyUsage, KeyType], ...]:
    """The working keys one sealed record needs: data encryption, then MAC generation."""
    return key_specs(device.key_type)


def key_specs(key_type: KeyType) -> tuple[tuple[KeyUsage, KeyType], ...]:
    """The (usage, type) of the data-encryption and the MAC key for derivation keys of a type."""
    return ((KeyUsage.DATA_ENCRYPT, key_type), (KeyUsage.MAC_GENERATION, key_type))


def _pad(data: bytes) -> bytes:
    """ISO/IEC 9797-1 padding method 2: 80, then zeros to a whole block."""
    padded = data + b"\x80"
    return padded + bytes(-len(padded) % AES_BLOCK_SIZE)


def _unpad(data: bytes) -> bytes:
    stripped = data.rstrip(b"\x00")
    if not stripped.endswith(b"\x80") or len(data) - len(stripped) >= AES_BLOCK_SIZE:
        raise DukptEnvelopeError("the deciphered sensitive data is not padded by ISO 9797-1 M2")
    return stripped[:-1]


def _mac(mac_key: bytes, ksn: bytes, enciphered: bytes) -> bytes:
    return aes_cmac(mac_key, ksn + enciphered)[:MAC_LENGTH]


def _decode(record: bytes) -> list[tlv.Tlv]:
    try:
        return tlv.decode(record)
    except TlvError as exc:
        raise DukptEnvelopeError(f"the data record is not BER-TLV: {exc}") from None


def seal(record: bytes, ksn: Ksn, data_key: bytes, mac_key: bytes) -> bytes:
    """The record with its sensitive tags replaced by the template (appended last).

    ``data_key`` and ``mac_key`` are the KSN's working keys of :func:`transaction_key_specs`,
    taken from the device (and its state saved) before this is called.
    """
    objects = _decode(record)
    sensitive = [o for o in objects if o.tag in SENSITIVE_TAGS]
    if not sensitive:
        raise DukptEnvelopeError("the data record holds none of the tags 57, 5A, 5F24 to seal")
    clear = b"".join(o.encode() for o in sensitive)
    enciphered = aes_cbc_encrypt(data_key, _ZERO_IV, _pad(clear))
    ksn_bytes = ksn.to_bytes()
    template = tlv.encode_many(
        [
            (KSN_TAG, ksn_bytes),
            (ENCIPHERED_TAG, enciphered),
            (MAC_TAG, _mac(mac_key, ksn_bytes, enciphered)),
        ]
    )
    kept = b"".join(o.encode() for o in objects if o.tag not in SENSITIVE_TAGS)
    return kept + tlv.encode(TEMPLATE_TAG, template)


@dataclass(frozen=True, slots=True)
class Opened:
    """A record with its sensitive tags in clear, and the KSN they came under (None: clear)."""

    record: bytes
    ksn: Ksn | None


def is_sealed(record: bytes) -> bool:
    """Whether the record carries the DUKPT template at its top level."""
    return any(o.tag == TEMPLATE_TAG for o in _decode(record))


def open_sealed(record: bytes, bdk_for: Callable[[Ksn], bytes]) -> Opened:
    """The host side: verify the MAC, decipher, put the sensitive tags back in clear.

    ``bdk_for(ksn)`` gives the base derivation key of the KSN's BDK ID (or raises). A record
    without the template is returned as it is, with ``ksn`` None: whether clear data is
    acceptable is the caller's decision. Raises :class:`DukptEnvelopeError` for anything
    malformed, a MAC that does not verify, or clear data that is not sensitive tags alone,
    and :class:`~emvcore.errors.DukptError` for a counter no device may use.
    """
    objects = _decode(record)
    templates = [o for o in objects if o.tag == TEMPLATE_TAG]
    if not templates:
        return Opened(record, None)
    if len(templates) > 1:
        raise DukptEnvelopeError("the data record holds the DUKPT template twice")
    if any(o.tag in SENSITIVE_TAGS for o in objects):
        raise DukptEnvelopeError("the data record holds sensitive tags both sealed and in clear")
    fields = _template_fields(templates[0].value)
    ksn_bytes, enciphered, mac = fields
    ksn = Ksn.from_bytes(ksn_bytes)
    bdk = bdk_for(ksn)
    key_type = KeyType.for_aes_key(bdk)
    initial_key = derive_initial_key(bdk, ksn.initial_key_id)
    (data_usage, data_type), (mac_usage, mac_type) = key_specs(key_type)
    mac_key = derive_working_key(initial_key, ksn, mac_usage, mac_type)
    if not compare_digest(_mac(mac_key, ksn_bytes, enciphered), mac):
        raise DukptEnvelopeError("the MAC of the DUKPT-enciphered data does not verify")
    data_key = derive_working_key(initial_key, ksn, data_usage, data_type)
    clear = _unpad(aes_cbc_decrypt(data_key, _ZERO_IV, enciphered))
    sensitive = _decode(clear)
    tags = [o.tag for o in sensitive]
    if not tags or any(t not in SENSITIVE_TAGS for t in tags) or len(set(tags)) != len(tags):
        raise DukptEnvelopeError("the deciphered data is not the tags 57, 5A, 5F24 alone")
    kept = b"".join(o.encode() for o in objects if o.tag != TEMPLATE_TAG)
    return Opened(kept + clear, ksn)


def _template_fields(value: bytes) -> tuple[bytes, bytes, bytes]:
    try:
        fields = {o.tag: o.value for o in tlv.decode(value)}
    except TlvError:
        raise DukptEnvelopeError("the DUKPT template is not BER-TLV") from None
    if set(fields) != {KSN_TAG, ENCIPHERED_TAG, MAC_TAG}:
        raise DukptEnvelopeError("the DUKPT template needs exactly DF71, DF72 and DF73")
    ksn, enciphered, mac = fields[KSN_TAG], fields[ENCIPHERED_TAG], fields[MAC_TAG]
    if len(ksn) != KSN_LENGTH or len(mac) != MAC_LENGTH:
        raise DukptEnvelopeError("the DUKPT template's KSN or MAC has the wrong length")
    if not enciphered or len(enciphered) % AES_BLOCK_SIZE:
        raise DukptEnvelopeError("the enciphered data is not whole AES blocks")
    return ksn, enciphered, mac
