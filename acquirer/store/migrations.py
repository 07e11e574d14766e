"""The migration runner: every domain's numbered schema steps, in one order, for each engine.

Each domain contributes :class:`Migration` steps (payments 1-4, with the core's token and
registry tables in step 1; rentals 5; parcels 6): one numbered step carries its SQLite form
(a function over a sqlite-utils database) and its PostgreSQL form (a list of statements).
:func:`ordered` sorts them and refuses a gap or a duplicate, so the numbers stay those an
existing database recorded. The database keeps one row in ``schema_version``; migration *n*
brings the schema from version *n - 1* to *n*. Add a step at the end, never edit a released
one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import sqlite_utils

from acquirer.errors import MigrationOrderError, SchemaVersionError
from acquirer.store.tx import Tx

#: A step for SQLite: sqlite-utils table definitions run on the write connection.
SqliteStep = Callable[[sqlite_utils.Database], None]


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered schema step, in the form of each engine."""

    version: int
    sqlite: SqliteStep
    postgres: tuple[str, ...]


def ordered(migrations: Iterable[Migration]) -> tuple[Migration, ...]:
    """The steps in version order; :class:`MigrationOrderError` on a gap or a duplicate.

    >>> def step(db: object) -> None: ...
    >>> [m.version for m in ordered([Migration(2, step, ()), Migration(1, step, ())])]
    [1, 2]
    >>> ordered([Migration(1, step, ()), Migration(3, step, ())])
    Traceback (most recent call last):
    ...
    acquirer.errors.MigrationOrderError: schema steps must be numbered 1 to 2, got [1, 3]
    """
    steps = sorted(migrations, key=lambda m: m.version)
    versions = [m.version for m in steps]
    if versions != list(range(1, len(steps) + 1)):
        raise MigrationOrderError(
            f"schema steps must be numbered 1 to {len(steps)}, got {versions}"
        )
    return tuple(steps)


def run_pending(tx: Tx, migrations: Sequence[Migration], apply: Callable[[Migration], None]) -> int:
    """Apply (``apply``) the steps the database has not seen, inside ``tx``; record the version.

    The one ``schema_version`` row is created with the table on a new database. Returns the
    schema version now (the number of steps).
    """
    tx.run("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = tx.one("SELECT version FROM schema_version")
    current = 0 if row is None else int(row["version"])
    for step in pending(current, migrations):
        apply(step)
    if row is None:
        tx.run("INSERT INTO schema_version (version) VALUES (?)", [len(migrations)])
    else:
        tx.run("UPDATE schema_version SET version = ?", [len(migrations)])
    return len(migrations)


def pending(current: int, migrations: Sequence[Migration]) -> Sequence[Migration]:
    """The steps a database at schema version ``current`` has not seen.

    :class:`~acquirer.errors.SchemaVersionError` when the database is newer than the steps.
    """
    if current > len(migrations):
        raise SchemaVersionError(
            f"database schema version {current} is newer than this software "
            f"(knows up to {len(migrations)}); upgrade tap-acquirer"
        )
    return migrations[current:]
