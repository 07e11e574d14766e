"""Command and response APDUs (ISO/IEC 7816-4 section 5.1) and the EMV commands
(EMV Book 3 section 6.5).

A command APDU is a four-byte header ``CLA INS P1 P2``, optionally a data field with
its length ``Lc``, and optionally ``Le``, the number of response bytes expected (Ne).
The four cases, in short and extended form::

    case 1    CLA INS P1 P2
    case 2S   CLA INS P1 P2 Le                    Le '00' means 256
    case 3S   CLA INS P1 P2 Lc data               Lc 1..255
    case 4S   CLA INS P1 P2 Lc data Le
    case 2E   CLA INS P1 P2 00 Le1 Le2            Le '0000' means 65536
    case 3E   CLA INS P1 P2 00 Lc1 Lc2 data       Lc 1..65535
    case 4E   CLA INS P1 P2 00 Lc1 Lc2 data Le1 Le2

A response APDU is the data followed by the status word ``SW1 SW2``.

>>> select_ppse().encode().hex().upper()
'00A404000E325041592E5359532E444446303100'
>>> ResponseApdu.decode(bytes.fromhex("6A82")).sw == SW.FILE_NOT_FOUND
True
>>> describe_sw(0x6A82)
'file or application not found'
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from emvcore.errors import ApduError
from emvcore.tlv import encode as tlv_encode

__all__ = [
    "CDA_REQUESTED",
    "PPSE_NAME",
    "SW",
    "CommandApdu",
    "CryptogramType",
    "Ins",
    "ResponseApdu",
    "describe_sw",
    "external_authenticate",
    "generate_ac",
    "get_data",
    "get_processing_options",
    "get_response",
    "read_record",
    "select",
    "select_ppse",
]


class Ins(IntEnum):
    """Instruction bytes of the commands EMV uses (Book 3 section 6.5)."""

    SELECT = 0xA4
    READ_RECORD = 0xB2
    GET_PROCESSING_OPTIONS = 0xA8
    GENERATE_AC = 0xAE
    GET_DATA = 0xCA
    EXTERNAL_AUTHENTICATE = 0x82
    INTERNAL_AUTHENTICATE = 0x88
    GET_RESPONSE = 0xC0
    COMPUTE_CRYPTOGRAPHIC_CHECKSUM = 0x2A


class SW(IntEnum):
    """Status words (ISO/IEC 7816-4 section 5.1.3, EMV Book 3 section 6.3.5)."""

    OK = 0x9000
    WARNING_SELECTED_FILE_INVALIDATED = 0x6283
    VERIFICATION_FAILED = 0x6300
    WRONG_LENGTH = 0x6700
    SECURITY_STATUS_NOT_SATISFIED = 0x6982
    AUTH_METHOD_BLOCKED = 0x6983
    REFERENCED_DATA_INVALIDATED = 0x6984
    CONDITIONS_NOT_SATISFIED = 0x6985
    COMMAND_NOT_ALLOWED = 0x6986
    SM_DATA_INCORRECT = 0x6988
    WRONG_DATA = 0x6A80
    FUNCTION_NOT_SUPPORTED = 0x6A81
    FILE_NOT_FOUND = 0x6A82
    RECORD_NOT_FOUND = 0x6A83
    INCORRECT_P1P2 = 0x6A86
    REFERENCED_DATA_NOT_FOUND = 0x6A88
    WRONG_P1P2 = 0x6B00
    INS_NOT_SUPPORTED = 0x6D00
    CLA_NOT_SUPPORTED = 0x6E00
    UNKNOWN = 0x6F00


_SW_TEXT: dict[int, str] = {
    SW.OK: "normal processing",
    SW.WARNING_SELECTED_FILE_INVALIDATED: "warning: selected file invalidated",
    SW.VERIFICATION_FAILED: "verification failed",
    SW.WRONG_LENGTH: "wrong length",
    SW.SECURITY_STATUS_NOT_SATISFIED: "security status not satisfied",
    SW.AUTH_METHOD_BLOCKED: "authentication method blocked",
    SW.REFERENCED_DATA_INVALIDATED: "referenced data invalidated",
    SW.CONDITIONS_NOT_SATISFIED: "conditions of use not satisfied",
    SW.COMMAND_NOT_ALLOWED: "command not allowed (no current EF)",
    SW.SM_DATA_INCORRECT: "incorrect secure messaging data objects",
    SW.WRONG_DATA: "incorrect parameters in the data field",
    SW.FUNCTION_NOT_SUPPORTED: "function not supported",
    SW.FILE_NOT_FOUND: "file or application not found",
    SW.RECORD_NOT_FOUND: "record not found",
    SW.INCORRECT_P1P2: "incorrect parameters P1-P2",
    SW.REFERENCED_DATA_NOT_FOUND: "referenced data (data object) not found",
    SW.WRONG_P1P2: "wrong parameters P1-P2",
    SW.INS_NOT_SUPPORTED: "instruction code not supported or invalid",
    SW.CLA_NOT_SUPPORTED: "class not supported",
    SW.UNKNOWN: "no precise diagnosis",
}

_SW1_FAMILY: dict[int, str] = {
    0x62: "warning: state of non-volatile memory unchanged",
    0x63: "warning: state of non-volatile memory changed",
    0x64: "execution error: state of non-volatile memory unchanged",
    0x65: "execution error: state of non-volatile memory changed",
    0x66: "execution error: security-related issue",
    0x67: "checking error: wrong length",
    0x68: "checking error: functions in CLA not supported",
    0x69: "checking error: command not allowed",
    0x6A: "checking error: wrong parameters",
}


def describe_sw(sw: int) -> str:
    """A short English description of a status word (ISO/IEC 7816-4 Tables 5-6).

    >>> describe_sw(0x6985)
    'conditions of use not satisfied'
    >>> describe_sw(0x6110), describe_sw(0x6C08), describe_sw(0x63C2)
    ('16 bytes still available (use GET RESPONSE)', 'wrong Le; exact length is 8', 'verification failed, counter 2')
    >>> describe_sw(0x6A99), describe_sw(0x9123)
    ('checking error: wrong parameters (6A99)', 'unknown status word 9123')
    """
    if not 0 <= sw <= 0xFFFF:
        raise ApduError(f"status word {sw:#x} is not two bytes")
    text = _SW_TEXT.get(sw)
    if text is not None:
        return text
    sw1, sw2 = sw >> 8, sw & 0xFF
    if sw1 == 0x61:
        return f"{sw2 or 256} bytes still available (use GET RESPONSE)"
    if sw1 == 0x6C:
        return f"wrong Le; exact length is {sw2 or 256}"
    if sw1 == 0x63 and sw2 & 0xF0 == 0xC0:
        return f"verification failed, counter {sw2 & 0x0F}"
    family = _SW1_FAMILY.get(sw1)
    if family is not None:
        return f"{family} ({sw:04X})"
    return f"unknown status word {sw:04X}"


class CryptogramType(IntEnum):
    """Cryptogram type in GENERATE AC P1 and CID ``9F27``, bits b8-b7 (Book 3 Tables 12-13)."""

    AAC = 0x00
    TC = 0x40
    ARQC = 0x80


#: GENERATE AC P1 b5: combined DDA/application cryptogram generation requested.
CDA_REQUESTED: int = 0x10

_SHORT_MAX_LC = 0xFF
_SHORT_MAX_NE = 0x100
_EXTENDED_MAX_LC = 0xFFFF
_EXTENDED_MAX_NE = 0x10000


def _check_byte(name: str, value: int) -> None:
    if not 0 <= value <= 0xFF:
        raise ApduError(f"{name} {value} is not a byte (0..255)")


@dataclass(frozen=True, slots=True)
class CommandApdu:
    """A command APDU. ``le`` is Ne, the response length expected (``None``: no Le field).

    Ne is 1 to 65536; 256 is sent as short Le ``00`` and 65536 as extended ``0000``.
    Construction checks every field, so an instance always encodes.

    >>> CommandApdu(0x00, Ins.READ_RECORD, 1, 0x0C, le=256).encode().hex().upper()
    '00B2010C00'
    >>> CommandApdu.decode(bytes.fromhex("00B2010C00"))
    CommandApdu(cla=0, ins=178, p1=1, p2=12, data=b'', le=256)
    >>> CommandApdu(0x80, 0xCA, 0x9F, 0x36, le=0)
    Traceback (most recent call last):
    ...
    emvcore.errors.ApduError: le 0 out of range: Ne is 1..65536 (256 is sent as Le '00')
    """

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None

    def __post_init__(self) -> None:
        _check_byte("CLA", self.cla)
        _check_byte("INS", self.ins)
        _check_byte("P1", self.p1)
        _check_byte("P2", self.p2)
        if not isinstance(self.data, bytes):
            object.__setattr__(self, "data", bytes(self.data))
        if len(self.data) > _EXTENDED_MAX_LC:
            raise ApduError(f"data field of {len(self.data)} bytes exceeds 65535")
        if self.le is not None and not 1 <= self.le <= _EXTENDED_MAX_NE:
            raise ApduError(f"le {self.le} out of range: Ne is 1..65536 (256 is sent as Le '00')")

    @property
    def extended(self) -> bool:
        """Whether this command needs the extended length form."""
        return len(self.data) > _SHORT_MAX_LC or (self.le or 0) > _SHORT_MAX_NE

    def encode(self) -> bytes:
        """Encode, in the short form when data <= 255 bytes and Ne <= 256.

        >>> CommandApdu(0x00, 0xB0, 0, 0, le=1000).encode().hex().upper()
        '00B000000003E8'
        """
        out = bytearray((self.cla, self.ins, self.p1, self.p2))
        nc = len(self.data)
        if self.extended:
            out.append(0)
            if nc:
                out += nc.to_bytes(2, "big") + self.data
            if self.le is not None:
                out += (self.le & 0xFFFF).to_bytes(2, "big")
        else:
            if nc:
                out.append(nc)
                out += self.data
            if self.le is not None:
                out.append(self.le & 0xFF)
        return bytes(out)

    @classmethod
    def decode(cls, raw: bytes) -> CommandApdu:
        """Decode any of cases 1, 2S, 3S, 4S, 2E, 3E and 4E (ISO/IEC 7816-4 section 5.1).

        >>> CommandApdu.decode(bytes.fromhex("80A8000002830000")).data.hex()
        '8300'
        >>> CommandApdu.decode(bytes.fromhex("80A8000005830100"))
        Traceback (most recent call last):
        ...
        emvcore.errors.ApduError: Lc says 5 bytes, 3 present
        """
        raw = bytes(raw)
        size = len(raw)
        if size < 4:
            raise ApduError(f"command APDU of {size} bytes is shorter than its 4-byte header")
        cla, ins, p1, p2 = raw[0], raw[1], raw[2], raw[3]
        if size == 4:
            return cls(cla, ins, p1, p2)
        b1 = raw[4]
        if size == 5:
            return cls(cla, ins, p1, p2, le=b1 or _SHORT_MAX_NE)
        if b1:
            body = size - 5
            if body == b1:
                return cls(cla, ins, p1, p2, raw[5:])
            if body == b1 + 1:
                return cls(cla, ins, p1, p2, raw[5:-1], raw[-1] or _SHORT_MAX_NE)
            raise ApduError(f"Lc says {b1} bytes, {body} present")
        if size < 7:
            raise ApduError(
                f"extended length marker '00' in a {size}-byte command; expected 7 or more bytes"
            )
        b23 = int.from_bytes(raw[5:7], "big")
        if size == 7:
            return cls(cla, ins, p1, p2, le=b23 or _EXTENDED_MAX_NE)
        if not b23:
            raise ApduError("extended Lc '0000' is not allowed")
        body = size - 7
        if body == b23:
            return cls(cla, ins, p1, p2, raw[7:])
        if body == b23 + 2:
            le = int.from_bytes(raw[-2:], "big")
            return cls(cla, ins, p1, p2, raw[7:-2], le or _EXTENDED_MAX_NE)
        raise ApduError(f"extended Lc says {b23} bytes, {body} present")


@dataclass(frozen=True, slots=True)
class ResponseApdu:
    """A response APDU: the data field and the status word ``SW1 SW2``.

    >>> r = ResponseApdu.decode(bytes.fromhex("9F3602002A9000"))
    >>> r.data.hex(), hex(r.sw), r.ok
    ('9f3602002a', '0x9000', True)
    """

    data: bytes
    sw1: int
    sw2: int

    def __post_init__(self) -> None:
        if not isinstance(self.data, bytes):
            object.__setattr__(self, "data", bytes(self.data))
        _check_byte("SW1", self.sw1)
        _check_byte("SW2", self.sw2)

    @property
    def sw(self) -> int:
        """The status word as one integer, ``SW1 * 256 + SW2``."""
        return (self.sw1 << 8) | self.sw2

    @property
    def ok(self) -> bool:
        """Whether the status word is ``9000``."""
        return self.sw == SW.OK

    def encode(self) -> bytes:
        """The response as sent on the wire: data, then SW1 SW2."""
        return self.data + bytes((self.sw1, self.sw2))

    @classmethod
    def decode(cls, raw: bytes) -> ResponseApdu:
        """Split a response into data and status word.

        >>> ResponseApdu.decode(b"\\x90")
        Traceback (most recent call last):
        ...
        emvcore.errors.ApduError: response APDU of 1 bytes has no status word (needs 2)
        """
        raw = bytes(raw)
        if len(raw) < 2:
            raise ApduError(f"response APDU of {len(raw)} bytes has no status word (needs 2)")
        return cls(raw[:-2], raw[-2], raw[-1])


#: Name of the Proximity Payment System Environment (EMV Contactless Book B section 3.3).
PPSE_NAME: bytes = b"2PAY.SYS.DDF01"

_MAX_DF_NAME = 16


def _check_short_data(command: str, data: bytes) -> None:
    if len(data) > _SHORT_MAX_LC:
        raise ApduError(f"{command}: data of {len(data)} bytes exceeds the short Lc of 255")


def select(aid_or_name: bytes, *, next_occurrence: bool = False) -> CommandApdu:
    """SELECT by DF name (Book 3 section 6.5.11): ``00 A4 04 00|02 Lc name 00``.

    >>> select(bytes.fromhex("A0000000041010")).encode().hex().upper()
    '00A4040007A000000004101000'
    >>> select(bytes.fromhex("A0000000041010"), next_occurrence=True).p2
    2
    """
    name = bytes(aid_or_name)
    if not 1 <= len(name) <= _MAX_DF_NAME:
        raise ApduError(f"SELECT: DF name of {len(name)} bytes, expected 1 to 16")
    return CommandApdu(0x00, Ins.SELECT, 0x04, 0x02 if next_occurrence else 0x00, name, 256)


def select_ppse() -> CommandApdu:
    """SELECT of the PPSE, ``2PAY.SYS.DDF01`` (EMV Contactless Book B)."""
    return select(PPSE_NAME)


def get_processing_options(pdol_data: bytes) -> CommandApdu:
    """GET PROCESSING OPTIONS (Book 3 section 6.5.8): ``80 A8 00 00 Lc 83 L data 00``.

    >>> get_processing_options(b"").encode().hex().upper()
    '80A8000002830000'
    """
    data = tlv_encode(0x83, bytes(pdol_data))
    _check_short_data("GET PROCESSING OPTIONS", data)
    return CommandApdu(0x80, Ins.GET_PROCESSING_OPTIONS, 0x00, 0x00, data, 256)


def read_record(sfi: int, record: int) -> CommandApdu:
    """READ RECORD (Book 3 section 6.5.11): ``00 B2 record (SFI << 3 | 4) 00``.

    >>> read_record(1, 1).encode().hex().upper()
    '00B2010C00'
    """
    if not 1 <= sfi <= 30:
        raise ApduError(f"READ RECORD: SFI {sfi} outside 1..30")
    if not 1 <= record <= 255:
        raise ApduError(f"READ RECORD: record number {record} outside 1..255")
    return CommandApdu(0x00, Ins.READ_RECORD, record, (sfi << 3) | 0x04, le=256)


def generate_ac(reference_control: int, cdol_data: bytes) -> CommandApdu:
    """GENERATE AC (Book 3 section 6.5.5): ``80 AE P1 00 Lc data 00``.

    ``reference_control`` is a :class:`CryptogramType`, optionally with
    :data:`CDA_REQUESTED`; b8-b7 = ``11`` is reserved and refused.

    >>> generate_ac(CryptogramType.ARQC | CDA_REQUESTED, bytes(4)).encode().hex().upper()
    '80AE9000040000000000'
    """
    _check_byte("GENERATE AC reference control", reference_control)
    if reference_control & 0xC0 == 0xC0:
        raise ApduError("GENERATE AC: reference control b8-b7 = 11 is reserved")
    data = bytes(cdol_data)
    _check_short_data("GENERATE AC", data)
    return CommandApdu(0x80, Ins.GENERATE_AC, reference_control, 0x00, data, 256)


def get_data(tag: int) -> CommandApdu:
    """GET DATA (Book 3 section 6.5.7): ``80 CA P1P2 00``, P1-P2 being the tag.

    >>> get_data(0x9F36).encode().hex().upper()
    '80CA9F3600'
    """
    if not 1 <= tag <= 0xFFFF:
        raise ApduError(f"GET DATA: tag {tag:#x} does not fit in P1-P2")
    return CommandApdu(0x80, Ins.GET_DATA, tag >> 8, tag & 0xFF, le=256)


def external_authenticate(issuer_authentication_data: bytes) -> CommandApdu:
    """EXTERNAL AUTHENTICATE (Book 3 section 6.5.4): ``00 82 00 00 Lc data``, 8-16 bytes.

    >>> external_authenticate(bytes(10)).encode().hex().upper()
    '008200000A00000000000000000000'
    """
    data = bytes(issuer_authentication_data)
    if not 8 <= len(data) <= 16:
        raise ApduError(f"EXTERNAL AUTHENTICATE: {len(data)} bytes of data, expected 8 to 16")
    return CommandApdu(0x00, Ins.EXTERNAL_AUTHENTICATE, 0x00, 0x00, data)


def get_response(le: int) -> CommandApdu:
    """GET RESPONSE (ISO/IEC 7816-4 section 7.6.1): ``00 C0 00 00 Le``, after SW ``61xx``.

    ``le`` is 1..256 (``61 00`` announces 256 bytes, sent as Le ``00``).

    >>> get_response(0x1C).encode().hex().upper()
    '00C000001C'
    """
    if not 1 <= le <= _SHORT_MAX_NE:
        raise ApduError(f"GET RESPONSE: Le {le} outside 1..256")
    return CommandApdu(0x00, Ins.GET_RESPONSE, 0x00, 0x00, le=le)
