"""The console's client of the terminal daemon's local API (httpx, bearer token).

The console drives the daemon only through this API (issue 12: "The API is the only way the
console and the tests drive the daemon"), so a payment keyed at the console runs the same
code as one a kiosk starts. Every failure is mapped here into the terminal's tree:
:class:`~terminal.errors.DaemonUnreachableError` (no connection, no answer) or
:class:`~terminal.errors.DaemonRefusedError` (a problem+json answer, its ``code`` kept).

The event stream (``GET /v1/events``, WHATWG HTML 9.2 server-sent events) is read by
:meth:`DaemonClient.events`, which reconnects with ``Last-Event-ID`` after a dropped
connection, so the mirror of the customer display loses nothing.

>>> list(parse_sse(["id: 3", "event: ui", 'data: {"text": "Present card"}', ""]))
[SseEvent(id=3, type='ui', data={'text': 'Present card'})]
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from terminal.errors import DaemonRefusedError, DaemonUnreachableError

__all__ = ["DaemonClient", "SseEvent", "parse_sse"]

#: Seconds a request waits for the daemon (the event stream waits for ever between events).
TIMEOUT = 10.0
#: Seconds between reconnects of a dropped event stream.
RECONNECT = 1.0


@dataclass(frozen=True, slots=True)
class SseEvent:
    """One server-sent event of the daemon: its id, type and JSON data."""

    id: int | None
    type: str
    data: dict[str, Any]


def parse_sse(lines: Iterable[str]) -> Iterator[SseEvent]:
    """Events from ``text/event-stream`` lines (comments and ``retry:`` lines skipped)."""
    event_id: int | None = None
    kind, data = "message", list[str]()
    for line in lines:
        if line == "":
            if data:
                try:
                    doc = json.loads("\n".join(data))
                except json.JSONDecodeError:
                    doc = {"text": "\n".join(data)}
                yield SseEvent(event_id, kind, doc if isinstance(doc, dict) else {"value": doc})
            event_id, kind, data = None, "message", list[str]()
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "id" and value.isdigit():
            event_id = int(value)
        elif field == "event":
            kind = value
        elif field == "data":
            data.append(value)


class DaemonClient:
    """The local API of one daemon at ``base_url``; ``transport`` is injectable for tests."""

    def __init__(self, base_url: str, token: str, *,
                 transport: httpx.BaseTransport | None = None,
                 timeout: float = TIMEOUT) -> None:  # fmt: skip
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, transport=transport, timeout=timeout,
                                  headers={"Authorization": f"Bearer {token}"})  # fmt: skip

    def close(self) -> None:
        self._http.close()

    # -- plain requests ---------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise DaemonUnreachableError(
                f"the terminal daemon at {self.base_url} did not answer "
                f"({exc.__class__.__name__})") from None  # fmt: skip
        if response.status_code >= 400:
            problem: dict[str, Any] = {}
            try:
                body = response.json()
                problem = body if isinstance(body, dict) else {}
            except ValueError:
                pass
            detail = str(problem.get("detail") or response.reason_phrase or "refused")
            code = problem.get("code")
            raise DaemonRefusedError(response.status_code, str(code) if code else None, detail,
                                     problem)  # fmt: skip
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        body = self._request(method, path, **kwargs).json()
        if not isinstance(body, dict):
            raise DaemonRefusedError(502, "bad_answer", f"{path} did not answer an object")
        return body

    def health(self) -> dict[str, Any]:
        """Reader, acquirer reachability, outbox backlog and money at risk."""
        return self._json("GET", "/v1/health")

    def start(self, kind: str, amount: int, currency: str, *, reference: str | None = None,
              original_action_id: str | None = None,
              idempotency_key: str | None = None) -> dict[str, Any]:  # fmt: skip
        """Start an action (``POST /v1/actions``); answers at once with the action."""
        body: dict[str, Any] = {"kind": kind, "amount": amount, "currency": currency}
        if reference is not None:
            body["reference"] = reference
        if original_action_id is not None:
            body["original_action_id"] = original_action_id
        key = idempotency_key or f"console-{uuid.uuid4().hex}"
        return self._json("POST", "/v1/actions", json=body, headers={"Idempotency-Key": key})

    def pay(self, amount: int, currency: str, *, reference: str | None = None) -> dict[str, Any]:
        return self.start("payment", amount, currency, reference=reference)

    def refund(self, original: dict[str, Any]) -> dict[str, Any]:
        """Refund the whole of the completed payment action ``original``."""
        return self.start("refund", int(original["amount"]), str(original["currency"]),
                          reference=original.get("reference"),
                          original_action_id=str(original["id"]))  # fmt: skip

    def action(self, action_id: str) -> dict[str, Any]:
        return self._json("GET", f"/v1/actions/{action_id}")

    def cancel(self, action_id: str) -> dict[str, Any]:
        return self._json("POST", f"/v1/actions/{action_id}/cancel")

    def receipt_text(self, action_id: str) -> str:
        return self._request("GET", f"/v1/actions/{action_id}/receipt").text

    def print_receipt(self, action_id: str) -> None:
        self._request("POST", f"/v1/actions/{action_id}/print")

    def transactions(self, *, limit: int = 20) -> list[dict[str, Any]]:
        """The journal's newest ``limit`` transactions, newest first."""
        items = self._json("GET", "/v1/transactions", params={"limit": limit}).get("items")
        return [i for i in items or [] if isinstance(i, dict)]

    def totals(self) -> dict[str, Any]:
        return self._json("GET", "/v1/totals")

    def close_batch(self) -> dict[str, Any]:
        return self._json("POST", "/v1/batches")

    # -- the event stream ---------------------------------------------------------------------

    def events(self, stop: threading.Event, *, after: int | None = None) -> Iterator[SseEvent]:
        """Events until ``stop`` is set, reconnecting with ``Last-Event-ID`` when the stream
        drops; ``after`` replays the kept events after that id first (0: all of them). A
        ``None`` item is yielded each time the connection is lost, so the caller can say so."""
        last = after
        while not stop.is_set():
            headers = {"Accept": "text/event-stream"}
            if last is not None:
                headers["Last-Event-ID"] = str(last)
            try:
                with self._http.stream("GET", "/v1/events", headers=headers,
                                       timeout=httpx.Timeout(TIMEOUT, read=None)) as response:
                    if response.status_code >= 400:
                        raise DaemonRefusedError(response.status_code, None,
                                                 "the event stream was refused")  # fmt: skip
                    for event in parse_sse(response.iter_lines()):
                        if event.id is not None:
                            last = event.id
                        yield event
                        if stop.is_set():
                            return
            except httpx.HTTPError:
                pass
            if not stop.is_set():
                yield SseEvent(None, "disconnected", {})
                stop.wait(RECONNECT)
