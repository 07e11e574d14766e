"""The SQLite implementation of :class:`~acquirer.store.base.Store`, through sqlite-utils.

Durability and concurrency choices:

- ``journal_mode=WAL`` with ``synchronous=FULL``: a commit is fsynced to the write-ahead log
  before :meth:`SqliteStore.record_authorization` returns, so an authorization reported to a
  terminal survives a crash or power loss (SQLite documentation, "PRAGMA synchronous").
- Writes run in ``BEGIN IMMEDIATE`` transactions, taking the write lock up front, so the
  idempotency and ATC checks and the inserts are one atomic step even with several
  processes on one file; ``busy_timeout`` makes a second writer wait instead of failing.
- One connection shared by the threads of one process, guarded by a lock. It is the simple
  correct choice for the first issue; a writer queue with group commit is the path to the
  throughput bar, behind this same interface.

The schema is versioned: ``schema_version`` holds one row, and :data:`MIGRATIONS` is the
ordered list of steps; migration *n* brings the schema from version *n - 1* to *n*. Add a
step at the end, never edit a released one.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from acquirer.errors import SchemaVersionError, StoreError, TokenNotFoundError
from acquirer.store.base import (
    AtcClaim,
    AuthorizationRow,
    RecordResult,
    RecordStatus,
    TokenRow,
    TokenStatus,
)

#: Milliseconds a writer waits for another process's write lock before giving up.
BUSY_TIMEOUT_MS = 5_000


def _migration_1(db: sqlite_utils.Database) -> None:
    """Tokens, authorizations and ATC claims."""
    db.create_table(
        "tokens",
        {
            "token": str,
            "pan_enc": bytes,
            "pan_fingerprint": bytes,
            "pan_masked": str,
            "par": str,
            "expiry": str,
            "psn": str,
            "scheme": str,
            "status": str,
            "created_at": str,
        },
        pk="token",
        not_null=[
            "pan_enc",
            "pan_fingerprint",
            "pan_masked",
            "par",
            "expiry",
            "psn",
            "scheme",
            "status",
            "created_at",
        ],
    )
    db.table("tokens").create_index(["pan_fingerprint"])
    db.create_table(
        "authorizations",
        {
            "id": str,
            "terminal_id": str,
            "idempotency_key": str,
            "request_hash": str,
            "amount": int,
            "currency": str,
            "token_masked": str,
            "par": str,
            "atc": int,
            "approved": int,
            "reason": str,
            "response_code": str,
            "response_json": str,
            "created_at": str,
        },
        pk="id",
        not_null=[
            "terminal_id",
            "idempotency_key",
            "request_hash",
            "amount",
            "currency",
            "token_masked",
            "approved",
            "reason",
            "response_code",
            "response_json",
            "created_at",
        ],
    )
    db.table("authorizations").create_index(["terminal_id", "idempotency_key"], unique=True)
    db.create_table(
        "atc_claims",
        {"token": str, "atc": int, "authorization_id": str},
        pk=("token", "atc"),
        not_null=["token", "atc", "authorization_id"],
        foreign_keys=[("token", "tokens", "token"), ("authorization_id", "authorizations", "id")],
    )


#: Ordered schema migrations; index 0 produces schema version 1.
MIGRATIONS: tuple[Callable[[sqlite_utils.Database], None], ...] = (_migration_1,)


def _timestamp(value: datetime) -> str:
    return value.isoformat()


class SqliteStore:
    """A :class:`~acquirer.store.base.Store` on one SQLite file.

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     store = SqliteStore(pathlib.Path(tmp) / "a.db")
    ...     store.migrate(), store.count_authorizations()
    ...     store.close()
    (1, 0)
    """

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                path,
                check_same_thread=False,
                isolation_level=None,
                timeout=BUSY_TIMEOUT_MS / 1000,
            )
            self._db = sqlite_utils.Database(conn, execute_plugins=False)
            self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._db.enable_wal()
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.execute("PRAGMA foreign_keys = ON")
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from exc

    # -- plumbing ------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[sqlite_utils.Database]:
        with self._lock:
            try:
                yield self._db
            except sqlite3.Error as exc:
                raise StoreError(f"database error: {exc.__class__.__name__}: {exc}") from exc

    @contextmanager
    def _write(self) -> Iterator[sqlite_utils.Database]:
        """A ``BEGIN IMMEDIATE`` transaction, committed (durably) on success."""
        with self._locked() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.rollback()
                raise
            db.commit()

    def _one(
        self, db: sqlite_utils.Database, sql: str, params: Sequence[Any]
    ) -> dict[str, Any] | None:
        return next(iter(db.query(sql, params)), None)

    # -- schema ----------------------------------------------------------------------------

    def migrate(self) -> int:
        """Apply the migrations the database has not seen; return the schema version."""
        with self._write() as db:
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = self._one(db, "SELECT version FROM schema_version", ())
            current = 0 if row is None else int(row["version"])
            if current > len(MIGRATIONS):
                raise SchemaVersionError(
                    f"database schema version {current} is newer than this software "
                    f"(knows up to {len(MIGRATIONS)}); upgrade tap-acquirer"
                )
            for step in MIGRATIONS[current:]:
                step(db)
            if row is None:
                db.execute("INSERT INTO schema_version (version) VALUES (?)", [len(MIGRATIONS)])
            else:
                db.execute("UPDATE schema_version SET version = ?", [len(MIGRATIONS)])
            return len(MIGRATIONS)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    # -- tokens ------------------------------------------------------------------------------

    def get_token(self, token: str) -> TokenRow | None:
        """The vault row of ``token``, or ``None``."""
        with self._locked() as db:
            row = self._one(db, "SELECT * FROM tokens WHERE token = ?", [token])
        return None if row is None else _token_row(row)

    def put_token(self, row: TokenRow) -> bool:
        """Insert a token; ``False`` if the number is taken."""
        with self._write() as db:
            if self._one(db, "SELECT 1 AS taken FROM tokens WHERE token = ?", [row.token]):
                return False
            db.table("tokens").insert(
                {
                    "token": row.token,
                    "pan_enc": row.pan_enc,
                    "pan_fingerprint": row.pan_fingerprint,
                    "pan_masked": row.pan_masked,
                    "par": row.par,
                    "expiry": row.expiry,
                    "psn": row.psn,
                    "scheme": row.scheme,
                    "status": row.status.value,
                    "created_at": _timestamp(row.created_at),
                }
            )
            return True

    def set_token_status(self, token: str, status: TokenStatus) -> None:
        """Change a token's status."""
        with self._write() as db:
            cursor = db.execute(
                "UPDATE tokens SET status = ? WHERE token = ?", [status.value, token]
            )
            if cursor.rowcount != 1:
                raise TokenNotFoundError("no such token in the vault")

    def list_tokens(self) -> Sequence[TokenRow]:
        """All tokens, oldest first."""
        with self._locked() as db:
            rows = list(db.query("SELECT * FROM tokens ORDER BY created_at, token"))
        return [_token_row(row) for row in rows]

    # -- authorizations --------------------------------------------------------------------

    def find_authorization(self, terminal_id: str, idempotency_key: str) -> AuthorizationRow | None:
        """The authorization recorded under (terminal, idempotency key), or ``None``."""
        with self._locked() as db:
            row = self._find_authorization(db, terminal_id, idempotency_key)
        return None if row is None else _authorization_row(row)

    def _find_authorization(
        self, db: sqlite_utils.Database, terminal_id: str, idempotency_key: str
    ) -> dict[str, Any] | None:
        return self._one(
            db,
            "SELECT * FROM authorizations WHERE terminal_id = ? AND idempotency_key = ?",
            [terminal_id, idempotency_key],
        )

    def highest_atc(self, token: str) -> int | None:
        """The highest ATC claimed for ``token``."""
        with self._locked() as db:
            row = self._one(db, "SELECT MAX(atc) AS high FROM atc_claims WHERE token = ?", [token])
        return None if row is None or row["high"] is None else int(row["high"])

    def atc_claimed(self, token: str, atc: int) -> bool:
        """Whether (token, ATC) is already claimed."""
        with self._locked() as db:
            row = self._one(
                db, "SELECT 1 AS claimed FROM atc_claims WHERE token = ? AND atc = ?", [token, atc]
            )
        return row is not None

    def record_authorization(self, row: AuthorizationRow, claim: AtcClaim | None) -> RecordResult:
        """Insert the authorization and claim the ATC in one durable transaction."""
        with self._write() as db:
            existing = self._find_authorization(db, row.terminal_id, row.idempotency_key)
            if existing is not None:
                return RecordResult(
                    RecordStatus.IDEMPOTENCY_KEY_EXISTS, _authorization_row(existing)
                )
            if claim is not None and self._one(
                db,
                "SELECT 1 AS claimed FROM atc_claims WHERE token = ? AND atc = ?",
                [claim.token, claim.atc],
            ):
                return RecordResult(RecordStatus.ATC_ALREADY_CLAIMED)
            db.execute(
                "INSERT INTO authorizations (id, terminal_id, idempotency_key, request_hash, "
                "amount, currency, token_masked, par, atc, approved, reason, response_code, "
                "response_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    row.id,
                    row.terminal_id,
                    row.idempotency_key,
                    row.request_hash,
                    row.amount,
                    row.currency,
                    row.token_masked,
                    row.par,
                    row.atc,
                    int(row.approved),
                    row.reason,
                    row.response_code,
                    row.response_json,
                    _timestamp(row.created_at),
                ],
            )
            if claim is not None:
                db.execute(
                    "INSERT INTO atc_claims (token, atc, authorization_id) VALUES (?, ?, ?)",
                    [claim.token, claim.atc, row.id],
                )
            return RecordResult(RecordStatus.RECORDED)

    def count_authorizations(self) -> int:
        """Number of recorded authorizations."""
        with self._locked() as db:
            row = self._one(db, "SELECT COUNT(*) AS n FROM authorizations", ())
        return 0 if row is None else int(row["n"])


def _token_row(row: dict[str, Any]) -> TokenRow:
    return TokenRow(
        token=row["token"],
        pan_enc=bytes(row["pan_enc"]),
        pan_fingerprint=bytes(row["pan_fingerprint"]),
        pan_masked=row["pan_masked"],
        par=row["par"],
        expiry=row["expiry"],
        psn=row["psn"],
        scheme=row["scheme"],
        status=TokenStatus(row["status"]),
        created_at=datetime.fromisoformat(row["created_at"]),
    )


def _authorization_row(row: dict[str, Any]) -> AuthorizationRow:
    return AuthorizationRow(
        id=row["id"],
        terminal_id=row["terminal_id"],
        idempotency_key=row["idempotency_key"],
        request_hash=row["request_hash"],
        amount=int(row["amount"]),
        currency=row["currency"],
        token_masked=row["token_masked"],
        par=row["par"],
        atc=None if row["atc"] is None else int(row["atc"]),
        approved=bool(row["approved"]),
        reason=row["reason"],
        response_code=row["response_code"],
        response_json=row["response_json"],
        created_at=datetime.fromisoformat(row["created_at"]),
    )
