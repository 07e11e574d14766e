"""Issuer master key files: the keys an issuer (and its personalization bureau) hold.

One JSON file, written by ``tap-acquirer init`` and read by the acquirer (to verify ARQCs)
and by ``tap-card personalize`` (to derive each card's ICC master key, EMV Book 2 A1.4)::

    {
      "format": "tap-issuer-keys/1",
      "test_keys": true,
      "issuers": [
        {"label": "Visa-style test tokens", "scheme": "visa",
         "bin_low": "48953700", "bin_high": "48953799",
         "cvn": "visa-cvn18", "dki": 1,
         "imk_ac": "<32 hex digits>", "kcv": "<6 hex digits>"}
      ]
    }

``imk_ac`` is the double-length issuer master key for application cryptograms; ``kcv`` its
key check value, checked on every load so a mistyped key is caught before it declines a
day of payments. ``bin_low``/``bin_high`` are digit strings of one length, compared with
the PAN's (token's) prefix of that length; ranges must not overlap. ``test_keys`` marks
keys made by this software for development: production mode refuses them.

Keys never appear in a ``repr``, a log line or an exception message.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emvcore.crypto.cvn import cryptogram_version
from emvcore.crypto.tdes import adjust_parity, kcv
from emvcore.errors import CryptoError, IssuerKeyNotFoundError, KeyFileError

FORMAT = "tap-issuer-keys/1"

#: Default test token ranges made by :func:`generate_test_issuer_keys`:
#: (label, scheme, bin_low, bin_high, cryptogram version, derivation key index).
TEST_RANGES: tuple[tuple[str, str, str, str, str, int], ...] = (
    ("Visa-style test tokens", "visa", "48953700", "48953799", "visa-cvn18", 1),
    ("Mastercard-style test tokens", "mastercard", "53998300", "53998399", "mastercard-cvn17", 1),
)


@dataclass(frozen=True, slots=True)
class IssuerKey:
    """One issuer master key and the token BIN range it covers."""

    label: str
    scheme: str
    bin_low: str
    bin_high: str
    cvn: str
    dki: int
    imk_ac: bytes = field(repr=False)

    def covers(self, pan: str) -> bool:
        """True when the PAN's prefix of the range's length lies in ``[bin_low, bin_high]``.

        >>> key = IssuerKey("t", "visa", "48953700", "48953799", "visa-cvn18", 1, bytes(16))
        >>> key.covers("4895370012345678"), key.covers("4895380012345678")
        (True, False)
        """
        prefix = pan[: len(self.bin_low)]
        return len(prefix) == len(self.bin_low) and self.bin_low <= prefix <= self.bin_high

    @property
    def kcv(self) -> bytes:
        """The 3-byte key check value of ``imk_ac``."""
        return kcv(self.imk_ac)


@dataclass(frozen=True, slots=True)
class IssuerKeySet:
    """The issuer keys of one key file."""

    keys: tuple[IssuerKey, ...]
    test_keys: bool

    def for_pan(self, pan: str) -> IssuerKey:
        """The key whose BIN range covers ``pan``; the error names only the BIN."""
        for key in self.keys:
            if key.covers(pan):
                return key
        raise IssuerKeyNotFoundError(f"no issuer key covers BIN {pan[:6]}")

    def for_scheme(self, scheme: str) -> IssuerKey:
        """The first key of a scheme (``visa``, ``mastercard``)."""
        for key in self.keys:
            if key.scheme == scheme:
                return key
        known = ", ".join(sorted({k.scheme for k in self.keys})) or "none"
        raise IssuerKeyNotFoundError(f"no issuer key for scheme {scheme!r} (key file has: {known})")


def generate_test_issuer_keys() -> IssuerKeySet:
    """Fresh random test IMKs (odd parity) for the default test token ranges."""
    keys = tuple(
        IssuerKey(label, scheme, low, high, cvn, dki, adjust_parity(os.urandom(16)))
        for label, scheme, low, high, cvn, dki in TEST_RANGES
    )
    return IssuerKeySet(keys=keys, test_keys=True)


def write_private_file(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` atomically (temporary file, fsync, rename) readable by the owner only."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def save_issuer_keys(keyset: IssuerKeySet, path: str | os.PathLike[str]) -> None:
    """Write a key file (mode 0600, atomically)."""
    write_private_file(path, encode_issuer_keys(keyset))


def encode_issuer_keys(keyset: IssuerKeySet) -> bytes:
    """The key file's bytes (JSON), for :func:`save_issuer_keys` or to encrypt first."""
    document = {
        "format": FORMAT,
        "test_keys": keyset.test_keys,
        "issuers": [
            {
                "label": key.label,
                "scheme": key.scheme,
                "bin_low": key.bin_low,
                "bin_high": key.bin_high,
                "cvn": key.cvn,
                "dki": key.dki,
                "imk_ac": key.imk_ac.hex().upper(),
                "kcv": key.kcv.hex().upper(),
            }
            for key in keyset.keys
        ],
    }
    return (json.dumps(document, indent=2) + "\n").encode()


