"""Storage for the acquirer: the transaction, two engines, and the migration runner.

:func:`open_engine` picks the engine from the settings: SQLite in the data directory by
default, PostgreSQL when ``database_url`` is set (psycopg is imported only then, so an
installation without the ``postgres`` extra still runs on SQLite). The stores of the core
(:mod:`acquirer.registry`) and of each domain are built over the one engine; this package
imports no domain (an import-linter contract checks it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from acquirer.errors import ConfigurationError
from acquirer.store.migrations import Migration
from acquirer.store.sqlite import SqliteEngine
from acquirer.store.tx import Abort, Engine, Row, SqlPart, Tx

if TYPE_CHECKING:
    from acquirer.settings import Settings


def open_engine(settings: Settings, migrations: Sequence[Migration]) -> Engine:
    """The engine ``settings`` name, opened (not yet migrated) with the domains' steps."""
    if settings.database_url is None:
        return SqliteEngine(settings.database, migrations)
    try:
        from acquirer.store.postgres import PostgresEngine
    except ImportError as exc:
        raise ConfigurationError(
            "database_url names PostgreSQL, but psycopg is not installed "
            "(pip install 'tap-stack[postgres]')"
        ) from exc
    return PostgresEngine(settings.database_url, migrations)


__all__ = [
    "Abort",
    "Engine",
    "Migration",
    "Row",
    "SqlPart",
    "SqliteEngine",
    "Tx",
    "open_engine",
]
