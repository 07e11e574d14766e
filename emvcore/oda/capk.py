"""The terminal's Certification Authority public keys (EMV Book 2 11.2, 5.2, 6.2).

Offline data authentication starts from a CA public key the terminal already holds,
chosen by the card's RID (the first five bytes of its AID) and CA Public Key Index (8F).
Each key is stored with the key-related data of Book 2 11.2.2, among them its check sum:
SHA-1 over ``RID || index || modulus || exponent`` (the "Certification Authority Public
Key Check Sum", hash algorithm of Annex B3.1). It is checked on every load, so a mistyped
digit is caught before it fails a day of cards. The payment systems publish their keys
with exactly these fields, the check sum included.

Key file format ``tap-capk/1`` (JSON; hex upper or lower case)::

    {
      "format": "tap-capk/1",
      "keys": [
        {"rid": "A000000003", "index": "92",
         "modulus": "996AF56F...247C9F", "exponent": "03",
         "expiry": "2028-12-31", "checksum": "429C954A3859CEF91295F663C963E582ED6EB253",
         "test": false}
      ],
      "revoked": [{"rid": "A000000003", "index": "51"}]
    }

- ``rid``: 5 bytes; ``index``: one byte, two hex digits; ``modulus``: 64 to 248 bytes
  (512 to 1984 bits) without a leading ``00``; ``exponent``: ``03`` or ``010001``.
- ``expiry``: the last day the key may be used, or ``null`` for none; from the day after,
  :meth:`CaKeyStore.lookup` refuses it (the scheme's published expiry date).
- ``checksum``: the 20-byte SHA-1 check sum as published with the key.
- ``test``: true for test keys (EMVCo and scheme test CAs, this project's test CA).
  :func:`load_ca_keys` with ``production=True`` refuses a file holding any.
- ``revoked`` (optional): RID and index pairs the terminal must refuse, whether or not
  the key is still listed (Book 2 11.2 revocation, applied before any other check).

To add a production key, copy RID, index, modulus, exponent, expiry and check sum from the
scheme's CA public key list and set ``"test": false``; a typo fails the check sum on load.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from emvcore.errors import KeyFileError, OdaError
from emvcore.oda._recovery import sha1
from emvcore.oda.failures import OdaFailure
from emvcore.oda.rsa import EMV_EXPONENTS, MAX_MODULUS_BYTES, exponent_bytes, modulus_bytes

__all__ = [
    "FORMAT",
    "TEST_CA_FORMAT",
    "CaKeyStore",
    "CaPublicKey",
    "load_ca_keys",
    "load_test_ca_private_keys",
    "public_key_of",
    "save_ca_keys",
    "save_test_ca_private_keys",
]

FORMAT = "tap-capk/1"
TEST_CA_FORMAT = "tap-test-ca/1"
TEST_CA_WARNING = "TEST KEYS: refused in production"
_MIN_MODULUS_BYTES = 64


@dataclass(frozen=True, slots=True)
class CaPublicKey:
    """One CA public key as the terminal stores it (Book 2 11.2.2)."""

    rid: bytes
    index: int
    modulus: bytes = field(repr=False)
    exponent: int
    expiry: date | None
    test: bool

    def __post_init__(self) -> None:
        where = (
            f"CA key {self.rid.hex().upper()}/{self.index:02X}" if len(self.rid) == 5 else "CA key"
        )
        if len(self.rid) != 5:
            raise KeyFileError(f"a RID is 5 bytes, not {len(self.rid)}")
        if not 0 <= self.index <= 0xFF:
            raise KeyFileError(f"a CA public key index is one byte, not {self.index}")
        if not _MIN_MODULUS_BYTES <= len(self.modulus) <= MAX_MODULUS_BYTES or not self.modulus[0]:
            raise KeyFileError(f"{where}: modulus must be 64 to 248 bytes without a leading 00")
        if self.exponent not in EMV_EXPONENTS:
            raise KeyFileError(f"{where}: exponent must be 3 or 65537, not {self.exponent}")

    def checksum(self) -> bytes:
        """SHA-1 over ``RID || index || modulus || exponent`` (Book 2 11.2.2, Annex B3.1).

        >>> key = CaPublicKey(bytes.fromhex("A000000003"), 0x92, b"\\x99" * 176, 3, None, True)
        >>> len(key.checksum())
        20
        """
        return sha1(self.rid + bytes([self.index]) + self.modulus + exponent_bytes(self.exponent))

    @property
    def label(self) -> str:
        """``RID/index`` in hex, for messages: ``A000000003/92``."""
        return f"{self.rid.hex().upper()}/{self.index:02X}"


class CaKeyStore:
    """The terminal's CA public keys by (RID, index), with a revocation list."""

    __slots__ = ("_keys", "_revoked")

    def __init__(
        self, keys: Iterable[CaPublicKey] = (), revoked: Iterable[tuple[bytes, int]] = ()
    ) -> None:
        self._keys: dict[tuple[bytes, int], CaPublicKey] = {}
        for key in keys:
            if (key.rid, key.index) in self._keys:
                raise KeyFileError(f"CA key {key.label} is listed twice")
            self._keys[key.rid, key.index] = key
        self._revoked = frozenset((bytes(rid), index) for rid, index in revoked)

    def lookup(self, rid: bytes, index: int, *, today: date) -> CaPublicKey:
        """The usable key for ``rid`` and ``index`` (Book 2 5.2 / 6.2), or ``OdaError``.

        Revoked is checked first, then missing, then expired (``today`` after ``expiry``).
        """
        label = f"{bytes(rid).hex().upper()}/{index:02X}"
        if (bytes(rid), index) in self._revoked:
            raise OdaError(OdaFailure.CA_KEY_REVOKED, f"CA public key {label} is revoked")
        key = self._keys.get((bytes(rid), index))
        if key is None:
            raise OdaError(OdaFailure.CA_KEY_MISSING, f"no CA public key {label}")
        if key.expiry is not None and today > key.expiry:
            raise OdaError(
                OdaFailure.CA_KEY_EXPIRED, f"CA public key {label} expired on {key.expiry}"
            )
        return key

    def with_revoked(self, rid: bytes, index: int) -> CaKeyStore:
        """A copy of this store that also refuses ``rid``/``index``."""
        return CaKeyStore(self._keys.values(), self._revoked | {(bytes(rid), index)})

    @property
    def keys(self) -> tuple[CaPublicKey, ...]:
        """Every key, in the order given."""
        return tuple(self._keys.values())

    @property
    def revoked(self) -> frozenset[tuple[bytes, int]]:
        """The revoked (RID, index) pairs."""
        return self._revoked

    @property
    def test_keys(self) -> bool:
        """Whether any key is a test key."""
        return any(key.test for key in self._keys.values())

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        labels = ", ".join(key.label for key in self._keys.values())
        return f"CaKeyStore([{labels}], revoked={len(self._revoked)})"


