"""The transaction: what every SQL backend provides, and what every domain's SQL shares.

A backend implements :class:`Engine` (a connection for reads, a durable write transaction,
the migration runner); each domain's store is written once over it, in portable SQL (the
subset SQLite 3.24+ and PostgreSQL 9.5+ both speak, ``INSERT ... ON CONFLICT DO NOTHING``
included), as a :class:`SqlPart`. Statements use ``?`` placeholders; a backend's :class:`Tx`
translates them to its driver's style and maps the driver's errors to
:class:`~acquirer.errors.StoreError`.

Uniqueness is enforced by constraints, not by a read-then-write in Python: an insert that
loses a race does nothing (``ON CONFLICT DO NOTHING``), and the logic then rolls the whole
transaction back through :class:`Abort`, so a second process can never post the same thing.
This module imports no domain.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

import anyio.to_thread

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
    """Raised inside :meth:`Engine.transact` to roll back and return ``result`` instead."""

    def __init__(self, result: object) -> None:
        super().__init__("transaction rolled back on purpose")
        self.result = result


class Engine(abc.ABC):
    """One database: reads, durable write transactions, migrations, closing.

    A backend (:class:`~acquirer.store.sqlite.SqliteEngine`,
    :class:`~acquirer.store.postgres.PostgresEngine`) provides only these primitives, as
    python-can's ``BusABC`` subclasses override only ``send`` and ``_recv_internal``; each
    domain's SQL store (:class:`SqlPart`) is written once over them, in portable SQL. Every
    domain's store shares the one engine, so what commits together is one transaction.
    """

    #: Appended to a ``SELECT`` of rows a write transaction will change: PostgreSQL's
    #: ``" FOR UPDATE"`` row lock; empty on SQLite, whose ``BEGIN IMMEDIATE`` already holds
    #: the one write lock.
    row_lock: str = ""

    @abc.abstractmethod
    def read(self, work: Callable[[Tx], T]) -> T:
        """Run ``work`` on a connection outside any write transaction."""

    @abc.abstractmethod
    def transact(self, work: Callable[[Tx], T]) -> T:
        """Run ``work`` in one write transaction, durable when this returns.

        If ``work`` raises :class:`Abort`, the transaction is rolled back and the abort's
        ``result`` returned; any other exception rolls back and propagates.
        """

    async def transact_async(self, work: Callable[[Tx], T]) -> T:
        """:meth:`transact` for an event loop: a worker thread here; a backend may do better."""
        return await anyio.to_thread.run_sync(self.transact, work)

    @property
    def reads_are_local(self) -> bool:
        """Whether reads are local and brief enough to run on an event loop's thread.

        True for an embedded database file (a read is a few microseconds of library code),
        false for a database across the network, whose reads belong in a worker thread.
        """
        return False

    @abc.abstractmethod
    def migrate(self) -> int:
        """Bring the schema to the newest version; return that version."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the connection(s)."""


class SqlPart:
    """The base of a domain's SQL store: the engine's primitives, under the names its SQL uses.

    The core's :class:`~acquirer.registry.SqlRegistryStore` and each domain's store derive
    from it; they are built over one shared :class:`Engine`.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.row_lock = engine.row_lock

    def _read(self, work: Callable[[Tx], T]) -> T:
        return self.engine.read(work)

    def _transact(self, work: Callable[[Tx], T]) -> T:
        return self.engine.transact(work)

    @property
    def reads_are_local(self) -> bool:
        """The engine's :attr:`Engine.reads_are_local`."""
        return self.engine.reads_are_local


def as_datetime(value: str | datetime) -> datetime:
    """A timestamp column's value (ISO 8601 text in SQLite, ``timestamptz`` in PostgreSQL)."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def as_optional_datetime(value: str | datetime | None) -> datetime | None:
    """:func:`as_datetime` of a nullable timestamp column."""
    return None if value is None else as_datetime(value)


def join_codes(values: tuple[str, ...] | None) -> str | None:
    """A tuple of codes as one comma-separated column (``None`` stays ``None``).

    >>> join_codes(("5411", "5812")), join_codes(None)
    ('5411,5812', None)
    """
    return None if values is None else ",".join(values)


def split_codes(value: str | None) -> tuple[str, ...] | None:
    """The inverse of :func:`join_codes`.

    >>> split_codes("5411,5812"), split_codes(None), split_codes("")
    (('5411', '5812'), None, ())
    """
    if value is None:
        return None
    return tuple(part for part in value.split(",") if part)
