"""Identifiers the acquirer hands out.

An authorization id is ``auth_`` followed by 26 Crockford base32 characters: 48 bits of
milliseconds since the Unix epoch, then 80 random bits (the ULID layout). Ids sort by
creation time, which keeps the database's primary-key index appending at its end, and
the random part makes them unguessable and unique across processes without coordination.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from starlette.convertors import Convertor, register_url_convertor

#: Crockford's base32 alphabet: digits and upper-case letters without I, L, O, U.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
AUTHORIZATION_PREFIX = "auth_"


def _base32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def new_authorization_id(now: datetime) -> str:
    """A fresh authorization id for an authorization created at ``now`` (timezone-aware).

    >>> from datetime import UTC, datetime
    >>> new_authorization_id(datetime(2026, 1, 1, tzinfo=UTC))[:15]
    'auth_01KDVDNA00'
    >>> len(new_authorization_id(datetime(2026, 1, 1, tzinfo=UTC)))
    31
    """
    return new_id(AUTHORIZATION_PREFIX, now)


def new_id(prefix: str, now: datetime) -> str:
    """``prefix`` and a ULID-layout id (time-ordered, 80 random bits) for ``now``.

    >>> from datetime import UTC, datetime
    >>> new_id("op_", datetime(2026, 1, 1, tzinfo=UTC))[:13]
    'op_01KDVDNA00'
    """
    millis = int(now.timestamp() * 1000) & ((1 << 48) - 1)
    value = (millis << 80) | secrets.randbits(80)
    return prefix + _base32(value, 26)


class _IdConvertor(Convertor[str]):
    """A Starlette path convertor matching one id pattern (a path segment, anchors dropped)."""

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


def path_segment(name: str, pattern: str) -> str:
    """``{name:name}`` for a route path, matching only ids of ``pattern``.

    A route ``GET /v1/parcels/{parcel_id}`` would otherwise match ``/v1/parcels/pickups`` and
    answer 422 where ``405 Method Not Allowed`` is the truth (only ``POST`` serves that path);
    with the segment converted, a path that holds no id matches no id route.

    >>> path_segment("parcel_id", r"^parcel_[0-9A-Z]{26}$")
    '{parcel_id:parcel_id}'
    """
    convertor = type(f"_{name}", (_IdConvertor,), {"regex": pattern[1:-1]})()
    register_url_convertor(name, convertor)
    return "{" + name + ":" + name + "}"
