"""A fake acquirer over real HTTP for the outbox tests: idempotent POSTs, counted per key.

``POST /v1/authorizations`` approves; ``POST /v1/reversals`` reverses by original key, or bars a
key it never saw (404 ``payment_unknown``, as ``bar_key`` does); any other POST is answered
200 with ``{"ok": true, "key": K, "effect": n}``. A repeated key replays
the stored answer (``Idempotent-Replayed: true``) without a new effect, as the real acquirer
does. ``posts[K]`` counts the requests that arrived with key K, ``effects[K]`` what was done.
Paths under ``/refuse/`` answer 422 (a permanent refusal); ``/busy/`` answers 409 once per key.
With ``hold_first``, the first request is held until a request with another key arrives (or
a bounded wait passes), so two forwarders are provably at work at the same time.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeAcquirer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, *, hold_first: bool = False) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.posts: Counter[str] = Counter()
        self.effects: Counter[str] = Counter()
        self.answers: dict[str, tuple[int, dict[str, Any]]] = {}
        #: Authorization keys whose approval was reversed.
        self.reversed: set[str] = set()
        self.hold_first = hold_first
        self.first_key: str | None = None
        self.other_arrived = threading.Event()
        self.overlapped = False

    def act(self, path: str, key: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """What a first request does (under the lock): authorizations approve, reversals
        reverse by original key or bar a key never seen, anything else just answers."""
        effect = sum(self.effects.values())
        if path == "/v1/authorizations":
            return 200, {"approved": True, "authorization_id": f"A-{effect}", "reason": "approved",
                         "issuer_authentication_data": None}  # fmt: skip
        if path == "/v1/reversals":
            original = str(body["original_idempotency_key"])
            if original not in self.answers:  # overtook its original: bar the key
                self.answers[original] = (200, {"approved": False, "authorization_id": "A-bar",
                                                "reason": "reversed_before_authorization"})  # fmt: skip
            if self.answers[original][1].get("approved") is True:
                self.reversed.add(original)
                return 200, {"state": "reversed"}
            return 404, {"code": "payment_unknown"}
        return 200, {"ok": True, "key": key, "path": path, "body": body, "effect": effect}

    def charged(self, key: str) -> bool:
        """Whether money is held or captured under authorization key ``key``."""
        with self.lock:
            answer = self.answers.get(key)
            return bool(answer and answer[1].get("approved") is True and key not in self.reversed)

    def status(self, kind: str, key: str) -> dict[str, Any]:
        """``GET /v1/status/{kind}/{key}`` as the acquirer will answer it."""
        with self.lock:
            answer = self.answers.get(key)
        return {"terminal_id": "T-0001", "kind": kind, "idempotency_key": key,
                "status": "processed" if answer else "not_found",
                "answer": answer[1] if answer else None}  # fmt: skip

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _Handler(BaseHTTPRequestHandler):
    server: FakeAcquirer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        parts = self.path.split("?")[0].split("/")
        if len(parts) == 5 and parts[1:3] == ["v1", "status"]:
            return self._answer(200, self.server.status(parts[3], parts[4]))
        self._answer(404, {"code": "not_found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        key = self.headers.get("Idempotency-Key", "")
        srv = self.server
        hold = False
        with srv.lock:
            srv.posts[key] += 1
            if srv.hold_first and srv.first_key is None:
                srv.first_key, hold = key, True
            elif key != srv.first_key:
                srv.other_arrived.set()
        if hold:
            srv.overlapped = srv.other_arrived.wait(timeout=20)
        if self.path.startswith("/refuse/"):
            return self._answer(422, {"code": "invalid_request", "detail": "refused"})
        with srv.lock:
            if self.path.startswith("/busy/") and srv.posts[key] == 1:
                return self._answer(409, {"code": "idempotency_key_in_flight"})
            replayed = key in srv.answers
            if not replayed:
                srv.effects[key] += 1
                srv.answers[key] = srv.act(self.path, key, body)
            status, answer = srv.answers[key]
        self._answer(status, answer, replayed)

    def _answer(self, status: int, doc: dict[str, Any], replayed: bool = False) -> None:
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if replayed:
            self.send_header("Idempotent-Replayed", "true")
        self.end_headers()
        self.wfile.write(data)


@contextmanager
def fake_acquirer(*, hold_first: bool = False) -> Iterator[FakeAcquirer]:
    server = FakeAcquirer(hold_first=hold_first)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
