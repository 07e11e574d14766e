"""emvcore: the shared, pure EMV protocol library of the Tap stack.

Bytes in, bytes out; no I/O except the key and token record files. The terminal, the
emulated cards and the acquirer all speak through it, so they never import each other.

- :mod:`emvcore.tlv`          BER-TLV (EMV Book 3 Annex B)
- :mod:`emvcore.dol`          data object lists: PDOL, CDOL1, DDOL (Book 3 5.4)
- :mod:`emvcore.tags`         the EMV tag dictionary (Book 3 Annex A, contactless books)
- :mod:`emvcore.apdu`         command/response APDUs, status words, EMV commands (Book 3 6.5)
- :mod:`emvcore.card`         :class:`ApduCard`, the card side every layer speaks to
- :mod:`emvcore.numeric`      formats n and cn
- :mod:`emvcore.pan`          Luhn, masking, Track 2 Equivalent Data
- :mod:`emvcore.currency`     ISO 4217 codes and minor units (the iso4217 package's table)
- :mod:`emvcore.amount`       amounts typed by a person, parsed strictly into minor units
- :mod:`emvcore.contactless`  TTQ/CTQ bits and the signals cards and kernels share
- :mod:`emvcore.crypto`       issuer cryptography: key derivation, session keys, ARQC, ARPC;
                              DUKPT (:mod:`emvcore.crypto.dukpt`, AES X9.24-3 and TDES X9.24-1)
- :mod:`emvcore.keys`         key import: KCVs, key components, TR-31 key blocks
- :mod:`emvcore.oda`          offline data authentication: CA keys, certificates, fDDA, CDA
- :mod:`emvcore.keyfile`      issuer master key files
- :mod:`emvcore.provisioning` token provisioning records
- :mod:`emvcore.agentpay`     agent payments: mandates, payment bindings, confirmations,
                              agents' RFC 9421 request signatures
- :mod:`emvcore.errors`       the exception tree

>>> from emvcore import TlvError
>>> from emvcore.tlv import decode
>>> try:
...     decode(bytes.fromhex("9F3602"))
... except TlvError as exc:
...     print(f"{type(exc).__name__}: tag {exc.tag:X}")
TlvTruncatedError: tag 9F36
"""

from emvcore.card import ApduCard
from emvcore.errors import (
    AgentPayError,
    AmountError,
    ApduError,
    CheckoutError,
    ConfirmationError,
    CryptoError,
    CurrencyError,
    DolError,
    DukptEnvelopeError,
    DukptError,
    DukptExhaustedError,
    EmvError,
    EncodingError,
    IssuerKeyNotFoundError,
    KeyBlockError,
    KeyComponentError,
    KeyFileError,
    KeyImportError,
    MandateError,
    MandateScopeError,
    OdaError,
    PaymentBindingError,
    RequestSignatureError,
    TapLinkForgedError,
    TapLinkFormatError,
    TapLinkReplayedError,
    TapMessageError,
    TapModeError,
    TlvDuplicateTagError,
    TlvError,
    TlvLengthError,
    TlvTrailingDataError,
    TlvTruncatedError,
    TokenRecordError,
)

__all__ = [
    "AgentPayError",
    "AmountError",
    "ApduCard",
    "ApduError",
    "CheckoutError",
    "ConfirmationError",
    "CryptoError",
    "CurrencyError",
    "DolError",
    "DukptEnvelopeError",
    "DukptError",
    "DukptExhaustedError",
    "EmvError",
    "EncodingError",
    "IssuerKeyNotFoundError",
    "KeyBlockError",
    "KeyComponentError",
    "KeyFileError",
    "KeyImportError",
    "MandateError",
    "MandateScopeError",
    "OdaError",
    "PaymentBindingError",
    "RequestSignatureError",
    "TapLinkForgedError",
    "TapLinkFormatError",
    "TapLinkReplayedError",
    "TapMessageError",
    "TapModeError",
    "TlvDuplicateTagError",
    "TlvError",
    "TlvLengthError",
    "TlvTrailingDataError",
    "TlvTruncatedError",
    "TokenRecordError",
]
