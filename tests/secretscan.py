"""The secret scan: no clear PAN and no key material in anything a test run wrote.

DESIGN.md: the funding PAN is stored only encrypted; logs and the ledger carry tokens,
masked PANs and PARs only; keys live in their key files. At the end of a test session
(``tests/conftest.py``) every regular file under pytest's basetemp and the services folder
(``$TAP_SERVICES_DIR``: the PostgreSQL cluster, server logs) is searched, byte for byte,
for:

- **PANs**: the funding and card PANs the tests use: every quoted, Luhn-valid 13 to 19
  digit literal in the test sources (``tests/``) outside the test token BIN ranges
  (:data:`emvcore.keyfile.TEST_RANGES`: tokens are stored and logged in clear by design),
  as ASCII digits (which is also their BCD hex), packed BCD (``F``-padded when odd) and
  UTF-16;
- **key material**: every key held by a key file written during the run (issuer master
  keys, the vault key, a card's ICC master key, and any key file format added to
  :data:`KEY_FILE_FIELDS`, BDKs when they come), raw, in hex (both cases) and base64.

Key files themselves (and PEM private keys) are where keys belong and are not searched.
A finding names the file, the offset and the kind of secret with a safe label (a masked
PAN, a key's file and field), never the secret.

>>> scanner = SecretScanner([Secret.pan("5413339000001513")])
>>> [str(f.kind) for f in scanner.scan_bytes(b"..5413339000001513..")]
['PAN']
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import ahocorasick_rs

from emvcore.keyfile import TEST_RANGES
from emvcore.pan import is_luhn_valid, mask_pan

#: Key file formats (the ``format`` field of their JSON, any version: ``tap-card/0`` is a
#: card file too) and where each keeps its keys: a dotted path, ``[]`` for every element.
KEY_FILE_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "tap-issuer-keys": (("issuer master key", "issuers.[].imk_ac"),),
    "tap-vault-key": (("vault key", "key"),),
    "tap-card": (("ICC master key", "icc_mk"),),
    "tap-test-ca": (),
    "tap-keyring": (("keyring key", "keys.[].key"),),
    "tap-sealed-key-file": (),
    "tap-dukpt-initial-key": (("DUKPT initial key", "initial_key"),),
    "tap-dukpt-device": (("DUKPT future key", "registers.[]"),),
}
_PAN_LITERAL = re.compile(rb"""["']([2-6][0-9]{12,18})["']""")
_CHUNK = 64 << 20
_OVERLAP = 128  # longer than any needle (a 32-byte key in hex is 64)


@dataclass(frozen=True, slots=True)
class Secret:
    """One secret and the byte strings it may appear as; ``label`` is safe to print."""

    kind: str
    label: str
    forms: tuple[tuple[str, bytes], ...]

    @classmethod
    def pan(cls, pan: str) -> Secret:
        """A PAN as ASCII (and so hex of BCD), packed BCD and UTF-16LE digits."""
        padded = pan if len(pan) % 2 == 0 else pan + "F"
        forms = (
            ("digits", pan.encode()),
            ("packed BCD", bytes.fromhex(padded)),
            ("UTF-16 digits", pan.encode("utf-16-le")),
        )
        return cls("PAN", mask_pan(pan), forms)

    @classmethod
    def key(cls, kind: str, label: str, key: bytes) -> Secret:
        """Key bytes raw, in hex (upper and lower case) and in base64."""
        forms = (
            ("raw", key),
            ("hex", key.hex().upper().encode()),
            ("hex", key.hex().encode()),
            ("base64", base64.b64encode(key).rstrip(b"=")),
        )
        return cls(kind, label, forms)


@dataclass(frozen=True, slots=True)
class Finding:
    """A secret found in a file: where, and which kind (never its value)."""

    path: Path
    offset: int
    kind: str
    label: str
    form: str

    def __str__(self) -> str:
        return f"{self.path}: offset {self.offset}: {self.kind} {self.label} ({self.form})"


class SecretScanner:
    """Searches bytes and files for every form of every secret at once (Aho-Corasick)."""

    def __init__(self, secrets: Iterable[Secret]) -> None:
        self._needles: list[tuple[Secret, str]] = []
        patterns: list[bytes] = []
        seen: set[bytes] = set()
        for secret in secrets:
            for form, needle in secret.forms:
                if len(needle) >= 6 and needle not in seen:
                    seen.add(needle)
                    patterns.append(needle)
                    self._needles.append((secret, form))
        longest = ahocorasick_rs.MatchKind.LeftmostLongest
        self._automaton = (
            ahocorasick_rs.BytesAhoCorasick(patterns, matchkind=longest) if patterns else None
        )

    def scan_bytes(self, data: bytes, path: Path = Path("-"), base: int = 0) -> list[Finding]:
        """Every secret in ``data``; offsets are ``base`` plus the index in ``data``."""
        if self._automaton is None:
            return []
        findings = []
        for index, start, _ in self._automaton.find_matches_as_indexes(data, overlapping=False):
            secret, form = self._needles[index]
            findings.append(Finding(path, base + start, secret.kind, secret.label, form))
        return findings

    def scan_file(self, path: Path) -> list[Finding]:
        """Every secret in one file, read in large chunks that overlap by a needle's length."""
        found: dict[tuple[int, str, str], Finding] = {}
        try:
            with path.open("rb") as handle:
                offset, carry = 0, b""
                while chunk := handle.read(_CHUNK):
                    for f in self.scan_bytes(carry + chunk, path, offset - len(carry)):
                        found[f.offset, f.kind, f.label] = f
                    carry = (carry + chunk)[-_OVERLAP:]
                    offset += len(chunk)
        except OSError:
            pass  # a file removed while the run ended (a socket, a lock) is no leak
        return sorted(found.values(), key=lambda f: f.offset)

    def scan(self, files: Iterable[Path]) -> list[Finding]:
        """Every secret in every file given."""
        return [finding for path in files for finding in self.scan_file(path)]


def regular_files(roots: Iterable[Path]) -> Iterator[Path]:
    """Every regular file under the roots (symbolic links are not followed)."""
    for root in roots:
        if not root.exists():
            continue
        for folder, _, names in os.walk(root):
            for name in names:
                path = Path(folder) / name
                if path.is_file() and not path.is_symlink():
                    yield path


def _is_token(number: str) -> bool:
    return any(low <= number[: len(low)] <= high for _, _, low, high, _, _ in TEST_RANGES)


def pans_in_sources(roots: Iterable[Path]) -> set[str]:
    """Quoted, Luhn-valid PAN literals in the ``.py`` and ``.json`` files, tokens excluded."""
    found: set[str] = set()
    for path in regular_files(roots):
        if path.suffix not in (".py", ".json"):
            continue
        for match in _PAN_LITERAL.finditer(path.read_bytes()):
            number = match.group(1).decode()
            if is_luhn_valid(number) and not _is_token(number):
                found.add(number)
    return found


def _values(document: object, dotted: str) -> Iterator[object]:
    head, _, rest = dotted.partition(".")
    if head == "[]":
        items = document if isinstance(document, list) else []
    elif isinstance(document, dict) and head in document:
        items = [document[head]]
    else:
        items = []
    for item in items:
        if rest:
            yield from _values(item, rest)
        else:
            yield item


def is_key_like(key: bytes) -> bool:
    """Whether ``key`` could be a real key: 16, 24 or 32 bytes, not mostly one value.

    >>> is_key_like(bytes(range(16))), is_key_like(bytes(16)), is_key_like(bytes(range(8)))
    (True, False, False)
    """
    return len(key) in (16, 24, 32) and len(set(key)) >= len(key) // 2


def key_file_secrets(path: Path) -> list[Secret] | None:
    """The keys a key file holds, or None when ``path`` is not a key file."""
    if path.suffix == ".pem":
        head = path.read_bytes()[:100]
        return [] if b"PRIVATE KEY" in head else None
    if path.suffix != ".json" or path.stat().st_size > 1 << 20:
        return None
    try:
        document = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError, OSError):
        return None
    if not isinstance(document, dict):
        return None
    family = str(document.get("format", "")).partition("/")[0]
    if family not in KEY_FILE_FIELDS:
        return None
    secrets: list[Secret] = []
    for kind, dotted in KEY_FILE_FIELDS[family]:
        for value in _values(document, dotted):
            try:
                key = bytes.fromhex(str(value))
            except ValueError:
                continue
            if not is_key_like(key):
                continue  # a broken key file a test wrote on purpose ("00" * 8) holds no secret
            secrets.append(Secret.key(kind, f"of {path.name} ({dotted})", key))
    return secrets


def scan_run(roots: Iterable[Path], pans: Iterable[str]) -> tuple[list[Finding], int, int]:
    """Scan a run's files: (findings, files searched, secrets searched for)."""
    files = list(regular_files(roots))
    secrets = [Secret.pan(pan) for pan in sorted(set(pans))]
    searched: list[Path] = []
    for path in files:
        try:
            held = key_file_secrets(path)
        except OSError:
            continue
        if held is None:
            searched.append(path)
        else:
            secrets.extend(held)
    return SecretScanner(secrets).scan(searched), len(searched), len(secrets)
