"""Canonical JSON (RFC 8785 JCS), strict JSON reading, base64url and SHA-256 digests.

What is hashed or signed here is canonicalized with JCS (RFC 8785), through the ``rfc8785``
package (Trail of Bits; pure Python, typed, complete for the JSON types), so the wallet, the
agent and the acquirer hash the same bytes whatever their JSON library does with key order
or white space. Our documents use only strings, integers, booleans, arrays and objects:
:func:`canonical_json` refuses floats (amounts are integers in minor units, and JCS's
number rules would otherwise have to round-trip ES6 doubles) and integers beyond
±(2**53 - 1), which JCS cannot carry exactly (RFC 8785 3.2.2.3).

:func:`parse_object` reads JSON as strictly: one object, no duplicate member names (RFC
8259 4 leaves them undefined, which is how a parser-differential attack slips a second
``amount`` past one reader), no floats, no ``NaN``/``Infinity``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import rfc8785

#: The largest integer JCS carries exactly (RFC 8785 3.2.2.3, I-JSON RFC 7493 2.2).
MAX_SAFE_INTEGER = 2**53 - 1


class JsonError(ValueError):
    """Internal: a document is not of the restricted JSON this package reads and writes.

    Callers turn it into their artefact's :class:`~emvcore.errors.AgentPayError`.
    """


def _check(value: Any, path: str) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise JsonError(f"{path} is an integer outside ±(2**53 - 1)")
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check(item, f"{path}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise JsonError(f"{path} has a member name that is not a string")
            _check(item, f"{path}.{key}")
        return
    raise JsonError(f"{path} is a {type(value).__name__}, not a JSON string, integer or structure")


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 canonical form of a document of strings, integers, booleans and structures.

    >>> canonical_json({"b": 1, "a": ["é", True, None]})
    b'{"a":["\\xc3\\xa9",true,null],"b":1}'
    >>> canonical_json({"amount": 1.5})
    Traceback (most recent call last):
    ...
    emvcore.agentpay.canonical.JsonError: $.amount is a float, not a JSON string, integer or structure
    """
    _check(value, "$")
    return rfc8785.dumps(value)


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515 2).

    >>> b64url(b"\\xfb\\xff")
    '-_8'
    """
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url strictly: other characters or padding bits are refused.

    >>> b64url_decode("-_8")
    b'\\xfb\\xff'
    """
    if not isinstance(text, str) or "=" in text or len(text) % 4 == 1:
        raise JsonError("not unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raise JsonError("not base64url") from None
    if b64url(data) != text:
        raise JsonError("not canonical base64url")
    return data


def sha256_b64url(data: bytes) -> str:
    """The base64url SHA-256 digest of ``data`` (the form AP2's ``checkout_hash`` takes).

    >>> sha256_b64url(b"")
    '47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU'
    """
    return b64url(hashlib.sha256(data).digest())


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise JsonError(f"member {key!r} appears twice")
        document[key] = value
    return document


def _no_float(text: str) -> Any:
    raise JsonError(f"number {text} is not an integer")


def _no_constant(text: str) -> Any:
    raise JsonError(f"{text} is not JSON")


def parse_object(data: bytes) -> dict[str, Any]:
    """Read one JSON object strictly (UTF-8; no duplicate names, floats or NaN).

    >>> parse_object(b'{"amount": 350}')
    {'amount': 350}
    >>> parse_object(b'{"amount": 350, "amount": 1}')
    Traceback (most recent call last):
    ...
    emvcore.agentpay.canonical.JsonError: member 'amount' appears twice
    """
    try:
        document = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_no_duplicates,
            parse_float=_no_float,
            parse_constant=_no_constant,
        )
    except UnicodeDecodeError:
        raise JsonError("not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise JsonError(f"not JSON (offset {exc.pos})") from None
    if not isinstance(document, dict):
        raise JsonError("not a JSON object")
    _check(document, "$")
    return document
