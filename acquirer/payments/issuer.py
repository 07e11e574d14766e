"""The issuer's side of an online authorization: read the card's data, check its ARQC, answer.

The terminal sends the EMV data record of the transaction (BER-TLV, EMV Book 3 Annex B).
:func:`parse_emv_data` pulls out what the issuer needs and checks it is well formed;
:class:`Issuer` verifies the Authorisation Request Cryptogram and computes the Issuer
Authentication Data (tag 91) that lets the card authenticate the answer:

1. find the issuer master key whose BIN range covers the PAN (here the token, a DPAN);
2. check the Cryptogram Version Number in the IAD (9F10) is the key's version, so a card
   cannot steer the issuer to a weaker algorithm;
3. derive the ICC master key from the IMK, PAN and PSN (EMV Book 2 Annex A1.4);
4. recompute the ARQC over the transaction data (EMV Book 2 section 8.1) and compare it
   with 9F26 in constant time;
5. only if it matched, compute the ARPC and tag 91 (EMV Book 2 section 8.2) carrying the
   decision: the Authorisation Response Code for method 1, the Card Status Update for
   method 2.

The cryptographic rules themselves live in :mod:`emvcore.crypto.cvn`; nothing here
re-implements them.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from acquirer.errors import EmvDataError, EmvDataIncompleteError
from emvcore import tlv
from emvcore.crypto.cvn import CryptogramVersion, cryptogram_version
from emvcore.errors import CryptoError, EmvError, TlvError
from emvcore.keyfile import IssuerKey, IssuerKeySet
from emvcore.numeric import decode_cn, decode_n
from emvcore.pan import parse_track2
from emvcore.tags import Tag, name

#: Tags every authorization must carry, with their exact lengths (``None``: any length).
#: The AC input of every supported cryptogram version starts with the EMV Book 2
#: section 8.1.1 minimum set (9F02 .. 9F36); 9F26, 9F27 and 9F10 are the card's answer.
MANDATORY_TAGS: Mapping[int, int | None] = MappingProxyType(
    {
        Tag.AMOUNT_AUTHORISED: 6,
        Tag.AMOUNT_OTHER: 6,
        Tag.TERMINAL_COUNTRY_CODE: 2,
        Tag.TVR: 5,
        Tag.TRANSACTION_CURRENCY_CODE: 2,
        Tag.TRANSACTION_DATE: 3,
        Tag.TRANSACTION_TYPE: 1,
        Tag.UNPREDICTABLE_NUMBER: 4,
        Tag.AIP: 2,
        Tag.ATC: 2,
        Tag.APPLICATION_CRYPTOGRAM: 8,
        Tag.CID: 1,
        Tag.IAD: None,
    }
)

#: Cryptogram Information Data (9F27) bits 8-7: the type of cryptogram (EMV Book 3 Table 14).
CID_TYPE_MASK = 0xC0
CID_ARQC = 0x80


@dataclass(frozen=True, slots=True)
class CardData:
    """What the issuer reads from one EMV data record.

    ``pan`` is the token (DPAN) the card carries; ``fields`` every primitive tag as received,
    the input to cryptogram verification. ``arqc`` is hidden from ``repr``: cryptograms do
    not belong in logs.
    """

    pan: str
    psn: str
    atc: int
    cid: int
    amount: int
    currency_numeric: int
    iad: bytes
    tvr: bytes
    """Terminal Verification Results (95), as the terminal set them (EMV Book 3 Annex C5)."""
    arqc: bytes = field(repr=False)
    fields: Mapping[int, bytes] = field(repr=False)

    @property
    def is_arqc(self) -> bool:
        """Whether the card asked to go online (CID bits 8-7 = 10, EMV Book 3 Table 14)."""
        return self.cid & CID_TYPE_MASK == CID_ARQC


def _tag_label(tag: int) -> str:
    return f"{tag:02X} ({name(tag)})"


def _digits(tag: int, value: bytes) -> int:
    try:
        return decode_n(value)
    except EmvError:
        raise EmvDataError(f"tag {_tag_label(tag)} is not numeric (format n)", tag=tag) from None


def _pan(fields: Mapping[int, bytes]) -> str:
    """The PAN from 5A (cn, F-padded), else from Track 2 Equivalent Data (57)."""
    if Tag.PAN in fields:
        try:
            digits = decode_cn(fields[Tag.PAN])
        except EmvError:
            raise EmvDataError(
                f"tag {_tag_label(Tag.PAN)} is not valid format cn", tag=Tag.PAN
            ) from None
        if not 12 <= len(digits) <= 19:
            raise EmvDataError(f"tag {_tag_label(Tag.PAN)} is not a 12-19 digit PAN", tag=Tag.PAN)
        return digits
    if Tag.TRACK2 in fields:
        try:
            pan = parse_track2(fields[Tag.TRACK2]).pan
        except EmvError:
            raise EmvDataError(
                f"tag {_tag_label(Tag.TRACK2)} is not valid track 2 data", tag=Tag.TRACK2
            ) from None
        if not (pan.isdigit() and 12 <= len(pan) <= 19):
            raise EmvDataError(
                f"tag {_tag_label(Tag.TRACK2)} holds no 12-19 digit PAN", tag=Tag.TRACK2
            )
        return pan
    raise EmvDataIncompleteError(
        f"the EMV data has neither tag {_tag_label(Tag.PAN)} nor tag {_tag_label(Tag.TRACK2)}",
        tag=Tag.PAN,
    )


def parse_emv_data(data: bytes) -> CardData:
    """Decode and check an EMV data record.

    :class:`EmvDataError` (with ``tag``/``offset``) when the TLV is malformed or a value has
    the wrong length or format; :class:`EmvDataIncompleteError` naming the first missing
    mandatory tag.
    """
    try:
        fields = tlv.flatten(data)
    except TlvError as exc:
        raise EmvDataError(
            f"the EMV data is not valid BER-TLV: {exc}", tag=exc.tag, offset=exc.offset
        ) from None
    for tag, length in MANDATORY_TAGS.items():
        if tag not in fields:
            raise EmvDataIncompleteError(f"the EMV data lacks tag {_tag_label(tag)}", tag=tag)
        if length is not None and len(fields[tag]) != length:
            raise EmvDataError(
                f"tag {_tag_label(tag)} must be {length} bytes long, not {len(fields[tag])}",
                tag=tag,
            )
    iad = fields[Tag.IAD]
    if not 1 <= len(iad) <= 32:
        raise EmvDataError(f"tag {_tag_label(Tag.IAD)} must be 1 to 32 bytes long", tag=Tag.IAD)
    psn = "00"
    if Tag.PSN in fields:
        if len(fields[Tag.PSN]) != 1:
            raise EmvDataError(f"tag {_tag_label(Tag.PSN)} must be 1 byte long", tag=Tag.PSN)
        psn = f"{_digits(Tag.PSN, fields[Tag.PSN]):02d}"
    return CardData(
        pan=_pan(fields),
        psn=psn,
        atc=int.from_bytes(fields[Tag.ATC], "big"),
        cid=fields[Tag.CID][0],
        amount=_digits(Tag.AMOUNT_AUTHORISED, fields[Tag.AMOUNT_AUTHORISED]),
        currency_numeric=_digits(
            Tag.TRANSACTION_CURRENCY_CODE, fields[Tag.TRANSACTION_CURRENCY_CODE]
        ),
        iad=iad,
        tvr=fields[Tag.TVR],
        arqc=fields[Tag.APPLICATION_CRYPTOGRAM],
        fields=MappingProxyType(fields),
    )


#: TVR byte 1 (EMV Book 3 Annex C5, Table 46): b7 "SDA failed", b4 "DDA failed", b3 "CDA
#: failed". (b8 "ODA not performed" is not a failure: a card without ODA support is
#: authenticated by its ARQC here.)
TVR1_ODA_FAILED = 0x40 | 0x08 | 0x04
#: TVR byte 2 b7: "Expired application" (the card's 5F24 is before the transaction date).
TVR2_EXPIRED_APPLICATION = 0x40


def oda_failed(tvr: bytes) -> bool:
    """Whether the terminal found offline data authentication failed (SDA, DDA or CDA).

    >>> oda_failed(bytes.fromhex("0400000000")), oda_failed(bytes.fromhex("8000000000"))
    (True, False)
    """
    return bool(tvr[0] & TVR1_ODA_FAILED)


def application_expired(tvr: bytes) -> bool:
    """Whether the terminal found the card's application expired.

    >>> application_expired(bytes.fromhex("0040000000")), application_expired(bytes(5))
    (True, False)
    """
    return bool(tvr[1] & TVR2_EXPIRED_APPLICATION)


@dataclass(frozen=True, slots=True)
class VerifiedArqc:
    """An ARQC that verified: holds what tag 91 needs. ``repr`` hides the card key."""

    card: CardData
    version: CryptogramVersion
    icc_mk: bytes = field(repr=False)

    def issuer_authentication_data(self, *, approved: bool, response_code: str) -> bytes:
        """The value of tag 91 answering this ARQC (EMV Book 2 section 8.2).

        ``response_code`` is the 2-character ISO 8583 response code, sent to the card as the
        Authorisation Response Code (tag 8A, an2: two ASCII bytes).
        """
        return self.version.issuer_authentication_data(
            self.icc_mk,
            self.card.fields,
            self.card.arqc,
            approved=approved,
            arc=response_code.encode("ascii"),
        )


#: ICC master keys kept per process (one entry per card recently seen; ~200 bytes each).
ICC_MK_CACHE = 65_536


class Issuer:
    """Verifies ARQCs with the issuer master keys of one key file."""

    def __init__(self, keys: IssuerKeySet) -> None:
        self._keys = keys
        # A card's ICC master key is fixed (IMK, PAN, PSN): derived once per card, not once
        # per tap. Holding derived keys in memory exposes nothing the IMK beside them does not.
        self._icc_mk = functools.lru_cache(maxsize=ICC_MK_CACHE)(_derive_icc_mk)

    @property
    def test_keys(self) -> bool:
        """Whether the key file is marked as holding test keys."""
        return self._keys.test_keys

    def key_for(self, pan: str) -> IssuerKey:
        """The issuer key covering ``pan``; ``IssuerKeyNotFoundError`` if none does."""
        return self._keys.for_pan(pan)

    def verify_arqc(self, card: CardData, key: IssuerKey) -> VerifiedArqc | None:
        """Check the card's ARQC; ``None`` when it does not verify.

        A CVN in 9F10 other than the key's version, or an IAD too short for that version,
        counts as a failed cryptogram: the issuer cannot authenticate that card.
        """
        version = cryptogram_version(key.cvn)
        try:
            if version.cvn_of_iad(card.iad) != version.cvn:
                return None
            icc_mk = self._icc_mk(version, key.imk_ac, card.pan, card.psn)
            if not version.verify_ac(icc_mk, card.fields, card.arqc):
                return None
        except CryptoError:
            return None
        return VerifiedArqc(card, version, icc_mk)


def _derive_icc_mk(version: CryptogramVersion, imk: bytes, pan: str, psn: str) -> bytes:
    return version.derive_icc_mk(imk, pan, psn)
