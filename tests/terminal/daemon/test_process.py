"""``tap-terminal run`` as a process: settings file, token file, an emulated card, signals."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.terminal.daemon.rig import TIMEOUT, TOKEN

RUN = [str(Path(sys.executable).with_name("tap-terminal")), "run"]


def settings_file(folder: Path, acquirer_url: str) -> Path:
    (folder / "api-token").write_text(TOKEN + "\n", encoding="utf-8")
    path = folder / "terminal.toml"
    path.write_text(f"""
[terminal]
id = "PROC0001"
merchant_name = "Process Shop"

[acquirer]
url = "{acquirer_url}"

[reader]
default = "emulated:kiosk"
wait = 5.0

[daemon]
port = 0
token_file = "api-token"
state_dir = "state"
""", encoding="utf-8")  # fmt: skip
    return path


@contextmanager
def daemon_process(settings: Path, cards: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = subprocess.Popen([*RUN, "--settings", str(settings)], stderr=subprocess.PIPE,
                               stdout=subprocess.DEVNULL, text=True,
                               env={**os.environ, "TAP_CARD_HOME": str(cards)})  # fmt: skip
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        assert match, f"tap-terminal run did not start: {line!r} (exit {process.poll()})"
        yield process, match.group(1)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(TIMEOUT)


def client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"},
                        timeout=TIMEOUT)  # fmt: skip


def wait_final(api: httpx.Client, action_id: str, *states: str) -> dict[str, object]:
    """The action once it is in ``states``: looked at again on each line of the event stream."""
    with api.stream("GET", "/v1/events", params={"after": "0"}) as events:
        for _ in events.iter_lines():
            doc = api.get(f"/v1/actions/{action_id}").json()
            if doc["state"] in states:
                return dict(doc)
    raise AssertionError("the event stream ended")


def test_run_serves_a_payment_then_survives_a_kill(
    tmp_path: Path, acquirer: tuple[str, Path]
) -> None:
    settings = settings_file(tmp_path, acquirer[0])
    with daemon_process(settings, acquirer[1]) as (process, url), client(url) as api:
        assert httpx.get(f"{url}/v1/health").status_code == 401
        created = api.post("/v1/actions", json={"kind": "payment", "amount": 1234,
                           "currency": "EUR", "reference": "proc-1"},
                           headers={"Idempotency-Key": "proc-1"})  # fmt: skip
        assert created.status_code == 201, created.text
        done = wait_final(api, created.json()["id"], "completed", "failed", "cancelled")
        assert done["state"] == "completed", done
        # The emulated card never leaves the field: the next action waits for its removal.
        second = api.post("/v1/actions", json={"kind": "payment", "amount": 100,
                          "currency": "EUR", "reference": "proc-2"},
                          headers={"Idempotency-Key": "proc-2"}).json()  # fmt: skip
        assert second["state"] in ("pending", "waiting_for_card")
        process.send_signal(signal.SIGKILL)
        process.wait(TIMEOUT)
    with daemon_process(settings, acquirer[1]) as (process, url), client(url) as api:
        after = api.get(f"/v1/actions/{second['id']}").json()
        assert (after["state"], after["reason"]) == ("failed", "interrupted")
        journal = api.get("/v1/transactions").json()["items"]
        states = {e["reference"]: e["state"] for e in journal}
        assert states == {"proc-1": "confirmed", "proc-2": "cancelled"}
        process.send_signal(signal.SIGTERM)
        assert process.wait(TIMEOUT) == 0
    assert (tmp_path / "state" / "journal.sqlite3").stat().st_mode & 0o077 == 0
