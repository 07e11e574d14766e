"""The event log behind ``GET /v1/events``: numbered, persisted, bounded, waited on.

Every action state change (``action``: the whole action), every UI request the kernel makes (EMV Book A 9.4 message id,
the reader status and its four indicators, the text) is one event with an id that only grows
and survives restarts (the ``events`` table of :mod:`terminal.daemon.records`). The log keeps
the last :data:`KEEP` events; a client that reconnects with a ``Last-Event-ID`` older than
that first receives a ``gap`` event saying how many it missed, so it knows to re-read the
state it mirrors instead of silently missing changes.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from terminal.daemon.records import Records

__all__ = ["KEEP", "Event", "EventLog"]

#: How many events the log keeps for clients that reconnect.
KEEP = 10_000


@dataclass(frozen=True, slots=True)
class Event:
    """One server-sent event."""

    id: int
    type: str
    at: str
    data: dict[str, Any]

    def sse(self) -> str:
        """The event in ``text/event-stream`` framing (WHATWG HTML 9.2)."""
        payload = json.dumps({"id": self.id, "type": self.type, "at": self.at, **self.data})
        return f"id: {self.id}\nevent: {self.type}\ndata: {payload}\n\n"


class EventLog:
    """Events stored in ``records``; :meth:`wait` wakes readers when one is added."""

    def __init__(self, records: Records, *, keep: int = KEEP) -> None:
        self.records, self.keep = records, keep
        self._changed = threading.Condition()

    def publish(self, type: str, **data: Any) -> Event:
        """Store one event (durably) and wake the streams."""
        at = datetime.now(UTC).isoformat()
        with self.records.writing() as db:
            cur = db.execute("INSERT INTO events (type, at, data) VALUES (?, ?, ?)",
                             (type, at, json.dumps(data)))  # fmt: skip
            assert cur.lastrowid is not None
            id = cur.lastrowid
            if id % 100 == 0:
                db.execute("DELETE FROM events WHERE id <= ?", (id - self.keep,))
        with self._changed:
            self._changed.notify_all()
        return Event(id, type, at, data)

    def last_id(self) -> int:
        rows = self.records.read("SELECT MAX(id) FROM events")
        return int(rows[0][0] or 0)

    def after(self, last_id: int, *, limit: int = 500) -> list[Event]:
        """The events after ``last_id``, oldest first; a ``gap`` event first when some of them
        are no longer kept."""
        rows = self.records.read("SELECT id, type, at, data FROM events WHERE id > ? "
                                 "ORDER BY id LIMIT ?", (last_id, limit))  # fmt: skip
        events = [Event(r[0], r[1], r[2], json.loads(r[3])) for r in rows]
        if events and events[0].id > last_id + 1:
            missed = events[0].id - last_id - 1
            gap = Event(events[0].id - 1, "gap", events[0].at,
                        {"missed": missed, "detail": "events were dropped: re-read the state"})
            events.insert(0, gap)
        return events

    def wait(self, last_id: int, timeout: float) -> list[Event]:
        """The events after ``last_id``, waiting up to ``timeout`` seconds for one."""
        with self._changed:
            events = self.after(last_id)
            if not events:
                self._changed.wait(timeout)
        return events or self.after(last_id)
