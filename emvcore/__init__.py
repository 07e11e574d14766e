"""emvcore: the shared, pure EMV protocol library of the Tap stack.

Bytes in, bytes out; no I/O except the key and token record files. The terminal, the
emulated cards and the acquirer all speak through it, so they never import each other.

- :mod:`emvcore.tlv`          BER-TLV (EMV Book 3 Annex B)
- :mod:`emvcore.dol`          data object lists: PDOL, CDOL1, DDOL (Book 3 5.4)
- :mod:`emvcore.tags`         the EMV tag dictionary (Book 3 Annex A, contactless books)
- :mod:`emvcore.apdu`         command/response APDUs, status words, EMV commands (Book 3 6.5)
- :mod:`emvcore.numeric`      formats n and cn
- :mod:`emvcore.pan`          Luhn, masking, Track 2 Equivalent Data
- :mod:`emvcore.currency`     ISO 4217 codes and minor units (the iso4217 package's table)
- :mod:`emvcore.amount`       amounts typed by a person, parsed strictly into minor units
- :mod:`emvcore.contactless`  TTQ/CTQ bits and the signals cards and kernels share
- :mod:`emvcore.crypto`       issuer cryptography: key derivation, session keys, ARQC, ARPC
- :mod:`emvcore.oda`          offline data authentication: CA keys, certificates, fDDA, CDA
- :mod:`emvcore.keyfile`      issuer master key files
- :mod:`emvcore.provisioning` token provisioning records
- :mod:`emvcore.errors`       the exception tree
"""

from emvcore.errors import (
    AmountError,
    ApduError,
    CryptoError,
    CurrencyError,
    DolError,
    EmvError,
    EncodingError,
    IssuerKeyNotFoundError,
    KeyFileError,
    OdaError,
    TlvError,
    TokenRecordError,
)

__all__ = [
    "AmountError",
    "ApduError",
    "CryptoError",
    "CurrencyError",
    "DolError",
    "EmvError",
    "EncodingError",
    "IssuerKeyNotFoundError",
    "KeyFileError",
    "OdaError",
    "TlvError",
    "TokenRecordError",
]
