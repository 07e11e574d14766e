"""The two primitives every SQL backend provides, and what the SQL store modules share.

A backend implements :class:`SqlPrimitives` (a connection for reads, a durable write
transaction); everything else of the :class:`~acquirer.store.base.Store` is written once,
in portable SQL, in :mod:`acquirer.store.sql` and the modules it is assembled from.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

Row = dict[str, Any]


class Tx(Protocol):
    """One connection's view for the duration of a read or a write transaction."""

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row of a query, or ``None``."""
        ...

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Every row of a query."""
        ...

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Execute a statement; the number of rows it changed."""
        ...


class Abort(Exception):
    """Raised inside :meth:`SqlStore._transact` to roll back and return ``result`` instead."""

    def __init__(self, result: object) -> None:
        super().__init__("transaction rolled back on purpose")
        self.result = result


class SqlPrimitives(abc.ABC):
    """What a backend provides: reads, durable write transactions, migrations, closing."""

    #: Appended to a ``SELECT`` of rows a write transaction will change: PostgreSQL's
    #: ``" FOR UPDATE"`` row lock; empty on SQLite, whose ``BEGIN IMMEDIATE`` already holds
    #: the one write lock.
    row_lock: str = ""

    @abc.abstractmethod
    def _read(self, work: Callable[[Tx], T]) -> T:
        """Run ``work`` on a connection outside any write transaction."""

    @abc.abstractmethod
    def _transact(self, work: Callable[[Tx], T]) -> T:
        """Run ``work`` in one write transaction, durable when this returns.

        If ``work`` raises :class:`Abort`, the transaction is rolled back and the abort's
        ``result`` returned; any other exception rolls back and propagates.
        """

    @abc.abstractmethod
    def migrate(self) -> int:
        """Bring the schema to the newest version; return that version."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the connection(s)."""


def as_datetime(value: str | datetime) -> datetime:
    """A timestamp column's value (ISO 8601 text in SQLite, ``timestamptz`` in PostgreSQL)."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def as_optional_datetime(value: str | datetime | None) -> datetime | None:
    """:func:`as_datetime` of a nullable timestamp column."""
    return None if value is None else as_datetime(value)


def join_codes(values: tuple[str, ...] | None) -> str | None:
    return None if values is None else ",".join(values)


def split_codes(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(part for part in value.split(",") if part)
