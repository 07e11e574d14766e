"""Key files encrypted under a key-encryption key, so no key lies in clear beside the database.

The key-encryption key (KEK) is a 256-bit AES key, 64 hexadecimal digits, kept apart from
the data directory: in the file named by ``TAP_ACQUIRER_KEK_FILE`` (owner-only, mode 0600
or narrower; a file others can read is refused) or in the ``TAP_ACQUIRER_KEK`` variable
(for a secrets manager that injects the environment). A sealed key file is::

    {"format": "tap-sealed-key-file/1", "purpose": "issuer-keys",
     "kek_kcv": "<10 hex digits>", "nonce": "<24 hex digits>", "ciphertext": "<hex>"}

``ciphertext`` is the clear key file's bytes under AES-256-GCM (NIST SP 800-38D) with a
random 96-bit nonce and the format and purpose as associated data, so a sealed vault key
cannot be swapped in for the issuer keys. ``kek_kcv`` (AES-CMAC KCV, 5 bytes) says which KEK
sealed it, so a wrong KEK is named before decryption is tried. Key files are read with
:func:`read_key_file`: a sealed file needs the KEK; production refuses a clear one (:func:`refuse_clear`).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from hmac import compare_digest
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from acquirer.errors import KeyEncryptionKeyError, KeyMaterialError, ProductionRefusedError
from emvcore.keyfile import write_private_file
from emvcore.keys import aes_kcv

__all__ = [
    "KEK_ENV",
    "KEK_FILE_ENV",
    "SEALED_FORMAT",
    "Kek",
    "KeyFileBytes",
    "load_kek",
    "read_key_file",
    "refuse_clear",
    "write_key_file",
]

#: Environment variable holding the KEK itself (64 hex digits).
KEK_ENV = "TAP_ACQUIRER_KEK"
#: Environment variable naming a file (mode 0600) that holds the KEK.
KEK_FILE_ENV = "TAP_ACQUIRER_KEK_FILE"
SEALED_FORMAT = "tap-sealed-key-file/1"
_KCV_LENGTH = 5
_NONCE_LENGTH = 12


@dataclass(frozen=True, slots=True)
class Kek:
    """The key-encryption key; ``source`` says where it came from (never the key)."""

    key: bytes = field(repr=False)
    source: str = field(compare=False)

    def __post_init__(self) -> None:
        if len(self.key) != 32:
            raise KeyEncryptionKeyError(
                f"the key-encryption key from {self.source} must be 64 hex digits (AES-256)"
            )

    @classmethod
    def generate(cls, source: str = "a new key") -> Kek:
        """A fresh random KEK (for ``tap-acquirer keys kek new`` and tests)."""
        return cls(os.urandom(32), source)

    @property
    def kcv(self) -> bytes:
        """The KEK's key check value (AES-CMAC, 5 bytes)."""
        return aes_kcv(self.key, _KCV_LENGTH)

    def hex(self) -> str:
        """The KEK as the KEK file holds it (to write that file; never to log)."""
        return self.key.hex().upper()


