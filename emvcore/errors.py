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
     │    └── DukptError              a KSN or counter DUKPT refuses (X9.24-1, X9.24-3)
     │         ├── DukptExhaustedError    the device has used its last transaction counter
     │         └── DukptEnvelopeError     DUKPT-enciphered data malformed, forged, or not its tags
     ├── KeyImportError           a key offered for import fails a check
     │    ├── KeyComponentError       a component, or the key they make, fails its KCV or parity
     │    └── KeyBlockError           a TR-31 key block: malformed, bad MAC, not the key expected
     ├── KeyFileError             a key file that is missing, malformed, or fails its KCV
     │    └── IssuerKeyNotFoundError  no issuer key covers a PAN's BIN range
     ├── TokenRecordError         a token provisioning record that is missing or malformed
     ├── OdaError                 offline data authentication failed (``failure`` says which check)
     ├── TapModeError             a Tap! tag link or NDEF message refused (``reason``, a stable code)
     │    ├── TapLinkFormatError      not a link of a known version and shape
     │    ├── TapLinkForgedError      the MAC does not verify under the terminal's key
     │    ├── TapLinkReplayedError    the link's nonce was used before
     │    └── TapMessageError         an NDEF message that is neither a Tap! message nor idle
     └── AgentPayError            an agent payment refused (``reason`` is the stable reason code)
          ├── MandateError            a wallet's mandate: malformed, forged, expired, not yet valid
          ├── MandateScopeError       a checkout outside its mandate: amount, currency, payee, MCC
          ├── CheckoutError           a checkout that is malformed or past its expiry
          ├── PaymentBindingError     an agent's signature over a checkout, or its key or nonce
          ├── ConfirmationError       a human-present confirmation missing, forged or not this cart
          └── RequestSignatureError   an agent's HTTP message signature (RFC 9421) or its replay

Messages name what was wrong and where; they never contain key material or a PAN.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # emvcore.oda and emvcore.agentpay import this module; enums for typing only
    from emvcore.agentpay.reasons import Reason
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


class DukptError(CryptoError):
    """A key serial number or transaction counter DUKPT refuses (ANSI X9.24-1, X9.24-3).

    Raised for a KSN of the wrong length, a counter with more one-bits than the standard
    allows, or a working key stronger than the key it would be derived from.
    """


class DukptExhaustedError(DukptError):
    """The device has used its last transaction counter and must be given a new initial key."""


class DukptEnvelopeError(DukptError):
    """DUKPT-enciphered sensitive data that cannot be used: a malformed template, a MAC that
    does not verify (tampered or another key), bad padding, or clear data that is not the
    sensitive tags alone (:mod:`emvcore.crypto.dukpt.envelope`)."""


class KeyImportError(EmvError):
    """A key offered for import (components, a TR-31 key block) fails one of its checks."""


class KeyComponentError(KeyImportError):
    """A key component, or the key the components combine to, fails its KCV or parity check.

    ``component`` is the 1-based number of the failing component, or ``None`` when the
    combined key (or the set of components as a whole) is what failed. The message names
    the component, never its value.
    """

    def __init__(self, message: str, *, component: int | None = None) -> None:
        super().__init__(message)
        self.component = component


class KeyBlockError(KeyImportError):
    """A TR-31 key block is malformed, fails its MAC, or is not the key that was expected.

    ``field`` names what failed: ``"format"`` (header or block layout), ``"kbpk"`` (the
    key block protection key cannot be used for this block), ``"mac"`` (wrong KBPK or a
    tampered block), ``"key"`` (the key inside has the wrong length for its algorithm), or
    the header field that is not the expected one: ``"key_usage"``, ``"algorithm"``,
    ``"mode_of_use"``. Messages carry header fields only, never key data.
    """

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


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


class TapModeError(EmvError):
    """A Tap! tag link or NDEF message was refused (:mod:`emvcore.tapmode`).

    ``reason`` is a stable, machine-readable code per subclass, for the acquirer's reason
    codes and the wallet's logs; the message says what was wrong, never a key.
    """

    reason = "tap-refused"


class TapLinkFormatError(TapModeError):
    """Not a tag link of a known version and shape (strict parsing of the URI)."""

    reason = "link-malformed"


class TapLinkForgedError(TapModeError):
    """The link's MAC does not verify under its terminal's link key (or no such terminal)."""

    reason = "link-forged"


class TapLinkReplayedError(TapModeError):
    """The link's per-tap nonce was used before."""

    reason = "link-replayed"


class TapMessageError(TapModeError):
    """An NDEF message that is neither a Tap! message nor the idle message."""

    reason = "ndef-malformed"


class AgentPayError(EmvError):
    """An agent payment artefact was refused (:mod:`emvcore.agentpay`).

    ``reason`` is the :class:`~emvcore.agentpay.reasons.Reason` naming the check that failed,
    a stable code the acquirer returns to the agent unchanged; the message is for logs and
    names fields and ids, never a token, a PAN or key material.
    """

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(f"{reason.value}: {message}")
        self.reason = reason

    def __reduce__(self) -> tuple[type[AgentPayError], tuple[Reason, str]]:
        return (type(self), (self.reason, str(self).partition(": ")[2]))


class MandateError(AgentPayError):
    """A mandate is malformed, not signed by the wallet's key, expired or not yet valid."""


class MandateScopeError(AgentPayError):
    """A checkout lies outside its mandate: amount, currency, merchant, category or presence."""


class CheckoutError(AgentPayError):
    """A checkout session's canonical form is malformed, or the session has expired."""


class PaymentBindingError(AgentPayError):
    """An agent's signature over a checkout is malformed, forged, stale, replayed, or made
    with a key the mandate does not name, or over another checkout or mandate."""


class ConfirmationError(AgentPayError):
    """A human-present confirmation is missing, not signed by the wallet's device key, or
    confirms another checkout or mandate."""


class RequestSignatureError(AgentPayError):
    """An agent's HTTP message signature (RFC 9421) is missing, malformed, made with an unknown
    key, outside its time window, over another body, or a replay of a nonce already seen."""
