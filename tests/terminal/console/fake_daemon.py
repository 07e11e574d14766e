"""A fake terminal daemon that speaks the local API's contract, for the console's pilot tests.

It answers through an httpx ``MockTransport``: actions, cancel, receipts, transactions,
totals, batches, health, and a live ``/v1/events`` stream fed by :meth:`FakeDaemon.publish`.
A test moves an action along by hand (:meth:`present_card`, :meth:`finish`), as the real
daemon does when a card is tapped.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx

TOKEN = "console-test-token-0123456789"


class FakeDaemon:
    def __init__(self) -> None:
        self.events: list[tuple[int, str, dict[str, Any]]] = []
        self.changed = threading.Condition()
        self.closed = threading.Event()
        self.actions: dict[str, dict[str, Any]] = {}
        self.journal: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str, Any]] = []
        self.printed: list[str] = []
        self.printer = True
        self.reachable = True
        self.drop_stream_once = False
        self.resumed_from: list[str | None] = []

    # -- the event log --------------------------------------------------------------------

    def publish(self, kind: str, **data: Any) -> None:
        with self.changed:
            self.events.append((len(self.events) + 1, kind, data))
            self.changed.notify_all()

    def _stream(self, after: int) -> Iterator[bytes]:
        last = after
        yield b"retry: 1000\n\n"
        while not self.closed.is_set():
            with self.changed:
                found = [e for e in self.events if e[0] > last]
                if not found:
                    self.changed.wait(0.05)
                    found = [e for e in self.events if e[0] > last]
            if not found:
                yield b": keep-alive\n\n"
                continue
            for id, kind, data in found:
                last = id
                payload = json.dumps({"id": id, "type": kind, **data})
                yield f"id: {id}\nevent: {kind}\ndata: {payload}\n\n".encode()
                if self.drop_stream_once:
                    self.drop_stream_once = False
                    return

    # -- actions ----------------------------------------------------------------------------

    def _update(self, action: dict[str, Any], **changes: Any) -> None:
        action.update(changes)
        self.publish("action", action=dict(action))

    def _entry(self, action: dict[str, Any], state: str) -> dict[str, Any]:
        entry = {"id": len(self.journal) + 1, "kind": action["kind"], "amount": action["amount"],
                 "currency": action["currency"], "state": state, "outcome": None,
                 "reason": None, "created_at": "2026-12-04T10:00:00+00:00",
                 "reference": action.get("reference")}
        self.journal.insert(0, entry)
        return entry

    def running(self) -> dict[str, Any] | None:
        for a in self.actions.values():
            if a["state"] not in ("completed", "cancelled", "failed"):
                return a
        return None

    def present_card(self) -> None:
        """The customer taps: the reader reads and the kernel lights all four indicators."""
        action = self.running()
        assert action is not None
        self.publish("ui", action_id=action["id"], text="Card read OK",
                     indicators=["on", "on", "on", "on"])
        self._update(action, state="processing")

    def finish(self, outcome: str = "approved") -> dict[str, Any]:
        action = self.running()
        assert action is not None
        entry = next(e for e in self.journal if e["id"] == action["journal_id"])
        entry["state"] = "confirmed" if outcome == "approved" else "declined"
        entry["outcome"] = outcome
        result = {"outcome": outcome, "authorization_id": f"auth_{entry['id']}",
                  "receipt": {"amount": action["amount"]}}
        self.publish("ui", action_id=action["id"], text=outcome.capitalize(),
                     indicators=["on", "on", "on", "on"])
        self._update(action, state="completed", result=result)
        return action

    def _create(self, body: dict[str, Any]) -> httpx.Response:
        busy = self.running()
        if busy is not None:
            return _problem(409, "action_in_progress", f"action {busy['id']} is running",
                            running_action_id=busy["id"])
        action = {"id": f"act_{uuid.uuid4().hex}", "state": "pending", "result": None,
                  "reason": None, "cancel_requested": False, "cancel_result": None,
                  "journal_id": None, "reference": None, "original_action_id": None, **body}
        self.actions[action["id"]] = action
        self.publish("action", action=dict(action))
        entry = self._entry(action, "accepted")
        if body["kind"] == "refund":
            self._update(action, state="processing", journal_id=entry["id"])
            entry["state"], entry["outcome"] = "confirmed", "refunded"
            self._update(action, state="completed",
                         result={"outcome": "approved", "authorization_id": "op_1"})
        else:
            self._update(action, state="waiting_for_card", journal_id=entry["id"])
            self.publish("ui", action_id=action["id"], text="Present card",
                         indicators=["flash", "off", "off", "off"])
        return httpx.Response(201, json=action)

    # -- the transport ------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        body = json.loads(request.content) if request.content else None
        self.requests.append((method, path, body))
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _problem(401, "unauthorized", "wrong token")
        if path == "/v1/health":
            busy = self.running()
            return httpx.Response(200, json={
                "reader": {"present": True, "name": "emulated:visa"},
                "acquirer": {"reachable": self.reachable},
                "outbox": {"pending": 0 if self.reachable else 1,
                           "at_risk": {} if self.reachable else {"EUR": 700}},
                "running_action": busy["id"] if busy else None,
                "last_event_id": len(self.events)})
        if path == "/v1/events":
            self.resumed_from.append(request.headers.get("Last-Event-ID"))
            after = int(request.headers.get("Last-Event-ID", len(self.events)))
            return httpx.Response(200, headers={"content-type": "text/event-stream"},
                                  content=self._stream(after))
        if path == "/v1/actions" and method == "POST":
            if not request.headers.get("Idempotency-Key"):
                return _problem(422, "idempotency_key_missing", "no key")
            return self._create(body)
        if path.startswith("/v1/actions/"):
            parts = path.split("/")
            action = self.actions.get(parts[3])
            if action is None:
                return _problem(404, "action_unknown", "no such action")
            verb = parts[4] if len(parts) > 4 else None
            if verb == "cancel":
                if action["state"] == "waiting_for_card":
                    entry = next(e for e in self.journal if e["id"] == action["journal_id"])
                    entry["state"] = "cancelled"
                    self._update(action, state="cancelled", cancel_result="cancelled",
                                 cancel_requested=True)
                else:
                    action.update(cancel_requested=True, cancel_result="too_late")
                return httpx.Response(200, json=action)
            if verb == "receipt":
                return httpx.Response(200, text=f"Corner Shop\nAmount {action['amount']}\n"
                                      f"APPROVED\nAuth {action['result']['authorization_id']}\n")
            if verb == "print":
                if not self.printer:
                    return _problem(503, "printer_unavailable", "no receipt printer")
                self.printed.append(action["id"])
                return httpx.Response(200, json={"printed": True})
            return httpx.Response(200, json=action)
        if path == "/v1/transactions":
            return httpx.Response(200, json={"items": self.journal, "total": len(self.journal)})
        if path == "/v1/totals":
            return httpx.Response(200, json=self.totals())
        if path == "/v1/batches":
            return httpx.Response(200, json={"batch": {"batch_id": "bat_1"}, "matches": True,
                                             "terminal_totals": self.totals()})
        return _problem(404, "not_found", path)

    def totals(self) -> dict[str, Any]:
        sales = [e for e in self.journal if e["kind"] == "payment" and e["state"] == "confirmed"]
        refunds = [e for e in self.journal if e["kind"] == "refund" and e["state"] == "confirmed"]
        s, r = sum(e["amount"] for e in sales), sum(e["amount"] for e in refunds)
        return {"currencies": [{"currency": "EUR", "sales": {"count": len(sales), "amount": s},
                                "refunds": {"count": len(refunds), "amount": r},
                                "net": s - r}]} if sales or refunds else {"currencies": []}


def _problem(status: int, code: str, detail: str, **extra: Any) -> httpx.Response:
    return httpx.Response(status, headers={"content-type": "application/problem+json"},
                          json={"type": f"/problems/{code}", "status": status, "code": code,
                                "detail": detail, **extra})