def refuse_open_mode(path: Path, what: str) -> None:
    """Refuse ``path`` unless only its owner may read or write it (mode 0600 or narrower)."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyEncryptionKeyError(
            f"{what} {path} has mode {mode:04o}; it must be readable by its owner only "
            f"(chmod 600 {path})"
        )


def _parse_kek(text: str, source: str) -> Kek:
    try:
        key = bytes.fromhex("".join(text.split()))
    except ValueError:
        raise KeyEncryptionKeyError(
            f"the key-encryption key from {source} is not hexadecimal"
        ) from None
    return Kek(key, source)


def load_kek(environ: Mapping[str, str] | None = None) -> Kek | None:
    """The KEK from ``TAP_ACQUIRER_KEK_FILE`` or ``TAP_ACQUIRER_KEK``; ``None`` if neither."""
    env = os.environ if environ is None else environ
    path_text, value = env.get(KEK_FILE_ENV), env.get(KEK_ENV)
    if path_text and value:
        raise KeyEncryptionKeyError(f"set {KEK_FILE_ENV} or {KEK_ENV}, not both")
    if value:
        return _parse_kek(value, f"${KEK_ENV}")
    if not path_text:
        return None
    path = Path(path_text).expanduser()
    try:
        refuse_open_mode(path, "the key-encryption key file")
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise KeyEncryptionKeyError(f"the key-encryption key file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyEncryptionKeyError(
            f"the key-encryption key file {path} cannot be read: {exc.__class__.__name__}"
        ) from None
    return _parse_kek(text, str(path))


def _aad(purpose: str) -> bytes:
    return f"{SEALED_FORMAT}|{purpose}".encode()


def seal(kek: Kek, purpose: str, plaintext: bytes) -> bytes:
    """The sealed key file's bytes for a clear key file's ``plaintext``."""
    nonce = os.urandom(_NONCE_LENGTH)
    ciphertext = AESGCM(kek.key).encrypt(nonce, plaintext, _aad(purpose))
    document = {
        "format": SEALED_FORMAT,
        "purpose": purpose,
        "kek_kcv": kek.kcv.hex().upper(),
        "nonce": nonce.hex().upper(),
        "ciphertext": ciphertext.hex().upper(),
    }
    return (json.dumps(document, indent=2) + "\n").encode()


def is_sealed(data: bytes) -> bool:
    """True when ``data`` is a sealed key file (a clear key file has another format)."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(document, dict) and document.get("format") == SEALED_FORMAT


def unseal(kek: Kek, purpose: str, data: bytes, path: Path) -> bytes:
    """The clear key file inside a sealed one; refused if another KEK or purpose sealed it."""
    document = json.loads(data)
    try:
        check = bytes.fromhex(document["kek_kcv"])
        nonce = bytes.fromhex(document["nonce"])
        ciphertext = bytes.fromhex(document["ciphertext"])
        sealed_for = document["purpose"]
    except (KeyError, TypeError, ValueError):
        raise KeyMaterialError(f"sealed key file {path} is malformed") from None
    if sealed_for != purpose:
        raise KeyMaterialError(f"sealed key file {path} holds {sealed_for}, not {purpose}")
    if not compare_digest(check, kek.kcv):
        raise KeyEncryptionKeyError(
            f"{path} was sealed under the key-encryption key with KCV "
            f"{document['kek_kcv']}, not the one from {kek.source} "
            f"(KCV {kek.kcv.hex().upper()})"
        )
    try:
        return AESGCM(kek.key).decrypt(nonce, ciphertext, _aad(purpose))
    except InvalidTag:
        raise KeyMaterialError(f"sealed key file {path} fails its authentication tag") from None


@dataclass(frozen=True, slots=True)
class KeyFileBytes:
    """A key file's clear bytes, and whether it was sealed on disk."""

    data: bytes = field(repr=False)
    sealed: bool


def read_key_file(path: Path, purpose: str, kek: Kek | None) -> KeyFileBytes | None:
    """A key file's clear bytes, unsealed with ``kek``; ``None`` if the file does not exist.

    A sealed file without a KEK, or a file others may read, is refused
    (:class:`KeyEncryptionKeyError`). Whether a clear file is acceptable is the caller's
    decision (:func:`refuse_clear` in production).
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise KeyMaterialError(
            f"key file {path} cannot be read: {exc.__class__.__name__}"
        ) from None
    refuse_open_mode(path, "key file")
    if not is_sealed(data):
        return KeyFileBytes(data, sealed=False)
    if kek is None:
        raise KeyEncryptionKeyError(
            f"{path} is encrypted; give its key-encryption key in {KEK_FILE_ENV} or {KEK_ENV}"
        )
    return KeyFileBytes(unseal(kek, purpose, data, path), sealed=True)


def refuse_clear(paths: list[Path]) -> None:
    """Production mode: :class:`ProductionRefusedError` naming the key files kept in clear."""
    if paths:
        names = ", ".join(str(path) for path in paths)
        raise ProductionRefusedError(
            f"production mode refuses key files in clear ({names}); encrypt them with "
            f"`tap-acquirer keys encrypt` (key-encryption key in {KEK_FILE_ENV} or {KEK_ENV})"
        )


def write_key_file(path: Path, purpose: str, plaintext: bytes, kek: Kek | None) -> None:
    """Write a key file (0600, atomically), sealed under ``kek`` when one is given."""
    write_private_file(path, plaintext if kek is None else seal(kek, purpose, plaintext))
