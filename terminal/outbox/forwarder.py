"""Forwarding the outbox: claim a head, send it, record the answer, in order per kind.

:class:`Forwarder` takes an injectable ``send(item) -> Delivery`` (:func:`http_sender` over an
``httpx.Client``; a fake in tests). Each item goes through the claim of
:meth:`~terminal.outbox.store.Outbox.claim` (``in_flight``, fsync'd, before sending), then:

- **2xx**, or a problem its action counts as settled (a reversal's ``payment_unknown``: the
  acquirer holds nothing under that key, and the key is now barred): ``done``, the answer
  kept; its follow-ups (:data:`FollowUp`) are stored in the same transaction, right behind it.
- **No answer** (the send raised: no connection, a timeout, a reset), **408/409/425/429**
  (the same key in flight, overload) and **5xx**: back to waiting with exponential backoff;
  the kind waits, the other kinds go on.
- **Any other 4xx**: refused for good: parked ``failed`` with the problem, visible in
  ``tap-terminal outbox``, not retried unless the operator says so; the kind goes on.

A kill -9 between the claim and the answer leaves the item ``in_flight``; when its lease
expires it is claimed and sent again under the same idempotency key, and the acquirer replays
the answer it stored the first time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from terminal.outbox.items import Delivery, NewItem, OutboxItem
from terminal.outbox.store import Outbox

__all__ = ["SETTLED", "FlushReport", "FollowUp", "Forwarder", "OnDone", "Send", "http_sender"]

log = logging.getLogger(__name__)

#: Sends one item; returns the HTTP answer, raises when none came back (any exception).
Send = Callable[[OutboxItem], Delivery]
#: Items to store right behind a delivered one, from its answer (e.g. cancel what a replay opened).
FollowUp = Callable[[OutboxItem, Mapping[str, Any]], Sequence[NewItem]]
#: Told of each item that reached ``done`` (True) or ``failed`` (False), with the answer.
OnDone = Callable[[OutboxItem, Delivery, bool], None]

#: Statuses worth trying again: timeout, the same key still in flight, too early, overload.
RETRY_STATUSES = frozenset({408, 409, 425, 429})
#: Problem codes that settle an item of an action: what it asked for is already so.
SETTLED: Mapping[str, frozenset[str]] = {
    "reversal": frozenset({"payment_unknown"}),
    "cancel": frozenset({"rental_state_conflict"}),
}


@dataclass(slots=True)
class FlushReport:
    """What one :meth:`Forwarder.flush` did."""

    delivered: int = 0
    failed: int = 0
    deferred: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing was deferred or parked in this flush."""
        return not self.failed and not self.deferred


class Forwarder:
    """Forwards ``outbox`` with ``send``; see the module docstring."""

    def __init__(
        self,
        outbox: Outbox,
        send: Send,
        *,
        follow_ups: Mapping[str, FollowUp] | None = None,
        on_done: OnDone | None = None,
        settled: Mapping[str, frozenset[str]] = SETTLED,
    ) -> None:
        self.outbox, self.send = outbox, send
        self.follow_ups = dict(follow_ups or {})
        self.on_done = on_done
        self.settled = settled

    def flush(self, *, limit: int | None = None) -> FlushReport:
        """Send every due head, kind by kind, until none is due (or ``limit`` were sent)."""
        report = FlushReport()
        waiting: set[str] = set()  # kinds whose head was deferred in this flush
        sent = 0
        while limit is None or sent < limit:
            item = self.outbox.claim(skip=waiting)
            if item is None:
                break
            sent += 1
            verdict = self.forward(item)
            if verdict == "done":
                report.delivered += 1
            elif verdict == "failed":
                report.failed += 1
            else:
                report.deferred += 1
                waiting.add(item.kind)
            if verdict != "done":
                report.errors.append(f"{item.kind} {item.seq}: {self.outbox.item(item.seq).last_error}")
        return report

    def forward(self, item: OutboxItem) -> str:
        """Send one claimed item and record what came of it: ``done``, ``failed`` or ``deferred``."""
        try:
            delivery = self.send(item)
        except Exception as exc:  # no answer, whatever the transport said
            self.outbox.defer(item, f"not delivered: {exc.__class__.__name__}: {exc}")
            return "deferred"
        status, code = delivery.status, delivery.code
        answer = dict(delivery.body) if delivery.body is not None else None
        if 200 <= status < 300 or (code is not None and code in self.settled.get(item.action, ())):
            follow = self.follow_ups.get(item.action)
            self.outbox.complete(item, answer, follow(item, answer or {}) if follow else ())
            self._tell(item, delivery, True)
            return "done"
        problem = f"{status} {code or ''}".strip()
        if status in RETRY_STATUSES or status >= 500:
            self.outbox.defer(item, f"acquirer answered {problem}")
            return "deferred"
        log.warning("outbox: %s %s refused for good (%s): parked", item.kind, item.seq, problem)
        self.outbox.park(item, f"refused: {problem}", answer)
        self._tell(item, delivery, False)
        return "failed"

    def _tell(self, item: OutboxItem, delivery: Delivery, done: bool) -> None:
        if self.on_done is None:
            return
        try:
            self.on_done(item, delivery, done)
        except Exception as exc:  # the outbox is right; recovery catches the journal up
            log.warning("outbox: after %s %s: %s", item.kind, item.seq, exc)


def http_sender(http: httpx.Client) -> Send:
    """A :data:`Send` over ``http`` (its base URL, TLS and timeouts): the item's method and
    path, its JSON body and its ``Idempotency-Key``. Transport errors propagate (no answer)."""

    def send(item: OutboxItem) -> Delivery:
        response = http.request(item.method, item.path, json=item.body,
                                headers={"Idempotency-Key": item.idempotency_key})  # fmt: skip
        try:
            body = response.json()
        except ValueError:
            body = None
        return Delivery(response.status_code, body if isinstance(body, dict) else None)

    return send
