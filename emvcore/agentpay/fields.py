"""Typed, strict reading of a JSON object's members for the artefacts' claims.

A :class:`Fields` reads one object: each getter checks the member's type and form, and
:meth:`Fields.done` refuses members nobody read, so a claim the verifier does not know
(a misspelt ``max_ammount``, an injected ``payee``) is an error rather than silently dropped.
Every failure is the artefact's ``*_malformed`` error, naming the member, never its value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from emvcore.agentpay.canonical import MAX_SAFE_INTEGER
from emvcore.errors import AgentPayError

#: Ids chosen by merchants, sessions and mandates: printable ASCII without spaces or quotes.
ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
#: A nonce: 128 to 384 bits of base64url.
NONCE = re.compile(r"[A-Za-z0-9_-]{22,64}")
#: An RFC 7638 SHA-256 thumbprint, base64url.
THUMBPRINT = re.compile(r"[A-Za-z0-9_-]{43}")
#: A merchant category code (ISO 18245): four digits.
MCC = re.compile(r"\d{4}")


class Fields:
    """The members of one JSON object, read once each."""

    def __init__(
        self, document: object, fail: Callable[[str], AgentPayError], where: str = ""
    ) -> None:
        self._fail = fail
        self._where = where
        if not isinstance(document, dict):
            raise fail(f"{where or 'the document'} must be a JSON object")
        self._document: dict[str, Any] = document
        self._read: set[str] = set()

    def _name(self, name: str) -> str:
        return f"{self._where}.{name}" if self._where else name

    def _get(self, name: str) -> Any:
        self._read.add(name)
        if name not in self._document:
            raise self._fail(f"member {self._name(name)!r} is missing")
        return self._document[name]

    def has(self, name: str) -> bool:
        """Whether the member is present (``null`` counts as absent, and is then refused)."""
        if name in self._document and self._document[name] is None:
            raise self._fail(f"member {self._name(name)!r} is null")
        return name in self._document

    def string(
        self, name: str, pattern: re.Pattern[str] | None = None, *, max_length: int = 128
    ) -> str:
        """A string member, of at most ``max_length`` characters and matching ``pattern``."""
        value = self._get(name)
        if not isinstance(value, str) or len(value) > max_length:
            raise self._fail(
                f"member {self._name(name)!r} must be a string of at most {max_length} characters"
            )
        if pattern is not None and not pattern.fullmatch(value):
            raise self._fail(f"member {self._name(name)!r} is not of the expected form")
        return value

    def integer(self, name: str, *, minimum: int = 0, maximum: int = MAX_SAFE_INTEGER) -> int:
        """An integer member (never a boolean or a float) within ``[minimum, maximum]``."""
        value = self._get(name)
        if not is_integer(value, minimum, maximum):
            raise self._fail(
                f"member {self._name(name)!r} must be an integer in {minimum}..{maximum}"
            )
        return int(value)

    def strings(
        self, name: str, pattern: re.Pattern[str], *, max_items: int = 100
    ) -> tuple[str, ...]:
        """An array of distinct strings matching ``pattern``; absent means empty."""
        if not self.has(name):
            self._read.add(name)
            return ()
        value = self._get(name)
        if not isinstance(value, list) or len(value) > max_items:
            raise self._fail(
                f"member {self._name(name)!r} must be an array of at most {max_items} strings"
            )
        if not all(isinstance(v, str) and pattern.fullmatch(v) for v in value):
            raise self._fail(f"member {self._name(name)!r} holds a value not of the expected form")
        if len(set(value)) != len(value):
            raise self._fail(f"member {self._name(name)!r} repeats a value")
        return tuple(value)

    def object(self, name: str) -> Fields:
        """A nested object member."""
        return Fields(self._get(name), self._fail, self._name(name))

    def array(self, name: str, *, max_items: int = 100) -> list[Any]:
        """An array member of at most ``max_items`` items."""
        value = self._get(name)
        if not isinstance(value, list) or len(value) > max_items:
            raise self._fail(
                f"member {self._name(name)!r} must be an array of at most {max_items} items"
            )
        return value

    def done(self) -> None:
        """Refuse members that were not read."""
        unknown = set(self._document) - self._read
        if unknown:
            raise self._fail(
                f"unknown members in {self._where or 'the document'}: {sorted(unknown)}"
            )


def is_integer(value: object, minimum: int, maximum: int) -> bool:
    """Whether ``value`` is an integer (not a boolean) within ``[minimum, maximum]``.

    >>> is_integer(350, 1, 999), is_integer(True, 0, 1), is_integer(3.0, 0, 9)
    (True, False, False)
    """
    return isinstance(value, int) and not isinstance(value, bool) and minimum <= value <= maximum
