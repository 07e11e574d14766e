# ruff: noqa: S608 (statements are assembled from this module's own column names and
# placeholders only; every value is a bound parameter)
"""Bike tariffs, rentals and riders' debts in SQL (the rentals store, :class:`SqlRentalStore`).

A rental or debt request is one transaction (:meth:`SqlRentalStore.apply_rental_change`): its
idempotency key is claimed in ``bike_requests`` (``UNIQUE(terminal_id, idempotency_key)``),
the rental, its hold and the debt are locked in that order (PostgreSQL: ``FOR UPDATE``;
SQLite's ``BEGIN IMMEDIATE`` serializes writers already), and the new rental, the hold's
operations (through the payments' own :func:`~acquirer.payments.sql.operations.apply_operation_in`),
the debt, its journals and the deny list change are written together.

Two rules are constraints, not checks in Python, so they hold across processes:

- ``UNIQUE(active_par)`` and ``UNIQUE(active_bike)``: columns set while a rental is active
  (``NULL`` otherwise, and NULLs never collide), so an account rides one bike at a time and
  a bike is in one active rental. An offline unlock (the bike already left) does not claim
  the PAR: the rider may have ridden off twice before the dock could ask.
- a debt's journals are numbered within the request that wrote them, so never written twice.

Debts are not payments (an offline unlock that was declined has no payment at all), so their
journals live in ``debt_journals`` / ``debt_postings``; the ledger's totals and balances read
both ledgers (:meth:`~acquirer.payments.sql.operations.PaymentsMixin.ledger_totals`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from acquirer.errors import RegistryError, RentalStateError, StoreError
from acquirer.payments.ledger import Journal
from acquirer.payments.rows import PaymentRow
from acquirer.payments.sql import SqlPaymentStore
from acquirer.payments.sql.operations import apply_operation_in, payment_row
from acquirer.rentals.rows import (
    ACTIVE_RENTAL_STATES,
    BikeRequest,
    BikeRequestRow,
    DebtRow,
    DebtStatus,
    DeniedRow,
    RentalChange,
    RentalResult,
    RentalRow,
    RentalState,
)
from acquirer.rentals.tariff import Tariff
from acquirer.store.tx import Abort, Row, Tx, as_datetime, as_optional_datetime

_RENTAL_COLUMNS = (
    "id, merchant_id, terminal_id, dock_id, bike_id, par, authorization_id, payment_id, state, "
    "tariff_json, deposit, currency, offline, created_at, updated_at, started_at, ended_at, "
    "end_terminal_id, end_dock_id, fare, captured, debt, minutes, lost, cancel_reason, "
    "active_par, active_bike"
)
_INSERT_RENTAL = (
    f"INSERT INTO rentals ({_RENTAL_COLUMNS}) VALUES "
    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT DO NOTHING"
)
_UPDATE_RENTAL = (
    "UPDATE rentals SET state = ?, updated_at = ?, started_at = ?, ended_at = ?, "
    "end_terminal_id = ?, end_dock_id = ?, fare = ?, captured = ?, debt = ?, minutes = ?, "
    "lost = ?, cancel_reason = ?, active_par = ?, active_bike = ? WHERE id = ?"
)
_INSERT_DEBT = (
    "INSERT INTO debts (id, rental_id, merchant_id, par, amount, currency, status, created_at, "
    "paid_at, payment_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_REQUEST = (
    "INSERT INTO bike_requests (id, terminal_id, idempotency_key, kind, request_hash, "
    "response_json, created_at) VALUES (?, ?, ?, ?, ?, '', ?) "
    "ON CONFLICT (terminal_id, idempotency_key) DO NOTHING"
)


class SqlRentalStore(SqlPaymentStore):
    """Portable SQL of :class:`~acquirer.rentals.rows.RentalStore`, over the payments store."""

    #: Appended to the reads of rows about to change (PostgreSQL: `` FOR UPDATE``).

    # -- tariffs --------------------------------------------------------------------------------

    def put_tariff(self, merchant_id: str, tariff: Tariff, at: datetime) -> None:
        """Set (insert or replace) the operator's tariff."""

        def work(tx: Tx) -> None:
            if tx.one("SELECT id FROM merchants WHERE id = ?", [merchant_id]) is None:
                raise RegistryError(f"no merchant {merchant_id!r} is registered")
            tx.run("DELETE FROM tariffs WHERE merchant_id = ?", [merchant_id])
            tx.run(
                "INSERT INTO tariffs (merchant_id, tariff_json, updated_at) VALUES (?, ?, ?)",
                [merchant_id, tariff.to_json(), at],
            )

        self._transact(work)

    def get_tariff(self, merchant_id: str) -> Tariff | None:
        """The operator's tariff, or ``None``."""
        sql = "SELECT tariff_json FROM tariffs WHERE merchant_id = ?"
        row = self._read(lambda tx: tx.one(sql, [merchant_id]))
        return None if row is None else Tariff.from_json(row["tariff_json"])

    # -- requests --------------------------------------------------------------------------------

    def find_bike_request(self, terminal_id: str, idempotency_key: str) -> BikeRequestRow | None:
        """The request recorded under (terminal, idempotency key), or ``None``."""
        sql = "SELECT * FROM bike_requests WHERE terminal_id = ? AND idempotency_key = ?"
        row = self._read(lambda tx: tx.one(sql, [terminal_id, idempotency_key]))
        return None if row is None else _request_row(row)

    def apply_rental_change(
        self,
        request: BikeRequest,
        decide: Callable[[RentalRow | None, PaymentRow | None, DebtRow | None], RentalChange],
        *,
        rental_id: str | None = None,
        debt_id: str | None = None,
    ) -> RentalResult:
        """Claim the key, lock, decide, write everything: one transaction."""
        lock = self.row_lock

        def work(tx: Tx) -> RentalResult:
            inserted = tx.run(
                _INSERT_REQUEST,
                [
                    request.id,
                    request.terminal_id,
                    request.idempotency_key,
                    request.kind,
                    request.request_hash,
                    request.created_at,
                ],
            )
            if inserted != 1:
                existing = tx.one(
                    "SELECT * FROM bike_requests WHERE terminal_id = ? AND idempotency_key = ?",
                    [request.terminal_id, request.idempotency_key],
                )
                if existing is None:
                    raise StoreError("the request under this key could not be read back")
                raise Abort(RentalResult(_request_row(existing), replayed=True))
            rental = payment = debt = None
            if rental_id is not None:
                found = tx.one(f"SELECT * FROM rentals WHERE id = ?{lock}", [rental_id])
                rental = None if found is None else rental_row(found)
            if rental is not None and rental.payment_id is not None:
                found = tx.one(f"SELECT * FROM payments WHERE id = ?{lock}", [rental.payment_id])
                payment = None if found is None else payment_row(found)
            if debt_id is not None:
                found = tx.one(f"SELECT * FROM debts WHERE id = ?{lock}", [debt_id])
                debt = None if found is None else debt_row(found)
            change = decide(rental, payment, debt)
            for step_request, step_decide in change.payment_steps:
                apply_operation_in(
                    tx, f"SELECT * FROM payments WHERE id = ?{lock}", step_request, step_decide
                )
            if change.rental is not None:
                _write_rental(tx, change.rental, new=rental is None)
            if change.debt is not None:
                _write_debt(tx, change.debt, new=debt is None or debt.id != change.debt.id)
                _insert_debt_journals(
                    tx, change.debt.id, request.id, change.journals, request.created_at
                )
            if change.deny is not None:
                tx.run(
                    "INSERT INTO deny_list (par, reason, created_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (par) DO NOTHING",
                    [change.deny[0], change.deny[1], request.created_at],
                )
            if change.lift is not None:
                still = tx.one(
                    "SELECT 1 AS owing FROM debts WHERE par = ? AND status = ?",
                    [change.lift, DebtStatus.OPEN.value],
                )
                if still is None:
                    tx.run("DELETE FROM deny_list WHERE par = ?", [change.lift])
            tx.run(
                "UPDATE bike_requests SET response_json = ? WHERE id = ?",
                [change.response_json, request.id],
            )
            row = BikeRequestRow(
                id=request.id,
                terminal_id=request.terminal_id,
                idempotency_key=request.idempotency_key,
                kind=request.kind,
                request_hash=request.request_hash,
                response_json=change.response_json,
                created_at=request.created_at,
            )
            return RentalResult(row, replayed=False)

        return self._transact(work)

    # -- reads -------------------------------------------------------------------------------------

    def get_rental(self, rental_id: str) -> RentalRow | None:
        """The rental, or ``None``."""
        row = self._read(lambda tx: tx.one("SELECT * FROM rentals WHERE id = ?", [rental_id]))
        return None if row is None else rental_row(row)

    def find_active_rental(
        self, merchant_id: str, *, par: str | None = None, bike_id: str | None = None
    ) -> RentalRow | None:
        """The oldest active rental of the operator for the PAR (or else the bike)."""
        column, value = ("par", par) if par is not None else ("bike_id", bike_id)
        if value is None:
            return None
        sql = (
            f"SELECT * FROM rentals WHERE merchant_id = ? AND {column} = ? "
            "AND state IN (?, ?) ORDER BY created_at, id LIMIT 1"
        )
        params = [merchant_id, value, *[s.value for s in ACTIVE_RENTAL_STATES]]
        row = self._read(lambda tx: tx.one(sql, params))
        return None if row is None else rental_row(row)

    def list_rentals(
        self,
        *,
        merchant_id: str | None = None,
        states: Sequence[RentalState] = (),
        after: str | None = None,
        limit: int = 50,
    ) -> Sequence[RentalRow]:
        """Rentals by id, after ``after``, at most ``limit``."""
        where, params = _page(after)
        if merchant_id is not None:
            where.append("merchant_id = ?")
            params.append(merchant_id)
        if states:
            where.append(f"state IN ({', '.join('?' for _ in states)})")
            params += [s.value for s in states]
        sql = f"SELECT * FROM rentals WHERE {' AND '.join(where)} ORDER BY id LIMIT ?"
        rows = self._read(lambda tx: tx.all(sql, [*params, limit]))
        return [rental_row(row) for row in rows]

    def get_debt(self, debt_id: str) -> DebtRow | None:
        """The debt, or ``None``."""
        row = self._read(lambda tx: tx.one("SELECT * FROM debts WHERE id = ?", [debt_id]))
        return None if row is None else debt_row(row)

    def list_debts(
        self,
        *,
        merchant_id: str | None = None,
        status: DebtStatus | None = None,
        par: str | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> Sequence[DebtRow]:
        """Debts by id, after ``after``, at most ``limit``."""
        where, params = _page(after)
        for column, value in (("merchant_id", merchant_id), ("par", par)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if status is not None:
            where.append("status = ?")
            params.append(status.value)
        sql = f"SELECT * FROM debts WHERE {' AND '.join(where)} ORDER BY id LIMIT ?"
        rows = self._read(lambda tx: tx.all(sql, [*params, limit]))
        return [debt_row(row) for row in rows]

    def list_denied(self, *, after: str | None = None, limit: int = 100) -> Sequence[DeniedRow]:
        """The deny list by PAR."""
        sql = "SELECT * FROM deny_list WHERE par > ? ORDER BY par LIMIT ?"
        rows = self._read(lambda tx: tx.all(sql, [after or "", limit]))
        return [DeniedRow(r["par"], r["reason"], as_datetime(r["created_at"])) for r in rows]


def _page(after: str | None) -> tuple[list[str], list[object]]:
    return (["id > ?"], [after or ""])


def _write_rental(tx: Tx, r: RentalRow, *, new: bool) -> None:
    active = r.state in ACTIVE_RENTAL_STATES
    active_par = r.par if active and not r.offline else None
    active_bike = f"{r.merchant_id}:{r.bike_id}" if active else None
    if new:
        inserted = tx.run(
            _INSERT_RENTAL,
            [
                r.id,
                r.merchant_id,
                r.terminal_id,
                r.dock_id,
                r.bike_id,
                r.par,
                r.authorization_id,
                r.payment_id,
                r.state.value,
                r.tariff.to_json(),
                r.deposit,
                r.currency,
                r.offline,
                r.created_at,
                r.updated_at,
                r.started_at,
                r.ended_at,
                r.end_terminal_id,
                r.end_dock_id,
                r.fare,
                r.captured,
                r.debt,
                r.minutes,
                r.lost,
                r.cancel_reason,
                active_par,
                active_bike,
            ],
        )
        if inserted != 1:
            raise RentalStateError("this account or this bike already has an active rental")
        return
    tx.run(
        _UPDATE_RENTAL,
        [
            r.state.value,
            r.updated_at,
            r.started_at,
            r.ended_at,
            r.end_terminal_id,
            r.end_dock_id,
            r.fare,
            r.captured,
            r.debt,
            r.minutes,
            r.lost,
            r.cancel_reason,
            active_par,
            active_bike,
            r.id,
        ],
    )


def _write_debt(tx: Tx, d: DebtRow, *, new: bool) -> None:
    if new:
        tx.run(
            _INSERT_DEBT,
            [
                d.id,
                d.rental_id,
                d.merchant_id,
                d.par,
                d.amount,
                d.currency,
                d.status.value,
                d.created_at,
                d.paid_at,
                d.payment_id,
            ],
        )
        return
    tx.run(
        "UPDATE debts SET status = ?, paid_at = ?, payment_id = ? WHERE id = ?",
        [d.status.value, d.paid_at, d.payment_id, d.id],
    )


def _insert_debt_journals(
    tx: Tx, debt_id: str, request_id: str, journals: Sequence[Journal], at: datetime
) -> None:
    for seq, journal in enumerate(journals):
        journal_id = f"{request_id}/{seq}"
        tx.run(
            "INSERT INTO debt_journals (id, debt_id, request_id, kind, currency, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [journal_id, debt_id, request_id, journal.kind.value, journal.currency, at],
        )
        for line, posting in enumerate(journal.postings):
            tx.run(
                "INSERT INTO debt_postings (journal_id, line, account, amount) VALUES (?, ?, ?, ?)",
                [journal_id, line, posting.account, posting.amount],
            )


def _optional_int(value: object) -> int | None:
    return None if value is None else int(str(value))


def rental_row(row: Row) -> RentalRow:
    """A :class:`RentalRow` from a ``rentals`` row of either backend."""
    return RentalRow(
        id=row["id"],
        merchant_id=row["merchant_id"],
        terminal_id=row["terminal_id"],
        dock_id=row["dock_id"],
        bike_id=row["bike_id"],
        par=row["par"],
        authorization_id=row["authorization_id"],
        payment_id=row["payment_id"],
        state=RentalState(row["state"]),
        tariff=Tariff.from_json(row["tariff_json"]),
        deposit=int(row["deposit"]),
        currency=row["currency"],
        offline=bool(row["offline"]),
        created_at=as_datetime(row["created_at"]),
        updated_at=as_datetime(row["updated_at"]),
        started_at=as_optional_datetime(row["started_at"]),
        ended_at=as_optional_datetime(row["ended_at"]),
        end_terminal_id=row["end_terminal_id"],
        end_dock_id=row["end_dock_id"],
        fare=_optional_int(row["fare"]),
        captured=int(row["captured"]),
        debt=int(row["debt"]),
        minutes=_optional_int(row["minutes"]),
        lost=bool(row["lost"]),
        cancel_reason=row["cancel_reason"],
    )


def debt_row(row: Row) -> DebtRow:
    """A :class:`DebtRow` from a ``debts`` row of either backend."""
    return DebtRow(
        id=row["id"],
        rental_id=row["rental_id"],
        merchant_id=row["merchant_id"],
        par=row["par"],
        amount=int(row["amount"]),
        currency=row["currency"],
        status=DebtStatus(row["status"]),
        created_at=as_datetime(row["created_at"]),
        paid_at=as_optional_datetime(row["paid_at"]),
        payment_id=row["payment_id"],
    )


def _request_row(row: Row) -> BikeRequestRow:
    return BikeRequestRow(
        id=row["id"],
        terminal_id=row["terminal_id"],
        idempotency_key=row["idempotency_key"],
        kind=row["kind"],
        request_hash=row["request_hash"],
        response_json=row["response_json"],
        created_at=as_datetime(row["created_at"]),
    )
