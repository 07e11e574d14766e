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

**The queue** (:class:`RideQueue`) is the ``ride`` lane of the terminal's one outbox
(:mod:`terminal.outbox`): each entry is one POST (its path, JSON body and idempotency key, the
entry's kind as the item's action), durable (fsync'd) before the dock acts on it, sent in the
order stored, each until it is delivered; a replay under its key is harmless, so a crash
between sending and recording loses nothing and doubles nothing. Bodies hold the card's data
record as the kernel built it, which carries the token (DPAN) the card was issued, never the
funding PAN. An answer that refuses an entry for good (a 4xx problem other than a conflict in
flight) parks it (``failed``), kept for the operator, so it does not block the rest. Rides
therefore show in ``tap-terminal outbox`` and are forwarded by every mode's flush.

A dock that still has the file of the queue this replaced (``bike.queue``, a table
``entries``) has its entries moved into the outbox at start, in order and under their own
keys, by :func:`migrate_legacy_queue`; the old file is then renamed ``*.migrated``.

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
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from terminal.errors import JournalError, SettingsError
from terminal.online.bikes import BikeApi, BikeTariff
from terminal.outbox import (
    Forwarder,
    ItemKind,
    ItemState,
    NewItem,
    Outbox,
    OutboxItem,
    Request,
    cancel_abandoned_rental,
    http_sender,
)

log = logging.getLogger(__name__)

#: The outbox lane of the dock's requests (their order holds across kinds of request).
LANE = ItemKind.RIDE


@dataclass(frozen=True, slots=True)
class Entry:
    """One request waiting to be delivered (``kind``: rental, start, cancel, return, abandon)."""

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


def _entry(item: OutboxItem) -> Entry:
    return Entry(item.seq, item.action, item.path, item.body, item.idempotency_key, item.account)


class RideQueue:
    """The dock's durable, ordered queue of requests: the ``ride`` lane of ``outbox`` (an
    :class:`~terminal.outbox.Outbox`, or the path of one, which this queue then owns)."""

    def __init__(self, outbox: Outbox | Path) -> None:
        self._owned = not isinstance(outbox, Outbox)
        try:
            self.outbox = outbox if isinstance(outbox, Outbox) else Outbox(outbox)
        except JournalError as exc:
            raise SettingsError(f"the outbox {outbox} is not usable: {exc}") from None

    def close(self) -> None:
        if self._owned:
            self.outbox.close()

    def add(
        self, kind: str, path: str, body: dict[str, Any], key: str, par: str | None = None
    ) -> None:
        """Store one request durably (committed and fsync'd when this returns)."""
        self.outbox.add(NewItem(Request(LANE, "POST", path, body, kind), key, account=par))

    def pending(self) -> list[Entry]:
        """The entries still to send, in order."""
        owed = (ItemState.HELD, ItemState.PENDING, ItemState.IN_FLIGHT)
        return [_entry(i) for i in self.outbox.items(owed) if i.kind == LANE]

    def rejected(self) -> list[tuple[Entry, str]]:
        """Entries the acquirer refused for good, with its reason (for the operator)."""
        return [(_entry(i), i.last_error or "") for i in self.outbox.items([ItemState.FAILED])
                if i.kind == LANE]  # fmt: skip

    def offline_rides(self, par: str | None = None) -> int:
        """Offline unlocks not yet settled (of ``par``, or in total)."""
        return self.outbox.count(kind=LANE, action="rental", account=par)

    def forward(self, api: BikeApi) -> Forwarded:
        """Send the pending entries in order now (a dock's own attempt does not wait out the
        outbox's backoff); stop at the first that cannot be delivered."""
        self.outbox.due_now(LANE)
        send = http_sender(api.client.http)
        done = Forwarder(self.outbox, send, follow_ups={"abandon": cancel_abandoned_rental})
        report = done.flush()
        left = len(self.pending())
        waiting = [e for e in report.errors if e.startswith(f"{LANE} ")]
        return Forwarded(report.delivered, report.failed, left,
                         waiting[0] if waiting and left else None)  # fmt: skip


def migrate_legacy_queue(path: Path, queue: RideQueue) -> int:
    """Move the entries of the dock's former queue file ``path`` into ``queue``; how many.

    The former file had one table ``entries`` (kind, path, body, idempotency key, PAR,
    status ``pending`` or ``rejected``). Each entry goes into the outbox under its own key, in
    its order (a rejected one too: the acquirer refuses it again and it is parked); the file
    is then renamed ``*.migrated``, so it is read once. A file that is no such queue (the
    outbox itself, nothing at all) is left alone.
    """
    if not path.is_file() or path.resolve() == queue.outbox.path.resolve():
        return 0
    try:
        with closing(sqlite3.connect(path)) as db:
            rows = db.execute("SELECT kind, path, body, idempotency_key, par FROM entries "
                              "ORDER BY seq").fetchall()  # fmt: skip
    except sqlite3.Error:
        return 0
    for kind, target, body, key, par in rows:
        queue.add(kind, target, json.loads(body), key, par)
    path.rename(path.with_name(path.name + ".migrated"))
    log.info("bike queue %s: %d entries moved into the outbox", path, len(rows))
    return len(rows)


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
