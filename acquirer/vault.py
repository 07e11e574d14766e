"""The token vault: funding PANs in, tokens (DPANs) and PARs out, the PAN kept only encrypted.

The vault key file, made by ``tap-acquirer init``::

    {"format": "tap-vault-key/1", "test_key": true,
     "key": "<64 hex digits>", "kcv": "<10 hex digits>"}

``key`` is a 256-bit master key; ``kcv`` its key check value (the first 5 bytes of AES-CMAC
over a zero block, the AES method of ANSI X9.24-1:2017), checked on every load. The master
key is never used directly: HKDF-SHA256 (RFC 5869) derives one key per purpose, so a key
used for encryption is never also used as a MAC key:

- ``tap-acquirer/vault/pan-encryption/v1``: AES-256-GCM (NIST SP 800-38D) key. A stored
  funding PAN is ``nonce (12 random bytes) || ciphertext || tag (16)``, with the token as
  associated data, so a ciphertext moved to another token's row fails to decrypt.
- ``tap-acquirer/vault/pan-fingerprint/v1``: HMAC-SHA256 key. The fingerprint of a funding
  PAN identifies the account without storing it in clear, and gives every token of one
  account the same Payment Account Reference: the BIN controller identifier followed by 25
  base32 characters of the fingerprint (EMVCo PAR specification: 4 + 25 upper-case
  alphanumerics, not reversible to the PAN).

The funding PAN leaves the vault only through :meth:`TokenVault.detokenize`, for the service
layer; no message, log line or ``repr`` here contains it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import cmac, hashes
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from acquirer.clock import utc_now
from acquirer.errors import FundingPanError, KeyMaterialError, ProvisioningError, TokenNotFoundError
from acquirer.registry import RegistryStore, TokenRow, TokenStatus
from emvcore.errors import IssuerKeyNotFoundError
from emvcore.keyfile import IssuerKeySet, write_private_file
from emvcore.pan import is_luhn_valid, luhn_check_digit, mask_pan
from emvcore.provisioning import TokenRecord

FORMAT = "tap-vault-key/1"
_ENCRYPTION_LABEL = b"tap-acquirer/vault/pan-encryption/v1"
_FINGERPRINT_LABEL = b"tap-acquirer/vault/pan-fingerprint/v1"
_NONCE_LENGTH = 12
_TOKEN_LENGTH = 16
_PAR_SUFFIX_LENGTH = 25
_KCV_LENGTH = 5


@dataclass(frozen=True, slots=True)
class VaultKey:
    """The vault's master key. ``repr`` hides the key."""

    key: bytes = field(repr=False)
    test_key: bool

    def __post_init__(self) -> None:
        if len(self.key) != 32:
            raise KeyMaterialError("vault key must be 32 bytes")

    @classmethod
    def generate(cls, *, test_key: bool = True) -> VaultKey:
        """A fresh random key from the operating system's CSPRNG."""
        return cls(os.urandom(32), test_key)

    @property
    def kcv(self) -> bytes:
        """Key check value: the first 5 bytes of AES-CMAC(key, 16 zero bytes)."""
        mac = cmac.CMAC(algorithms.AES(self.key))
        mac.update(bytes(16))
        return mac.finalize()[:_KCV_LENGTH]

    def derive(self, label: bytes) -> bytes:
        """A 32-byte key for one purpose (HKDF-SHA256, RFC 5869, ``info`` = ``label``)."""
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(self.key)

    def save(self, path: Path) -> None:
        """Write the key file atomically with mode 0600."""
        write_private_file(path, self.to_bytes())

    def to_bytes(self) -> bytes:
        """The key file's bytes (JSON), for :meth:`save` or to encrypt first."""
        document = {
            "format": FORMAT,
            "test_key": self.test_key,
            "key": self.key.hex().upper(),
            "kcv": self.kcv.hex().upper(),
        }
        return (json.dumps(document, indent=2) + "\n").encode()

    @classmethod
    def load(cls, path: Path) -> VaultKey:
        """Read and check a vault key file; :class:`KeyMaterialError` names what is wrong."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise KeyMaterialError(
                f"vault key file {path} not found (make one with `tap-acquirer init`)"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise KeyMaterialError(
                f"vault key file {path} cannot be read: {exc.__class__.__name__}"
            ) from None
        return cls.parse(text, path)

    @classmethod
    def parse(cls, text: str, path: Path) -> VaultKey:
        """Check and parse a vault key file's text (``path`` names it in errors)."""
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise KeyMaterialError(
                f"vault key file {path} is not JSON (line {exc.lineno})"
            ) from None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise KeyMaterialError(f"vault key file {path} is not in format {FORMAT}")
        test_key, key_hex = document.get("test_key"), document.get("key")
        kcv_hex = document.get("kcv")
        if not (
            isinstance(test_key, bool) and isinstance(key_hex, str) and isinstance(kcv_hex, str)
        ):
            raise KeyMaterialError(f"vault key file {path} needs 'test_key', 'key' and 'kcv'")
        try:
            key, check = bytes.fromhex(key_hex), bytes.fromhex(kcv_hex)
        except ValueError:
            raise KeyMaterialError(
                f"vault key file {path}: key and kcv must be hexadecimal"
            ) from None
        if len(key) != 32:
            raise KeyMaterialError(f"vault key file {path}: key must be 32 bytes")
        loaded = cls(key, test_key)
        if not hmac.compare_digest(loaded.kcv, check):
            raise KeyMaterialError(
                f"vault key file {path}: key does not match its key check value {kcv_hex}"
            )
        return loaded


