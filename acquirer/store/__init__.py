"""Storage for the acquirer: one :class:`Store` interface, one module per backend.

:func:`open_store` picks the backend from the settings: SQLite in the data directory by
default, PostgreSQL when ``database_url`` is set (psycopg is imported only then, so an
installation without the ``postgres`` extra still runs on SQLite).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from acquirer.errors import ConfigurationError
from acquirer.store.base import (
    AtcClaim,
    AuthorizationRow,
    RecordResult,
    RecordStatus,
    Store,
    TokenRow,
    TokenStatus,
)
from acquirer.store.sqlite import SqliteStore

if TYPE_CHECKING:
    from acquirer.settings import Settings


def open_store(settings: Settings) -> Store:
    """The store ``settings`` name, opened (not yet migrated)."""
    if settings.database_url is None:
        return SqliteStore(settings.database)
    try:
        from acquirer.store.postgres import PostgresStore
    except ImportError as exc:
        raise ConfigurationError(
            "database_url names PostgreSQL, but psycopg is not installed "
            "(pip install 'tap-stack[postgres]')"
        ) from exc
    return PostgresStore(settings.database_url)


__all__ = [
    "AtcClaim",
    "AuthorizationRow",
    "RecordResult",
    "RecordStatus",
    "SqliteStore",
    "Store",
    "TokenRow",
    "TokenStatus",
    "open_store",
]