def _write(path: str | os.PathLike[str], document: Mapping[str, Any], mode: int) -> None:
    """Write JSON atomically (temporary file, fsync, rename) with the given file mode."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(document, indent=2) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read(path: str | os.PathLike[str], what: str, expected_format: str) -> dict[str, Any]:
    source = Path(path)
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KeyFileError(f"{what} {source} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"{what} {source} cannot be read: {exc.__class__.__name__}") from None
    except json.JSONDecodeError as exc:
        raise KeyFileError(f"{what} {source} is not JSON (line {exc.lineno})") from None
    if not isinstance(document, dict) or document.get("format") != expected_format:
        raise KeyFileError(f"{what} {source} is not in format {expected_format}")
    return document


def _hex_field(entry: Mapping[str, Any], name: str, where: str, length: int | None = None) -> bytes:
    text = entry.get(name)
    if not isinstance(text, str):
        raise KeyFileError(f"{where}: field {name!r} is missing or not a hex string")
    try:
        value = bytes.fromhex(text)
    except ValueError:
        raise KeyFileError(f"{where}: field {name!r} is not hexadecimal") from None
    if length is not None and len(value) != length:
        raise KeyFileError(f"{where}: field {name!r} must be {length} bytes, not {len(value)}")
    return value


def _rid_index(entry: Any, where: str) -> tuple[bytes, int]:
    if not isinstance(entry, dict):
        raise KeyFileError(f"{where} is not an object")
    return _hex_field(entry, "rid", where, 5), _hex_field(entry, "index", where, 1)[0]


def _parse_key(entry: Any, where: str) -> CaPublicKey:
    rid, index = _rid_index(entry, where)
    modulus = _hex_field(entry, "modulus", where)
    exponent_field = _hex_field(entry, "exponent", where)
    checksum = _hex_field(entry, "checksum", where, 20)
    if exponent_field.hex() not in ("03", "010001"):
        raise KeyFileError(f"{where}: exponent must be 03 or 010001")
    expiry_text, test = entry.get("expiry"), entry.get("test")
    if not isinstance(test, bool):
        raise KeyFileError(f"{where}: field 'test' must be true or false")
    expiry = None
    if expiry_text is not None:
        try:
            expiry = date.fromisoformat(expiry_text)
        except (TypeError, ValueError):
            raise KeyFileError(f"{where}: expiry must be YYYY-MM-DD or null") from None
    try:
        key = CaPublicKey(rid, index, modulus, int.from_bytes(exponent_field, "big"), expiry, test)
    except KeyFileError as exc:
        raise KeyFileError(f"{where}: {exc}") from None
    if key.checksum() != checksum:
        raise KeyFileError(f"{where}: CA key {key.label} does not match its check sum")
    return key


def load_ca_keys(path: str | os.PathLike[str], *, production: bool = False) -> CaKeyStore:
    """Read and check a ``tap-capk/1`` file; ``production`` refuses test keys."""
    document = _read(path, "CA public key file", FORMAT)
    entries, revoked = document.get("keys"), document.get("revoked", [])
    if not isinstance(entries, list) or not isinstance(revoked, list):
        raise KeyFileError(f"CA public key file {path}: 'keys' and 'revoked' must be lists")
    where = f"CA public key file {path}"
    keys = [_parse_key(entry, f"{where}, keys[{i}]") for i, entry in enumerate(entries)]
    pairs = [_rid_index(entry, f"{where}, revoked[{i}]") for i, entry in enumerate(revoked)]
    store = CaKeyStore(keys, pairs)
    if production and store.test_keys:
        tests = ", ".join(key.label for key in keys if key.test)
        raise KeyFileError(f"{where} holds test CA keys ({tests}): refused in production mode")
    return store


def save_ca_keys(store: CaKeyStore, path: str | os.PathLike[str]) -> None:
    """Write a ``tap-capk/1`` file atomically (mode 0644: these keys are public)."""
    document = {
        "format": FORMAT,
        "keys": [
            {
                "rid": key.rid.hex().upper(),
                "index": f"{key.index:02X}",
                "modulus": key.modulus.hex().upper(),
                "exponent": exponent_bytes(key.exponent).hex().upper(),
                "expiry": key.expiry.isoformat() if key.expiry else None,
                "checksum": key.checksum().hex().upper(),
                "test": key.test,
            }
            for key in store.keys
        ],
        "revoked": [
            {"rid": rid.hex().upper(), "index": f"{index:02X}"}
            for rid, index in sorted(store.revoked)
        ],
    }
    _write(path, document, 0o644)


def save_test_ca_private_keys(
    keys: Mapping[tuple[bytes, int], rsa.RSAPrivateKey], path: str | os.PathLike[str]
) -> None:
    """Write test CA private keys (``tap-test-ca/1``, PEM PKCS #8, marked test)."""
    document = {
        "format": TEST_CA_FORMAT,
        "test": True,
        "warning": TEST_CA_WARNING,
        "keys": [
            {
                "rid": rid.hex().upper(),
                "index": f"{index:02X}",
                "private_key": key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ).decode("ascii"),
            }
            for (rid, index), key in keys.items()
        ],
    }
    _write(path, document, 0o644)


