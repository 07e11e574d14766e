"""Identifiers the acquirer hands out.

An authorization id is ``auth_`` followed by 26 Crockford base32 characters: 48 bits of
milliseconds since the Unix epoch, then 80 random bits (the ULID layout). Ids sort by
creation time, which keeps the database's primary-key index appending at its end, and
the random part makes them unguessable and unique across processes without coordination.
"""

from __future__ import annotations

import secrets
from datetime import datetime

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