def check_funding_pan(pan: str) -> None:
    """Raise :class:`FundingPanError` unless ``pan`` is 12-19 ASCII digits, Luhn-valid.

    The message never contains the PAN:

    >>> check_funding_pan("4111 1111 1111 1111")
    Traceback (most recent call last):
    ...
    acquirer.errors.FundingPanError: funding PAN must contain digits only
    """
    if not (pan.isascii() and pan.isdigit()):
        raise FundingPanError("funding PAN must contain digits only")
    if not 12 <= len(pan) <= 19:
        raise FundingPanError(f"funding PAN must be 12 to 19 digits long (got {len(pan)})")
    if not is_luhn_valid(pan):
        raise FundingPanError("funding PAN fails its Luhn check digit (mistyped?)")


def check_expiry(expiry: str, now: datetime) -> None:
    """Raise :class:`ProvisioningError` unless ``expiry`` is a YYMM not before ``now``'s month."""
    if not (
        len(expiry) == 4 and expiry.isascii() and expiry.isdigit() and 1 <= int(expiry[2:]) <= 12
    ):
        raise ProvisioningError("expiry must be YYMM, for example 2912")
    if expiry < now.strftime("%y%m"):
        raise ProvisioningError(f"expiry {expiry} is in the past")


class TokenVault:
    """Issues tokens for funding PANs and keeps the PANs encrypted in a :class:`Store`."""

    def __init__(
        self,
        store: RegistryStore,
        issuer_keys: IssuerKeySet,
        key: VaultKey,
        *,
        bin_controller_id: str,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._issuer_keys = issuer_keys
        self._test = key.test_key or issuer_keys.test_keys
        self._aead = AESGCM(key.derive(_ENCRYPTION_LABEL))
        self._fingerprint_key = key.derive(_FINGERPRINT_LABEL)
        self._bin_controller_id = bin_controller_id
        self._clock = clock

    def fingerprint(self, funding_pan: str) -> bytes:
        """HMAC-SHA256 of the funding PAN under the vault's fingerprint key."""
        return hmac.new(self._fingerprint_key, funding_pan.encode("ascii"), hashlib.sha256).digest()

    def par(self, funding_pan: str) -> str:
        """The Payment Account Reference of a funding account: stable, not reversible."""
        suffix = base64.b32encode(self.fingerprint(funding_pan)).decode("ascii")
        return self._bin_controller_id + suffix[:_PAR_SUFFIX_LENGTH]

    def provision(self, funding_pan: str, scheme: str, expiry: str | None = None) -> TokenRecord:
        """Issue a new token for ``funding_pan`` in ``scheme``'s issuer key BIN range.

        The token is 16 digits, random after the BIN prefix, Luhn-valid, PSN ``00``;
        ``expiry`` (YYMM) defaults to three years from now.
        """
        check_funding_pan(funding_pan)
        now = self._clock()
        if expiry is None:
            expiry = f"{(now.year + 3) % 100:02d}{now.month:02d}"
        check_expiry(expiry, now)
        try:
            issuer_key = self._issuer_keys.for_scheme(scheme)
        except IssuerKeyNotFoundError as exc:
            raise ProvisioningError(str(exc)) from None
        fingerprint = self.fingerprint(funding_pan)
        par = self.par(funding_pan)
        for _ in range(32):
            token = _random_token(issuer_key.bin_low, issuer_key.bin_high)
            if token == funding_pan:
                continue
            nonce = os.urandom(_NONCE_LENGTH)
            sealed = nonce + self._aead.encrypt(nonce, funding_pan.encode("ascii"), token.encode())
            row = TokenRow(
                token=token,
                pan_enc=sealed,
                pan_fingerprint=fingerprint,
                pan_masked=mask_pan(funding_pan),
                par=par,
                expiry=expiry,
                psn="00",
                scheme=issuer_key.scheme,
                status=TokenStatus.ACTIVE,
                created_at=now,
            )
            if self._store.put_token(row):
                return TokenRecord(
                    token=token,
                    expiry=expiry,
                    psn="00",
                    par=par,
                    scheme=issuer_key.scheme,
                    test=self._test,
                )
        raise ProvisioningError(f"no free token number found in BIN range of {issuer_key.label!r}")

    def detokenize(self, token: str) -> str:
        """The funding PAN behind ``token``; for the service layer only, never to be logged.

        :class:`TokenNotFoundError` if the token is unknown; :class:`KeyMaterialError` if
        the stored ciphertext does not open under this vault key (wrong key file, or a
        row that was altered or moved).
        """
        row = self._store.get_token(token)
        if row is None:
            raise TokenNotFoundError("no such token in the vault")
        nonce, sealed = row.pan_enc[:_NONCE_LENGTH], row.pan_enc[_NONCE_LENGTH:]
        try:
            return self._aead.decrypt(nonce, sealed, token.encode()).decode("ascii")
        except InvalidTag:
            raise KeyMaterialError(
                "a vault row does not decrypt under this vault key "
                "(wrong vault-key.json, or the row was altered)"
            ) from None


def _random_token(bin_low: str, bin_high: str) -> str:
    """A random Luhn-valid 16-digit number whose prefix lies in ``[bin_low, bin_high]``."""
    width = len(bin_low)
    prefix = str(int(bin_low) + secrets.randbelow(int(bin_high) - int(bin_low) + 1)).zfill(width)
    body = prefix + "".join(secrets.choice("0123456789") for _ in range(_TOKEN_LENGTH - 1 - width))
    return body + luhn_check_digit(body)
