"""Cryptogram versions: one object per CVN holding every choice the cryptogram depends on.

A Cryptogram Version Number (CVN), carried in the Issuer Application Data (tag 9F10),
fixes how a card computes its application cryptogram and checks the issuer's answer:

=======================  ========  =============  =======  ==================  ==========
version (CVN byte)       MK, A1.4  AC key         padding  IAD part MACed      ARPC
=======================  ========  =============  =======  ==================  ==========
visa-cvn10 (0A)          option A  ICC MK itself  1        bytes 4-7 (03 CVR)  1, ICC MK
visa-cvn18 (12)          option B  EMV common SK  2        the whole IAD       2, session
mastercard-cvn16 (10)    option A  Mastercard SK  2        bytes 3-8 (CVR)     1, ICC MK
mastercard-cvn17 (11)    option A  Mastercard SK  2        CVR, bytes 11-18    1, ICC MK
=======================  ========  =============  =======  ==================  ==========

IAD byte numbers are 1-based, as in the specifications.

The AC data is the Book 2 section 8.1.1 minimum set, 9F02 9F03 9F1A 95 5F2A 9A 9C 9F37
82 9F36 in that order, followed by the version's part of the IAD. These rules are those
of the Visa Integrated Circuit Card Specification (VIS) and of Mastercard M/Chip 4 and
M/Chip Advance, as implemented and HSM-tested by pyemv (``pyemv/cvn.py``), against which
this module is tested.

Transaction data is a mapping from tag number to raw value, e.g. ``{0x9F36: b"\\x00\\x1c"}``.

    >>> cvn18 = cryptogram_version("visa-cvn18")
    >>> icc_mk = cvn18.derive_icc_mk(bytes.fromhex("0123456789ABCDEFFEDCBA9876543210"),
    ...                              "1234567890123456")
    >>> data = {0x9F02: bytes.fromhex("000000004000"), 0x9F03: bytes(6),
    ...         0x9F1A: bytes.fromhex("0124"), 0x95: bytes.fromhex("8000048000"),
    ...         0x5F2A: bytes.fromhex("0124"), 0x9A: bytes.fromhex("191105"),
    ...         0x9C: b"\\x01", 0x9F37: bytes.fromhex("52BF4585"), 0x82: bytes.fromhex("1800"),
    ...         0x9F36: bytes.fromhex("001C"), 0x9F10: bytes.fromhex("06011203A0B800")}
    >>> arqc = cvn18.generate_ac(icc_mk, data)
    >>> arqc.hex().upper()
    '7A788EA6B8A3E733'
    >>> tag_91 = cvn18.issuer_authentication_data(icc_mk, data, arqc, approved=True,
    ...                                           arc=b"00")
    >>> tag_91.hex().upper()
    'ACCCAF0800800000'
    >>> cvn18.verify_issuer_authentication_data(icc_mk, data, arqc, tag_91)
    True
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType

from emvcore.crypto import cryptogram
from emvcore.crypto.arpc import arpc_method_1, arpc_method_2
from emvcore.crypto.kd import derive_icc_mk, derive_icc_mk_a
from emvcore.crypto.mac import Padding
from emvcore.crypto.session import derive_common_sk, derive_mastercard_sk
from emvcore.errors import CryptoError

__all__ = [
    "CRYPTOGRAM_VERSIONS",
    "AcIadData",
    "ArpcKey",
    "CryptogramVersion",
    "IadFormat",
    "MasterKeyDerivation",
    "SessionKeyMethod",
    "cryptogram_version",
]

TAG_ATC = 0x9F36
TAG_UN = 0x9F37
TAG_IAD = 0x9F10

# EMV Book 2 section 8.1.1, Table 26: the recommended minimum AC data, in order.
_AC_TAGS: tuple[tuple[int, int], ...] = (
    (0x9F02, 6),  # Amount, Authorised
    (0x9F03, 6),  # Amount, Other
    (0x9F1A, 2),  # Terminal Country Code
    (0x95, 5),  # Terminal Verification Results
    (0x5F2A, 2),  # Transaction Currency Code
    (0x9A, 3),  # Transaction Date
    (0x9C, 1),  # Transaction Type
    (TAG_UN, 4),  # Unpredictable Number
    (0x82, 2),  # Application Interchange Profile
    (TAG_ATC, 2),  # Application Transaction Counter
)
_IAD_MAX = 32  # tag 9F10 is b, 1 to 32 bytes (EMV Book 3 Annex A)

# Card Status Update (EMV Book 3 Annex C, CCD Table CCD 11; VIS 1.6 Appendix):
# byte 2 bit 8 set = "Issuer approves online transaction".
_CSU_APPROVED = bytes.fromhex("00800000")
_CSU_DECLINED = bytes.fromhex("00000000")


class SessionKeyMethod(Enum):
    """How the AC key is derived from the ICC master key."""

    NONE = "none"  # the ICC master key itself (Visa CVN 10)
    EMV_COMMON = "emv-common"  # Book 2 A1.3.1, R = ATC || 00*6
    MASTERCARD = "mastercard"  # A1.3.1 construction, R = ATC || 00 00 || UN


class ArpcKey(Enum):
    """Which key computes the ARPC."""

    SESSION = "session"  # the AC session key
    CARD_MASTER = "card-master"  # the ICC master key (for AC)


class MasterKeyDerivation(Enum):
    """How the ICC master key is derived from the issuer master key (Book 2 A1.4)."""

    OPTION_A = "option-a"  # A1.4.1 for every PAN length
    OPTION_B = "option-b"  # A1.4.2: option A up to 16 digits, SHA-1 based beyond


class IadFormat(Enum):
    """The layout of the Issuer Application Data (9F10) of a card of this version."""

    VISA = "visa"  # 06 DKI CVN | 03 CVR(3) [| IDD length | IDD]
    MCHIP = "m-chip"  # DKI CVN | CVR(6) | DAC/IDN(2) | counters(8)


class AcIadData(Enum):
    """Which part of the IAD is appended to the AC data after the ATC."""

    CVR = "cvr"  # Visa: IAD bytes 4-7 (03 + CVR); M/Chip: IAD bytes 3-8
    WHOLE = "whole"  # the whole IAD as received
    CVR_AND_COUNTERS = "cvr-and-counters"  # M/Chip: IAD bytes 3-8 then bytes 11-18


def _tag(data: Mapping[int, bytes], tag: int, length: int | None = None) -> bytes:
    try:
        value = data[tag]
    except KeyError:
        raise CryptoError(f"tag {tag:02X} is missing from the transaction data") from None
    if length is not None and len(value) != length:
        raise CryptoError(f"tag {tag:02X} must be {length} bytes long, not {len(value)}")
    return value


def _iad_slice(iad: bytes, start: int, stop: int, what: str) -> bytes:
    if len(iad) < stop:
        raise CryptoError(
            f"tag 9F10 is {len(iad)} bytes long, too short to hold the {what} "
            f"at bytes {start + 1}-{stop}"
        )
    return iad[start:stop]


@dataclass(frozen=True, slots=True)
class CryptogramVersion:
    """Every choice a cryptogram version makes, from master key derivation to tag 91.

    The fields after ``arpc_key`` (``master_key``, ``iad_format``, ``ac_iad_data``) say how
    the ICC master key is derived and where the CVN, CVR and counters sit in tag 9F10.
    Use :func:`cryptogram_version` to get the registered versions.
    """

    name: str
    cvn: int
    session_key: SessionKeyMethod
    padding: Padding
    arpc_method: int
    arpc_key: ArpcKey
    master_key: MasterKeyDerivation
    iad_format: IadFormat
    ac_iad_data: AcIadData

    def __post_init__(self) -> None:
        if not 0 <= self.cvn <= 0xFF:
            raise CryptoError(f"a CVN is one byte, not {self.cvn}")
        if self.arpc_method not in (1, 2):
            raise CryptoError(f"the ARPC method is 1 or 2, not {self.arpc_method}")

    def derive_icc_mk(self, imk: bytes, pan: str, psn: str = "00") -> bytes:
        """The ICC master key for AC of a card of this version (EMV Book 2 A1.4)."""
        if self.master_key is MasterKeyDerivation.OPTION_A:
            return derive_icc_mk_a(imk, pan, psn)
        return derive_icc_mk(imk, pan, psn)

    def ac_key(self, icc_mk: bytes, data: Mapping[int, bytes]) -> bytes:
        """The AC key: a session key from ATC (9F36) [and UN (9F37)], or ``icc_mk`` itself."""
        if self.session_key is SessionKeyMethod.EMV_COMMON:
            return derive_common_sk(icc_mk, _tag(data, TAG_ATC, 2))
        if self.session_key is SessionKeyMethod.MASTERCARD:
            return derive_mastercard_sk(icc_mk, _tag(data, TAG_ATC, 2), _tag(data, TAG_UN, 4))
        if len(icc_mk) != 16:
            raise CryptoError(f"the ICC master key must be 16 bytes long, not {len(icc_mk)}")
        return icc_mk

    def _iad_part(self, iad: bytes) -> bytes:
        if not 1 <= len(iad) <= _IAD_MAX:
            raise CryptoError(f"tag 9F10 must be 1 to 32 bytes long, not {len(iad)}")
        if self.ac_iad_data is AcIadData.WHOLE:
            return iad
        if self.iad_format is IadFormat.VISA:
            # VIS IAD: byte 4 is the CVR length (03), bytes 5-7 the CVR; the CVN 10
            # cryptogram covers bytes 4-7.
            return _iad_slice(iad, 3, 7, "CVR")
        cvr = _iad_slice(iad, 2, 8, "CVR")
        if self.ac_iad_data is AcIadData.CVR:
            return cvr
        return cvr + _iad_slice(iad, 10, 18, "counters")

    def ac_input(self, data: Mapping[int, bytes]) -> bytes:
        """The exact bytes this version MACs: the Book 2 8.1.1 tags, then its part of 9F10.

        Missing tags and wrong lengths raise :class:`~emvcore.errors.CryptoError` naming
        the tag.
        """
        fixed = b"".join(_tag(data, tag, length) for tag, length in _AC_TAGS)
        return fixed + self._iad_part(_tag(data, TAG_IAD))

    def generate_ac(self, icc_mk: bytes, data: Mapping[int, bytes]) -> bytes:
        """The 8-byte application cryptogram (ARQC, TC or AAC) of a card of this version."""
        return cryptogram.generate_ac(self.ac_key(icc_mk, data), self.ac_input(data), self.padding)

    def verify_ac(self, icc_mk: bytes, data: Mapping[int, bytes], ac: bytes) -> bool:
        """Whether ``ac`` (tag 9F26) is this card's cryptogram over ``data`` (constant time)."""
        return cryptogram.verify_ac(
            self.ac_key(icc_mk, data), self.ac_input(data), ac, self.padding
        )

    def _arpc_key(self, icc_mk: bytes, data: Mapping[int, bytes]) -> bytes:
        if self.arpc_key is ArpcKey.SESSION:
            return self.ac_key(icc_mk, data)
        if len(icc_mk) != 16:
            raise CryptoError(f"the ICC master key must be 16 bytes long, not {len(icc_mk)}")
        return icc_mk

    def issuer_authentication_data(
        self,
        icc_mk: bytes,
        data: Mapping[int, bytes],
        arqc: bytes,
        *,
        approved: bool,
        arc: bytes,
    ) -> bytes:
        """The value of tag 91, Issuer Authentication Data, answering ``arqc``.

        - ARPC method 1 (Book 2 8.2.1): ``ARPC(8) || ARC(2)``; the decision travels in the
          2-byte Authorisation Response Code ``arc``, and ``approved`` is not used.
        - ARPC method 2 (Book 2 8.2.2, Visa CVN 18): ``ARPC(4) || CSU(4)``, where the Card
          Status Update has byte 2 bit 8 ("Issuer approves online transaction", EMV Book 3
          CCD Card Status Update, VIS 1.6) set when ``approved`` and every other bit zero;
          ``arc`` (still 2 bytes) goes to the card in tag 8A, not into the ARPC.
        """
        if len(arc) != 2:
            raise CryptoError(f"the authorisation response code must be 2 bytes, not {len(arc)}")
        key = self._arpc_key(icc_mk, data)
        if self.arpc_method == 1:
            return arpc_method_1(key, arqc, arc) + arc
        csu = _CSU_APPROVED if approved else _CSU_DECLINED
        return arpc_method_2(key, arqc, csu) + csu

    def verify_issuer_authentication_data(
        self,
        icc_mk: bytes,
        data: Mapping[int, bytes],
        arqc: bytes,
        issuer_authentication_data: bytes,
    ) -> bool:
        """The card's check of tag 91 (EMV Book 3 10.9, Book 2 8.2), in constant time.

        A tag 91 of the wrong length for the method (10 bytes for method 1, 8 to 16 for
        method 2) fails the check rather than raising.
        """
        key = self._arpc_key(icc_mk, data)
        value = issuer_authentication_data
        if self.arpc_method == 1:
            if len(value) != 10:
                return False
            expected = arpc_method_1(key, arqc, value[8:])
            return hmac.compare_digest(expected, value[:8])
        if not 8 <= len(value) <= 16:
            return False
        expected = arpc_method_2(key, arqc, value[4:8], value[8:])
        return hmac.compare_digest(expected, value[:4])

    def build_iad(self, *, dki: int, cvr: bytes, counters: bytes | None = None) -> bytes:
        """The Issuer Application Data (9F10) a card of this version returns.

        - Visa (VIS format 0/1/3, 7 bytes): ``06 || DKI || CVN || 03 || CVR(3)``.
        - M/Chip (18 bytes): ``DKI || CVN || CVR(6) || DAC/IDN(2) = 00 00 || counters(8)``;
          ``counters`` defaults to eight zero bytes.

        >>> cryptogram_version("visa-cvn10").build_iad(dki=1, cvr=bytes.fromhex("A06010")).hex()
        '06010a03a06010'
        """
        if not 0 <= dki <= 0xFF:
            raise CryptoError(f"the derivation key index is one byte, not {dki}")
        if self.iad_format is IadFormat.VISA:
            if len(cvr) != 3:
                raise CryptoError(f"a Visa CVR is 3 bytes long, not {len(cvr)}")
            if counters is not None:
                raise CryptoError("a Visa IAD has no counters field")
            return bytes((0x06, dki, self.cvn, 0x03)) + cvr
        if len(cvr) != 6:
            raise CryptoError(f"an M/Chip CVR is 6 bytes long, not {len(cvr)}")
        if counters is None:
            counters = bytes(8)
        elif len(counters) != 8:
            raise CryptoError(f"M/Chip IAD counters are 8 bytes long, not {len(counters)}")
        return bytes((dki, self.cvn)) + cvr + b"\x00\x00" + counters

    def cvn_of_iad(self, iad: bytes) -> int:
        """The CVN byte at this version's position in tag 9F10 (Visa byte 3, M/Chip byte 2).

        >>> cryptogram_version("mastercard-cvn16").cvn_of_iad(bytes.fromhex("0110A000"))
        16
        """
        position = 2 if self.iad_format is IadFormat.VISA else 1
        if len(iad) <= position:
            raise CryptoError(
                f"tag 9F10 is {len(iad)} bytes long, too short to hold a CVN at byte {position + 1}"
            )
        return iad[position]


