"""The acquirer's clock and how its timestamps are written.

Every service takes a ``clock`` (tests replace it); :func:`utc_now` is the default.
Timestamps in answers are :func:`format_timestamp`: ISO 8601 in UTC with milliseconds.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """The current time, timezone-aware UTC (the default clock)."""
    return datetime.now(UTC)


def format_timestamp(value: datetime) -> str:
    """ISO 8601 UTC with milliseconds and a ``Z``: ``2026-11-22T19:50:00.123Z``.

    >>> format_timestamp(datetime(2026, 11, 22, 19, 50, 0, 123456, tzinfo=UTC))
    '2026-11-22T19:50:00.123Z'
    """
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")
