"""The exception tree of :mod:`emvcore`.

Every error raised on bad input is one of these, carrying the tag, the offset or the
status word that was wrong, so callers never see an ``IndexError`` or ``ValueError``
from deep inside a parser::

    EmvError
     ├── TlvError                 BER-TLV decoding/encoding (tag, offset)
     │    ├── TlvTruncatedError       data ends inside a tag, a length or a value
     │    ├── TlvLengthError          indefinite, overlong or unsupported length field
     │    ├── TlvTrailingDataError    bytes left after the last complete object
     │    └── TlvDuplicateTagError    one tag twice where tags must be unique
     ├── DolError                 data object list parsing/building
     ├── EncodingError            a numeric (n, cn) field with non-digits or too many digits
     │    ├── CurrencyError           not an ISO 4217 code, or a currency without a minor unit
     │    └── AmountError             an amount that is not a plain decimal, negative, or too large
     ├── ApduError                malformed command or response APDU
     ├── CryptoError              wrong key length, wrong block length, unknown CVN
     ├── KeyFileError             a key file that is missing, malformed, or fails its KCV
     │    └── IssuerKeyNotFoundError  no issuer key covers a PAN's BIN range
     ├── TokenRecordError         a token provisioning record that is missing or malformed
     └── OdaError                 offline data authentication failed (``failure`` says which check)

Messages name what was wrong and where; they never contain key material or a PAN.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # emvcore.oda imports this module; the enum is needed for typing only
    from emvcore.oda.failures import OdaFailure


class EmvError(Exception):
    """Base class of every error raised by emvcore."""


class TlvError(EmvError):
    """A BER-TLV structure could not be decoded or encoded.

    ``tag`` is the tag being read when the error happened (``None`` if the tag itself
    was unreadable) and ``offset`` the byte offset, from the start of the outermost
    buffer, where the problem was found.
    """

    def __init__(self, message: str, *, tag: int | None = None, offset: int | None = None):
        where = []
        if tag is not None:
            where.append(f"tag {tag:02X}")
        if offset is not None:
            where.append(f"offset {offset}")
        super().__init__(f"{message} ({', '.join(where)})" if where else message)
        self.tag = tag
        self.offset = offset


class TlvTruncatedError(TlvError):
    """The data ends inside a tag, a length field or a value."""


class TlvLengthError(TlvError):
    """A length field is indefinite (``80``), longer than supported, or not minimal."""


class TlvTrailingDataError(TlvError):
    """Bytes remain after the last complete data object."""


class TlvDuplicateTagError(TlvError):
    """A tag appears twice where EMV requires tags to be unique (Book 3 Annex B)."""


class DolError(EmvError):
    """A data object list (PDOL, CDOL1, DDOL) is malformed or its data has the wrong length."""


class EncodingError(EmvError):
    """A value cannot be encoded in or decoded from an EMV format (n, cn, an)."""


class CurrencyError(EncodingError):
    """A currency code is not in ISO 4217, or names one (gold, SDR) that has no minor unit."""


class AmountError(EncodingError):
    """An amount typed by a person is not a plain decimal in the currency, or does not fit 9F02.

    The rules are those of :func:`emvcore.amount.parse_amount`; the message says which one
    was broken, in words a shopkeeper can act on.
    """


class ApduError(EmvError):
    """A command or response APDU is malformed (ISO/IEC 7816-4 section 5.1)."""


class CryptoError(EmvError):
    """Wrong key or block length, unsupported cryptogram version, bad parameter."""


class KeyFileError(EmvError):
    """A key file is missing, malformed, or a key fails its key check value."""


class IssuerKeyNotFoundError(KeyFileError):
    """No issuer master key covers the BIN range of the PAN (or token) presented."""


class TokenRecordError(EmvError):
    """A token provisioning record (acquirer -> card personalization) is missing or malformed."""


class OdaError(EmvError):
    """Offline data authentication failed (EMV Book 2 sections 5 and 6, Book C-3 fDDA).

    ``failure`` is the :class:`~emvcore.oda.failures.OdaFailure` naming the check that
    failed, from which the kernel sets its TVR bits ("ICC data missing", "SDA/DDA/CDA
    failed") and picks the outcome; the message is for logs and never contains a PAN or
    key material.
    """

    def __init__(self, failure: OdaFailure, message: str) -> None:
        super().__init__(message)
        self.failure = failure

    def __reduce__(self) -> tuple[type[OdaError], tuple[OdaFailure, str]]:
        return (type(self), (self.failure, str(self)))
