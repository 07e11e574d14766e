"""Key management: key check values, key components, TR-31 key blocks.

The ways a real key enters the stack, each checked before the key is used:

- :mod:`~emvcore.keys.check_value`  KCVs: TDES (ANSI X9.24-1) and AES CMAC (X9.24-1-2017, X9.143)
- :mod:`~emvcore.keys.components`   two or three key components XORed, each with its KCV
- :mod:`~emvcore.keys.tr31`         TR-31 / ANSI X9.143 key blocks under a key block protection key

Errors are :class:`~emvcore.errors.KeyImportError`\\ s; messages never carry key material.
"""

from emvcore.keys.check_value import KeyAlgorithm, aes_kcv, key_check_value
from emvcore.keys.components import KeyComponent, combine_components
from emvcore.keys.tr31 import (
    KeyBlockHeader,
    Tr31Usage,
    UnwrappedKey,
    unwrap_key_block,
    wrap_key_block,
)

__all__ = [
    "KeyAlgorithm",
    "KeyBlockHeader",
    "KeyComponent",
    "Tr31Usage",
    "UnwrappedKey",
    "aes_kcv",
    "combine_components",
    "key_check_value",
    "unwrap_key_block",
    "wrap_key_block",
]
