"""What an offline dock keeps: the queue of requests still to send, the cached deny list
and the cached tariff (the deposit a tap-on holds).

**Deferred authorization.** Open-loop transit (Mastercard's and Visa's transit models) lets
a gate or dock act on a tap it cannot authorize now, and authorize later: the risk is bounded
by a *deny list* of accounts (by PAR) that owe money, checked locally, and by how many taps
are taken on trust ("first ride risk"). A dock that cannot reach the acquirer unlocks for a
rider whose PAR is not on its cached copy of ``GET /v1/deny-list``, at most
``bike.max_offline_rides`` unsettled rides in total and one per account, and stores the ride
here; back online, it sends ``POST /v1/rentals`` with ``started_at`` (the acquirer verifies
the ARQC late and, if that declines, turns the fare into a debt) and the returns with
``ended_at``.

**The queue** (:class:`RideQueue`) is one SQLite file (mode 0600, ``synchronous=FULL``: a
committed entry is on disk, fsync'd, before the dock acts on it). Each entry is one POST:
its path, JSON body and idempotency key, sent in the order stored, each until it is
delivered; a replay under its key is harmless, so a crash between sending and deleting
loses nothing and doubles nothing. Bodies hold the card's data record as the kernel built
it, which carries the token (DPAN) the card was issued, never the funding PAN. An answer
that refuses an entry for good (a 4xx problem other than a conflict in flight) moves it
aside (``rejected``), kept for the operator, so it does not block the rest.

**The tariff** (:class:`TariffCache`) is the last ``GET /v1/bikes/tariff`` answer, so a dock
restarted while the acquirer is out of reach still knows the deposit to ask the card for.

``abandon`` entries undo a tap-on whose answer was lost: the same request is replayed under
its key (answering what the acquirer did, or doing it now) and the rental it opened is
cancelled (``answer_lost``), voiding its hold, before any later entry is sent.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from terminal.errors import AcquirerRejectedError, AcquirerUnavailableError, SettingsError
from terminal.online.bikes import BikeApi, BikeTariff

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,               -- rental | start | cancel | return | abandon
    path TEXT NOT NULL,
    body TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    par TEXT,                         -- the rider's PAR, for the one-offline-ride rule
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending',   -- pending | rejected
    last_error TEXT
)
"""
#: Problems worth trying again: the same key still in flight, the acquirer overloaded.
_TRANSIENT = {409, 425, 429}


@dataclass(frozen=True, slots=True)
class Entry:
    """One request waiting to be delivered."""

    seq: int
    kind: str
    path: str
    body: dict[str, Any]
    idempotency_key: str
    par: str | None


@dataclass(frozen=True, slots=True)
class Forwarded:
    """What one :meth:`RideQueue.forward` did."""

    delivered: int
    rejected: int
    pending: int
    error: str | None = None