CRYPTOGRAM_VERSIONS: Mapping[str, CryptogramVersion] = MappingProxyType(
    {
        version.name: version
        for version in (
            CryptogramVersion(
                name="visa-cvn10",
                cvn=0x0A,
                session_key=SessionKeyMethod.NONE,
                padding=Padding.METHOD_1,
                arpc_method=1,
                arpc_key=ArpcKey.CARD_MASTER,
                master_key=MasterKeyDerivation.OPTION_A,
                iad_format=IadFormat.VISA,
                ac_iad_data=AcIadData.CVR,
            ),
            CryptogramVersion(
                name="visa-cvn18",
                cvn=0x12,
                session_key=SessionKeyMethod.EMV_COMMON,
                padding=Padding.METHOD_2,
                arpc_method=2,
                arpc_key=ArpcKey.SESSION,
                master_key=MasterKeyDerivation.OPTION_B,
                iad_format=IadFormat.VISA,
                ac_iad_data=AcIadData.WHOLE,
            ),
            CryptogramVersion(
                name="mastercard-cvn16",
                cvn=0x10,
                session_key=SessionKeyMethod.MASTERCARD,
                padding=Padding.METHOD_2,
                arpc_method=1,
                arpc_key=ArpcKey.CARD_MASTER,
                master_key=MasterKeyDerivation.OPTION_A,
                iad_format=IadFormat.MCHIP,
                ac_iad_data=AcIadData.CVR,
            ),
            CryptogramVersion(
                name="mastercard-cvn17",
                cvn=0x11,
                session_key=SessionKeyMethod.MASTERCARD,
                padding=Padding.METHOD_2,
                arpc_method=1,
                arpc_key=ArpcKey.CARD_MASTER,
                master_key=MasterKeyDerivation.OPTION_A,
                iad_format=IadFormat.MCHIP,
                ac_iad_data=AcIadData.CVR_AND_COUNTERS,
            ),
        )
    }
)
"""The registered cryptogram versions by name."""


def cryptogram_version(name: str) -> CryptogramVersion:
    """The registered cryptogram version called ``name``.

    >>> cryptogram_version("mastercard-cvn17").cvn
    17
    >>> cryptogram_version("visa-cvn99")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    emvcore.errors.CryptoError: unknown cryptogram version 'visa-cvn99'; known: ...
    """
    try:
        return CRYPTOGRAM_VERSIONS[name]
    except KeyError:
        known = ", ".join(sorted(CRYPTOGRAM_VERSIONS))
        raise CryptoError(f"unknown cryptogram version {name!r}; known: {known}") from None