def load_issuer_keys(path: str | os.PathLike[str]) -> IssuerKeySet:
    """Read and check a key file: format, fields, key lengths, KCVs, non-overlapping ranges."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeyFileError(
            f"issuer key file {source} not found (make one with `tap-acquirer init`)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(
            f"issuer key file {source} cannot be read: {exc.__class__.__name__}"
        ) from None
    return parse_issuer_keys(text, source)


def parse_issuer_keys(text: str, source: str | os.PathLike[str]) -> IssuerKeySet:
    """Check and parse a key file's text (``source`` names it in errors)."""
    source = Path(source)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise KeyFileError(f"issuer key file {source} is not JSON (line {exc.lineno})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise KeyFileError(f"issuer key file {source} is not in format {FORMAT}")
    test_keys = document.get("test_keys")
    entries = document.get("issuers")
    if not isinstance(test_keys, bool) or not isinstance(entries, list) or not entries:
        raise KeyFileError(
            f"issuer key file {source} needs 'test_keys' and a non-empty 'issuers' list"
        )
    keys = tuple(_parse_entry(source, index, entry) for index, entry in enumerate(entries))
    _check_overlaps(source, keys)
    return IssuerKeySet(keys=keys, test_keys=test_keys)


def _parse_entry(source: Path, index: int, entry: Any) -> IssuerKey:
    where = f"issuer key file {source}, issuers[{index}]"
    if not isinstance(entry, dict):
        raise KeyFileError(f"{where} is not an object")
    text_fields = ("label", "scheme", "bin_low", "bin_high", "cvn", "imk_ac", "kcv")
    for name in text_fields:
        if not isinstance(entry.get(name), str):
            raise KeyFileError(f"{where}: field {name!r} is missing or not a string")
    dki = entry.get("dki")
    if not isinstance(dki, int) or isinstance(dki, bool) or not 0 <= dki <= 255:
        raise KeyFileError(f"{where}: 'dki' must be an integer 0..255")
    low, high = entry["bin_low"], entry["bin_high"]
    if not (low.isdigit() and high.isdigit() and len(low) == len(high) and 6 <= len(low) <= 12):
        raise KeyFileError(f"{where}: bin_low/bin_high must be digit strings of one length (6-12)")
    if low > high:
        raise KeyFileError(f"{where}: bin_low is above bin_high")
    try:
        cryptogram_version(entry["cvn"])
    except CryptoError as exc:
        raise KeyFileError(f"{where}: {exc}") from None
    try:
        imk = bytes.fromhex(entry["imk_ac"])
        check = bytes.fromhex(entry["kcv"])
    except ValueError:
        raise KeyFileError(f"{where}: imk_ac and kcv must be hexadecimal") from None
    if len(imk) != 16:
        raise KeyFileError(f"{where}: imk_ac must be a 16-byte double-length key")
    if len(check) < 2 or kcv(imk, len(check)) != check:
        raise KeyFileError(f"{where}: imk_ac does not match its key check value {entry['kcv']}")
    return IssuerKey(entry["label"], entry["scheme"], low, high, entry["cvn"], dki, imk)


def _check_overlaps(source: Path, keys: tuple[IssuerKey, ...]) -> None:
    for i, first in enumerate(keys):
        for second in keys[i + 1 :]:
            width = max(len(first.bin_low), len(second.bin_low))
            lo1, hi1 = first.bin_low.ljust(width, "0"), first.bin_high.ljust(width, "9")
            lo2, hi2 = second.bin_low.ljust(width, "0"), second.bin_high.ljust(width, "9")
            if lo1 <= hi2 and lo2 <= hi1:
                raise KeyFileError(
                    f"issuer key file {source}: ranges of {first.label!r} and {second.label!r} overlap"
                )