def private_file(path: Path) -> None:
    """Create ``path`` (and its folder) readable by this user only, if it does not exist."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        os.close(fd)
        os.chmod(path, 0o600)
    except OSError as exc:
        raise SettingsError(f"cannot create {path}: {exc.strerror}") from None


class RideQueue:
    """The dock's durable, ordered queue of requests for the acquirer."""

    def __init__(self, path: Path) -> None:
        self.path = path
        private_file(path)
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=DELETE")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(_SCHEMA)
        except sqlite3.Error as exc:
            raise SettingsError(f"bike.queue {path} is not usable: {exc}") from None

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def add(
        self, kind: str, path: str, body: dict[str, Any], key: str, par: str | None = None
    ) -> None:
        """Store one request durably (committed and fsync'd when this returns)."""
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO entries (kind, path, body, idempotency_key, par, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (kind, path, json.dumps(body), key, par, datetime.now(UTC).isoformat()),
            )

    def pending(self) -> list[Entry]:
        """The entries still to send, oldest first."""
        rows = self._db.execute(
            "SELECT seq, kind, path, body, idempotency_key, par FROM entries "
            "WHERE status = 'pending' ORDER BY seq"
        ).fetchall()
        return [Entry(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5]) for r in rows]

    def rejected(self) -> list[tuple[Entry, str]]:
        """Entries the acquirer refused for good, with its reason (for the operator)."""
        rows = self._db.execute(
            "SELECT seq, kind, path, body, idempotency_key, par, last_error FROM entries "
            "WHERE status = 'rejected' ORDER BY seq"
        ).fetchall()
        return [(Entry(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5]), r[6]) for r in rows]

    def offline_rides(self, par: str | None = None) -> int:
        """Offline unlocks not yet settled (of ``par``, or in total)."""
        sql = "SELECT COUNT(*) FROM entries WHERE kind = 'rental' AND status = 'pending'"
        args: tuple[str, ...] = ()
        if par is not None:
            sql += " AND par = ?"
            args = (par,)
        count: int = self._db.execute(sql, args).fetchone()[0]
        return count

    def forward(self, api: BikeApi) -> Forwarded:
        """Send the pending entries in order; stop at the first that cannot be delivered."""
        delivered = rejected = 0
        for entry in self.pending():
            try:
                self._send(api, entry)
            except AcquirerUnavailableError as exc:
                self._failed(entry, str(exc), give_up=False)
                return Forwarded(delivered, rejected, len(self.pending()), str(exc))
            except AcquirerRejectedError as exc:
                transient = exc.status in _TRANSIENT or exc.status >= 500
                self._failed(entry, f"{exc.code or exc.status}: {exc}", give_up=not transient)
                if transient:
                    return Forwarded(delivered, rejected, len(self.pending()), str(exc))
                log.warning("bike queue: %s %s refused for good: %s", entry.kind, entry.seq,
                            exc.code)  # fmt: skip
                rejected += 1
                continue
            with self._tx() as db:
                db.execute("DELETE FROM entries WHERE seq = ?", (entry.seq,))
            delivered += 1
        return Forwarded(delivered, rejected, 0)

    @staticmethod
    def _send(api: BikeApi, entry: Entry) -> None:
        doc = api.client.post_json(entry.path, entry.body, entry.idempotency_key)
        if entry.kind != "abandon":
            return
        rental_id, state = doc.get("rental_id"), doc.get("state")
        if rental_id and state == "unlocking":
            cancel_key = str(uuid.uuid5(uuid.NAMESPACE_URL, f"cancel:{entry.idempotency_key}"))
            try:
                api.cancel(str(rental_id), "answer_lost", cancel_key)
            except AcquirerRejectedError as exc:
                if exc.code != "rental_state_conflict":  # already ended or cancelled
                    raise

    def _failed(self, entry: Entry, error: str, *, give_up: bool) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE entries SET attempts = attempts + 1, last_error = ?, status = ? "
                "WHERE seq = ?",
                (error[:300], "rejected" if give_up else "pending", entry.seq),
            )


class DenyCache:
    """The dock's copy of the acquirer's deny list (PARs), a JSON file written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pars: frozenset[str] = frozenset()
        self.refreshed_at: str | None = None
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            self._pars = frozenset(str(p) for p in doc["pars"])
            self.refreshed_at = doc.get("refreshed_at")
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("deny-list cache %s unreadable (%s): starting empty", path, exc)

    def __contains__(self, par: object) -> bool:
        return par in self._pars

    def __len__(self) -> int:
        return len(self._pars)

    def replace(self, pars: frozenset[str]) -> None:
        """Store a fresh copy durably (temporary file, fsync, rename), then use it."""
        now = datetime.now(UTC).isoformat()
        write_durably(self.path, {"refreshed_at": now, "pars": sorted(pars)})
        self._pars, self.refreshed_at = pars, now


class TariffCache:
    """The dock's copy of its operator's tariff, a JSON file written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> BikeTariff | None:
        """The cached tariff, or ``None`` (none yet, or unreadable: logged)."""
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
            return BikeTariff.of(doc["tariff"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("tariff cache %s unreadable (%s): ignored", self.path, exc)
            return None

    def store(self, tariff: BikeTariff) -> None:
        """Keep ``tariff`` durably (temporary file, fsync, rename)."""
        now = datetime.now(UTC).isoformat()
        write_durably(self.path, {"refreshed_at": now, "tariff": dataclasses.asdict(tariff)})


def write_durably(path: Path, doc: dict[str, Any]) -> None:
    """Replace ``path`` with ``doc`` as JSON: a private temporary file, fsync, rename."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    private_file(tmp)
    with open(tmp, "w", encoding="utf-8") as out:
        json.dump(doc, out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