def load_test_ca_private_keys(
    path: str | os.PathLike[str],
) -> dict[tuple[bytes, int], rsa.RSAPrivateKey]:
    """Read the test CA private keys by (RID, index), for personalizing emulated cards.

    Only files marked ``"test": true`` are accepted: real CA private keys live in an HSM.
    """
    document = _read(path, "test CA key file", TEST_CA_FORMAT)
    where = f"test CA key file {path}"
    if document.get("test") is not True or not isinstance(document.get("keys"), list):
        raise KeyFileError(f"{where} must be marked \"test\": true and list its 'keys'")
    keys: dict[tuple[bytes, int], rsa.RSAPrivateKey] = {}
    for i, entry in enumerate(document["keys"]):
        rid, index = _rid_index(entry, f"{where}, keys[{i}]")
        pem = entry.get("private_key")
        try:
            key = serialization.load_pem_private_key(str(pem).encode("ascii"), password=None)
        except (ValueError, TypeError, UnicodeEncodeError):
            raise KeyFileError(f"{where}, keys[{i}]: not an unencrypted PEM private key") from None
        if not isinstance(key, rsa.RSAPrivateKey) or key.public_key().public_numbers().e not in (
            EMV_EXPONENTS
        ):
            raise KeyFileError(f"{where}, keys[{i}]: not an RSA key with exponent 3 or 65537")
        if (rid, index) in keys:
            raise KeyFileError(f"{where}: {rid.hex().upper()}/{index:02X} is listed twice")
        keys[rid, index] = key
    return keys


def public_key_of(
    rid: bytes, index: int, key: rsa.RSAPrivateKey, *, expiry: date | None, test: bool
) -> CaPublicKey:
    """The :class:`CaPublicKey` a terminal stores for a CA private key."""
    exponent = key.public_key().public_numbers().e
    return CaPublicKey(rid, index, modulus_bytes(key), exponent, expiry, test)
