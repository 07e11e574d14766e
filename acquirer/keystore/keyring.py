"""The keyring: named keys that are neither issuer master keys nor the vault key.

``keyring.json`` in the data directory (sealed under the KEK like the other key files)::

    {"format": "tap-keyring/1", "production": false,
     "keys": [{"name": "kek:zmk1", "algorithm": "A", "key": "<hex>", "kcv": "<6 hex>",
               "test_key": false},
              {"name": "bdk", "algorithm": "A", "key": "<hex>", "kcv": "<6 hex>",
               "test_key": true, "bdk_id": "<8 hex digits>"}]}

Names: ``kek:NAME`` a key-encryption key (the key block protection key of TR-31 imports),
``bdk`` the AES DUKPT base derivation key (ANSI X9.24-3-2017) with its 4-byte BDK ID, the
first half of every initial key ID derived from it. ``production`` is set by
``tap-acquirer init --production`` and makes the data directory refuse test keys whatever
the command line says. KCVs are checked on every load.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from hmac import compare_digest
from pathlib import Path
from typing import Any

from acquirer.errors import KeyMaterialError
from emvcore.errors import CryptoError
from emvcore.keys import KeyAlgorithm, key_check_value

__all__ = ["BDK", "FORMAT", "KEK_PREFIX", "Keyring", "NamedKey"]

FORMAT = "tap-keyring/1"
BDK = "bdk"
KEK_PREFIX = "kek:"
BDK_ID_LENGTH = 4


@dataclass(frozen=True, slots=True)
class NamedKey:
    """One key of the keyring; the key never shows in a ``repr``."""

    name: str
    algorithm: KeyAlgorithm
    key: bytes = field(repr=False)
    test_key: bool
    bdk_id: bytes | None = None

    @property
    def kcv(self) -> bytes:
        """The 3-byte key check value (TDES zero block or AES CMAC)."""
        return key_check_value(self.key, self.algorithm)


@dataclass(frozen=True, slots=True)
class Keyring:
    """The named keys of one data directory, and whether it is a production one."""

    keys: tuple[NamedKey, ...] = ()
    production: bool = False

    def get(self, name: str) -> NamedKey | None:
        """The key called ``name``, or ``None``."""
        return next((key for key in self.keys if key.name == name), None)

    def require(self, name: str) -> NamedKey:
        """The key called ``name``; :class:`KeyMaterialError` naming the known ones if absent."""
        key = self.get(name)
        if key is None:
            known = ", ".join(k.name for k in self.keys) or "none"
            raise KeyMaterialError(f"the keyring holds no key {name!r} (it has: {known})")
        return key

    @property
    def bdk(self) -> NamedKey | None:
        """The DUKPT base derivation key, if one was made or imported."""
        return self.get(BDK)

    @property
    def test_keys(self) -> bool:
        """Whether any key here is a test key."""
        return any(key.test_key for key in self.keys)

    def with_key(self, key: NamedKey) -> Keyring:
        """A keyring with ``key`` added, replacing any key of that name."""
        kept = tuple(k for k in self.keys if k.name != key.name)
        return replace(self, keys=(*kept, key))

    def to_bytes(self) -> bytes:
        """The keyring file's clear bytes (to seal before writing)."""
        document = {
            "format": FORMAT,
            "production": self.production,
            "keys": [_entry(key) for key in self.keys],
        }
        return (json.dumps(document, indent=2) + "\n").encode()

    @classmethod
    def parse(cls, data: bytes, path: Path) -> Keyring:
        """Check and parse a keyring file's clear bytes (``path`` names it in errors)."""
        try:
            document = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise KeyMaterialError(f"keyring {path} is not JSON") from None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise KeyMaterialError(f"keyring {path} is not in format {FORMAT}")
        production, entries = document.get("production"), document.get("keys")
        if not isinstance(production, bool) or not isinstance(entries, list):
            raise KeyMaterialError(f"keyring {path} needs 'production' and a 'keys' list")
        keys = tuple(_parse(path, index, entry) for index, entry in enumerate(entries))
        return cls(keys, production)


def new_bdk_id() -> bytes:
    """A random 4-byte BDK ID (the first half of every initial key ID under the BDK)."""
    return os.urandom(BDK_ID_LENGTH)


def _entry(key: NamedKey) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": key.name,
        "algorithm": key.algorithm.value,
        "key": key.key.hex().upper(),
        "kcv": key.kcv.hex().upper(),
        "test_key": key.test_key,
    }
    if key.bdk_id is not None:
        entry["bdk_id"] = key.bdk_id.hex().upper()
    return entry


def _parse(path: Path, index: int, entry: Any) -> NamedKey:
    where = f"keyring {path}, keys[{index}]"
    if not isinstance(entry, dict):
        raise KeyMaterialError(f"{where} is not an object")
    for name in ("name", "algorithm", "key", "kcv"):
        if not isinstance(entry.get(name), str):
            raise KeyMaterialError(f"{where}: field {name!r} is missing or not a string")
    if not isinstance(entry.get("test_key"), bool):
        raise KeyMaterialError(f"{where}: 'test_key' must be true or false")
    try:
        algorithm = KeyAlgorithm(entry["algorithm"])
        key, check = bytes.fromhex(entry["key"]), bytes.fromhex(entry["kcv"])
        bdk_id = bytes.fromhex(entry["bdk_id"]) if "bdk_id" in entry else None
        computed = key_check_value(key, algorithm, len(check))
    except (ValueError, TypeError, CryptoError):
        raise KeyMaterialError(f"{where}: algorithm, key, kcv or bdk_id unusable") from None
    if not compare_digest(computed, check):
        raise KeyMaterialError(f"{where}: key {entry['name']} does not match its KCV")
    if entry["name"] == BDK and (bdk_id is None or len(bdk_id) != BDK_ID_LENGTH):
        raise KeyMaterialError(f"{where}: the BDK needs a 4-byte 'bdk_id'")
    return NamedKey(entry["name"], algorithm, key, entry["test_key"], bdk_id)


def names(keys: Iterable[NamedKey]) -> list[str]:
    """The names of ``keys``, for messages."""
    return [key.name for key in keys]
