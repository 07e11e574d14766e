"""Parcel lockers in SQL: compartments, storage fees, parcels, their operations and audit trail.

:class:`SqlParcelStore` extends the payments store (portable SQL, ``?`` placeholders). Safety across processes rests
on the database, as for payments:

- a parcel operation claims ``UNIQUE(terminal_id, idempotency_key)`` of ``parcel_operations``
  first; a retry (or a concurrent duplicate, which waits on the index) replays the stored
  response instead of running again;
- a compartment is assigned by a conditional ``UPDATE ... WHERE status = 'free'``: of two
  concurrent registrations only one changes the row, the other moves on to the next free
  compartment; a partial unique index on ``parcels (locker_id, compartment_id)`` over the
  active states makes a double assignment impossible even for a writer that skips it;
- parcels and a locker's wrong-code counter are read with the backend's row lock
  (``row_lock``: PostgreSQL adds ``FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE`` already
  serializes writers), so two pickups or door events of one parcel apply one after the other
  and the second sees the first's result: a parcel is collected, and paid for, at most once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from acquirer.errors import LockerNotFoundError, StoreError
from acquirer.idempotency import key_reused
from acquirer.parcels.rows import (
    AuditEventRow,
    CompartmentRow,
    CompartmentSize,
    CompartmentStatus,
    ParcelOperationRequest,
    ParcelOperationResult,
    ParcelOperationRow,
    ParcelRow,
    ParcelState,
    ParcelTx,
    StorageFeeRow,
)
from acquirer.parcels.tx import (
    SqlParcelTx,
    compartment_row,
    parcel_operation_row,
    parcel_row,
    storage_fee_row,
)
from acquirer.payments.ledger import Journal
from acquirer.payments.rows import (
    AtcClaim,
    AuthorizationRow,
    PaymentRow,
    RecordResult,
    VelocityCheck,
)
from acquirer.payments.sql import SqlPaymentStore
from acquirer.payments.sql.authorizations import record_authorization_in
from acquirer.registry import terminal_row
from acquirer.store.tx import Abort, Tx, as_datetime

_INSERT_OPERATION = (
    "INSERT INTO parcel_operations (id, terminal_id, idempotency_key, kind, parcel_id, "
    "request_hash, response_json, created_at) VALUES (?, ?, ?, ?, ?, ?, '', ?) "
    "ON CONFLICT (terminal_id, idempotency_key) DO NOTHING"
)
_FIND_OPERATION = "SELECT * FROM parcel_operations WHERE terminal_id = ? AND idempotency_key = ?"


class SqlParcelStore(SqlPaymentStore):
    """Portable SQL of :class:`~acquirer.parcels.rows.ParcelStore`, over the payments store."""

    #: Appended to reads of rows about to change (PostgreSQL: `` FOR UPDATE``).

    def add_compartments(
        self, locker_id: str, size: CompartmentSize, count: int, at: datetime
    ) -> Sequence[CompartmentRow]:
        """Add ``count`` free compartments numbered after the locker's last one."""

        def work(tx: Tx) -> list[CompartmentRow]:
            sql = f"SELECT * FROM terminals WHERE id = ?{self.row_lock}"  # noqa: S608
            locker = tx.one(sql, [locker_id])
            if locker is None or "locker" not in terminal_row(locker).actions:
                raise LockerNotFoundError(f"no terminal {locker_id!r} with the action locker")
            last = tx.one(
                "SELECT MAX(number) AS n FROM compartments WHERE locker_id = ?", [locker_id]
            )
            first = 1 if last is None or last["n"] is None else int(last["n"]) + 1
            rows = []
            for number in range(first, first + count):
                row = CompartmentRow(
                    locker_id, f"{number:02d}", number, size, CompartmentStatus.FREE, at
                )
                tx.run(
                    "INSERT INTO compartments (locker_id, compartment_id, number, size, status, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    [locker_id, row.compartment_id, number, size.value, row.status.value, at],
                )
                rows.append(row)
            return rows

        return self._transact(work)

    def list_compartments(self, locker_id: str) -> Sequence[CompartmentRow]:
        """A locker's compartments, by number."""
        sql = "SELECT * FROM compartments WHERE locker_id = ? ORDER BY number"
        return [compartment_row(r) for r in self._read(lambda tx: tx.all(sql, [locker_id]))]

    def set_storage_fees(self, row: StorageFeeRow) -> None:
        """Create or replace a locker operator's storage fee settings."""

        def work(tx: Tx) -> None:
            tx.run("DELETE FROM storage_fees WHERE merchant_id = ?", [row.merchant_id])
            tx.run(
                "INSERT INTO storage_fees (merchant_id, currency, free_hours, "
                "fee_per_started_day, updated_at) VALUES (?, ?, ?, ?, ?)",
                [
                    row.merchant_id,
                    row.currency,
                    row.free_hours,
                    row.fee_per_started_day,
                    row.updated_at,
                ],
            )

        self._transact(work)

    def get_storage_fees(self, merchant_id: str) -> StorageFeeRow | None:
        """A locker operator's storage fee settings, or ``None``."""
        sql = "SELECT * FROM storage_fees WHERE merchant_id = ?"
        row = self._read(lambda tx: tx.one(sql, [merchant_id]))
        return None if row is None else storage_fee_row(row)

    def find_parcel_operation(
        self, terminal_id: str, idempotency_key: str
    ) -> ParcelOperationRow | None:
        """The parcel operation under (terminal, idempotency key), or ``None``."""
        row = self._read(lambda tx: tx.one(_FIND_OPERATION, [terminal_id, idempotency_key]))
        return None if row is None else parcel_operation_row(row)

    def run_parcel_operation(
        self, request: ParcelOperationRequest, work: Callable[[ParcelTx], str]
    ) -> ParcelOperationResult:
        """Claim the operation's key, run ``work``, store its response: one transaction."""

        def unit(tx: Tx) -> ParcelOperationResult:
            return ParcelOperationResult(self._run_operation(tx, request, work), replayed=False)

        return self._transact(unit)

    def record_parcel_authorization(
        self,
        row: AuthorizationRow,
        claim: AtcClaim | None,
        payment: PaymentRow | None,
        journals: Sequence[Journal],
        request: ParcelOperationRequest,
        work: Callable[[ParcelTx], str],
        velocity: VelocityCheck | None = None,
    ) -> RecordResult:
        """The authorization, its payment and journals, and the parcel operation: one transaction."""

        def unit(tx: Tx) -> RecordResult:
            result = record_authorization_in(  # Abort on a lost race
                tx, row, claim, payment, journals, velocity, self.row_lock
            )
            try:
                self._run_operation(tx, request, work)
            except Abort:
                # The operation's key is taken although the authorization's was free: the
                # key was used for another kind of request (e.g. a pickup by code).
                raise key_reused() from None
            return result

        return self._transact(unit)

    def _run_operation(
        self, tx: Tx, request: ParcelOperationRequest, work: Callable[[ParcelTx], str]
    ) -> ParcelOperationRow:
        inserted = tx.run(
            _INSERT_OPERATION,
            [
                request.id,
                request.terminal_id,
                request.idempotency_key,
                request.kind,
                request.parcel_id,
                request.request_hash,
                request.created_at,
            ],
        )
        if inserted != 1:
            existing = tx.one(_FIND_OPERATION, [request.terminal_id, request.idempotency_key])
            if existing is None:
                raise StoreError("the parcel operation under this key could not be read back")
            raise Abort(ParcelOperationResult(parcel_operation_row(existing), replayed=True))
        response_json = work(SqlParcelTx(tx, self.row_lock, request))
        tx.run(
            "UPDATE parcel_operations SET response_json = ? WHERE id = ?",
            [response_json, request.id],
        )
        return ParcelOperationRow(
            request.id,
            request.terminal_id,
            request.idempotency_key,
            request.kind,
            request.parcel_id,
            request.request_hash,
            response_json,
            request.created_at,
        )

    def get_parcel(self, parcel_id: str) -> ParcelRow | None:
        """A parcel, or ``None``."""
        row = self._read(lambda tx: tx.one("SELECT * FROM parcels WHERE id = ?", [parcel_id]))
        return None if row is None else parcel_row(row)

    def list_parcels(
        self,
        *,
        state: ParcelState | None = None,
        locker_id: str | None = None,
        merchant_id: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> Sequence[ParcelRow]:
        """Parcels by id after ``after``, filtered; at most ``limit``."""
        clauses: list[str] = []
        params: list[object] = []
        if state is not None:
            clauses.append("p.state = ?")
            params.append(state.value)
        if locker_id is not None:
            clauses.append("p.locker_id = ?")
            params.append(locker_id)
        if merchant_id is not None:
            clauses.append("p.locker_id IN (SELECT id FROM terminals WHERE merchant_id = ?)")
            params.append(merchant_id)
        if after is not None:
            clauses.append("p.id > ?")
            params.append(after)
        where = f"WHERE {' AND '.join(clauses)} " if clauses else ""
        sql = f"SELECT p.* FROM parcels p {where}ORDER BY p.id LIMIT ?"  # noqa: S608 (constants)
        params.append(int(limit))
        return [parcel_row(r) for r in self._read(lambda tx: tx.all(sql, params))]

    def parcel_audit(self, parcel_id: str) -> Sequence[AuditEventRow]:
        """A parcel's audit events, oldest first."""
        sql = "SELECT * FROM audit_events WHERE parcel_id = ? ORDER BY at, id"
        rows = self._read(lambda tx: tx.all(sql, [parcel_id]))
        return [
            AuditEventRow(
                r["id"],
                as_datetime(r["at"]),
                r["terminal_id"],
                r["action"],
                r["locker_id"],
                r["parcel_id"],
                r["detail"],
            )
            for r in rows
        ]

    def count_parcels_by_locker(self, state: ParcelState) -> dict[str, int]:
        """Parcels in ``state`` per locker."""
        sql = (
            "SELECT locker_id, COUNT(*) AS n FROM parcels WHERE state = ? "
            "GROUP BY locker_id ORDER BY locker_id"
        )
        rows = self._read(lambda tx: tx.all(sql, [state.value]))
        return {r["locker_id"]: int(r["n"]) for r in rows}
