"""The daemon under test: a real acquirer process, the daemon served over real HTTP on a free
loopback port (uvicorn in a thread), an in-process reader whose field the test controls (the
customer's tap), and an event stream reader."""

from __future__ import annotations

import itertools
import json
import queue
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from card_emulation import EmvApplet
from terminal.daemon.api import create_app
from terminal.daemon.server import bind, serve_in_thread
from terminal.daemon.service import Daemon
from terminal.daemon.settings import DaemonSettings
from terminal.kernel import Kernel
from terminal.online import AcquirerClient
from terminal.readers.base import Reader
from terminal.settings import TerminalSettings, kernel_config
from tests.readers.stacks import LoopbackRig
from tests.readers.stacks import Rig as FieldRig

TOKEN = "test-token-" + "k" * 24
_TERMINALS = itertools.count(1)
#: Bounded waits of the tests (seconds); an event normally comes within milliseconds.
TIMEOUT = 20.0


@dataclass
class Rig:
    """One daemon and what drives it."""

    daemon: Daemon
    api: httpx.Client
    #: The reader's field: the test puts the customer's card in it and takes it out.
    field: FieldRig
    card: EmvApplet
    acquirer_url: str
    terminal_id: str
    base_url: str

    def act(self, key: str | None = None, **body: Any) -> httpx.Response:
        return self.api.post("/v1/actions", json={"currency": "EUR", **body},
                             headers={"Idempotency-Key": key or str(uuid.uuid4())})  # fmt: skip

    def wait_state(self, action_id: str, *states: str) -> dict[str, Any]:
        """The action once it is in one of ``states`` (read from the event stream)."""
        with self.stream(after=0) as events:
            doc = self.api.get(f"/v1/actions/{action_id}").json()
            if doc["state"] in states:
                return dict(doc)
            found = events.wait_for(lambda e: e["type"] == "action"
                                    and e["action"]["id"] == action_id
                                    and e["action"]["state"] in states)  # fmt: skip
            return dict(found["action"])

    @contextmanager
    def stream(self, *, after: int | None = None,
               last_event_id: int | None = None) -> Iterator[EventStream]:  # fmt: skip
        s = EventStream(self.base_url, after=after, last_event_id=last_event_id)
        try:
            yield s
        finally:
            s.close()


class EventStream:
    """``GET /v1/events`` read on a thread; events handed over a queue."""

    def __init__(self, base_url: str, *, after: int | None, last_event_id: int | None) -> None:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        params = {"after": str(after)} if after is not None else {}
        self._http = httpx.Client(base_url=base_url, headers=headers, timeout=None)
        self._events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self._open = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(params,), daemon=True)
        self._thread.start()
        assert self._open.wait(TIMEOUT), "the event stream did not open"

    def _read(self, params: dict[str, str]) -> None:
        try:
            with self._http.stream("GET", "/v1/events", params=params) as response:
                self._response = response
                self.status = response.status_code
                self._open.set()
                for line in response.iter_lines():
                    if line.startswith("data: "):
                        self._events.put(json.loads(line[6:]))
        except httpx.HTTPError:
            self._open.set()

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The first event (from now on) for which ``predicate`` holds; all kept in ``seen``."""
        while True:
            event = self._events.get(timeout=TIMEOUT)
            self.seen.append(event)
            if predicate(event):
                return event

    def close(self) -> None:
        response = getattr(self, "_response", None)
        if response is not None:
            response.close()
        self._http.close()


@contextmanager
def daemon_rig(state: Path, acquirer_url: str, card: EmvApplet, *, wait: float = 30.0,
               field: FieldRig | None = None,
               open_reader: Callable[[], Reader] | None = None,
               printer: Callable[[], Any] | None = None,
               transport: httpx.BaseTransport | None = None,
               outbox_transport: httpx.BaseTransport | None = None) -> Iterator[Rig]:  # fmt: skip
    """A daemon with its own state and terminal id, served on a free loopback port, its reader
    ``field``'s (an in-process loopback reader by default)."""
    terminal_id = f"KIOSK{next(_TERMINALS):03d}{uuid.uuid4().hex[:6].upper()}"
    settings = TerminalSettings(terminal_id=terminal_id, acquirer_url=acquirer_url, wait=wait,
                                merchant_name="Kiosk Coffee",
                                daemon=DaemonSettings(token=TOKEN, state_dir=state))  # fmt: skip
    field = field or LoopbackRig(card_timeout=5.0)
    reader = field.reader
    client = AcquirerClient(acquirer_url, transport=transport)
    http = httpx.Client(base_url=acquirer_url, transport=outbox_transport)
    daemon = Daemon(settings, open_reader=open_reader or (lambda: reader), kernel=Kernel(kernel_config(settings)),
                    client=client, http=http, printer=printer)  # fmt: skip
    daemon.start()
    sock = bind("127.0.0.1", 0, None)
    host, port = sock.getsockname()[:2]
    base = f"http://{host}:{port}"
    try:
        with serve_in_thread(create_app(daemon, TOKEN), sock), httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=TIMEOUT
        ) as api:
            present = api.get("/v1/health").json()
            if open_reader is None and not present["reader"]["present"]:
                with Rig(daemon, api, field, card, acquirer_url, terminal_id, base).stream(
                        after=0) as events:  # fmt: skip
                    if not api.get("/v1/health").json()["reader"]["present"]:
                        events.wait_for(lambda e: e["type"] == "reader" and e["present"])
            yield Rig(daemon, api, field, card, acquirer_url, terminal_id, base)
    finally:
        daemon.stop()
        client.close()
        http.close()
