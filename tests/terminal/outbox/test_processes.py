"""The outbox across processes: two forwarders on one file, and a forwarder killed mid-forward.

A fake acquirer over real HTTP counts the requests per idempotency key and replays a repeated
key's answer (:mod:`tests.terminal.outbox.fake_acquirer`). Children are stopped at the step
under test by a pipe handshake (they print where they are and block), then SIGKILLed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from terminal.outbox import Forwarder, ItemState, NewItem, Outbox, Request, http_sender
from tests.terminal.outbox.fake_acquirer import fake_acquirer

ROOT = Path(__file__).resolve().parents[3]
KINDS = ("reversal", "advice", "deferred_payment", "ride", "door_event")


def child(path: Path, url: str, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.terminal.outbox.forward_child", str(path), url, mode],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip


def fill(path: Path, per_kind: int) -> list[str]:
    keys = []
    with Outbox(path) as box:
        for n in range(per_kind):
            for kind in KINDS:
                key = f"{kind}-{n}"
                box.add(NewItem(Request(kind, "POST", f"/v1/{kind}", {"n": n}), key))
                keys.append(key)
    return keys


def kill(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL


def test_two_forwarders_in_two_processes_send_each_item_exactly_once(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    keys = fill(path, per_kind=20)
    with fake_acquirer(hold_first=True) as acquirer:
        procs = [child(path, acquirer.url, "flush") for _ in range(2)]
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        delivered = []
        for proc in procs:
            out, _ = proc.communicate(timeout=120)
            assert proc.returncode == 0
            delivered.append(int(out.strip()))
        # The first request was held until the other process sent one: they overlapped.
        assert acquirer.overlapped
        assert sum(delivered) == len(keys)
        assert set(acquirer.posts) == set(keys)
        assert all(n == 1 for n in acquirer.posts.values()), acquirer.posts.most_common(3)
        assert all(n == 1 for n in acquirer.effects.values())
        # Order per kind held: within each kind, effects happened in the order stored.
        for kind in KINDS:
            order = [acquirer.answers[f"{kind}-{n}"][1]["effect"] for n in range(20)]
            assert order == sorted(order)
    with Outbox(path) as box:
        assert box.pending().count == 0
        assert {i.state for i in box.items()} == {ItemState.DONE}


def test_a_forwarder_killed_after_sending_resends_under_the_same_key(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    fill(path, per_kind=1)
    with fake_acquirer() as acquirer:
        proc = child(path, acquirer.url, "crash_after_send")
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        assert line[0] == "sent"
        key = line[1]
        kill(proc)
        with Outbox(path) as box:
            stuck = box.by_key(key)
            assert stuck is not None and stuck.state is ItemState.IN_FLIGHT
        # Restart: once the dead forwarder's lease has expired, the item is sent again.
        later = time.time() + 3600
        with Outbox(path, clock=lambda: later) as box, httpx.Client(base_url=acquirer.url) as http:
            report = Forwarder(box, http_sender(http)).flush()
            assert report.delivered == len(KINDS)
            again = box.by_key(key)
            assert again is not None and again.state is ItemState.DONE and again.attempts == 2
        assert acquirer.posts[key] == 2  # sent twice ...
        assert acquirer.effects[key] == 1  # ... done once: the acquirer replayed its answer
        assert all(n == 1 for k, n in acquirer.effects.items())


def test_a_forwarder_killed_before_sending_leaves_the_item_to_be_sent_once(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    fill(path, per_kind=1)
    with fake_acquirer() as acquirer:
        proc = child(path, acquirer.url, "crash_before_send")
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        assert line[0] == "claimed"
        kill(proc)
        # A forwarder started at once leaves the leased item alone (its lease is live) ...
        with Outbox(path) as box, httpx.Client(base_url=acquirer.url) as http:
            Forwarder(box, http_sender(http)).flush()
            leased = box.by_key(line[1])
            assert leased is not None and leased.state is ItemState.IN_FLIGHT
        assert acquirer.posts[line[1]] == 0
        # ... and sends it after the lease expired.
        later = time.time() + 3600
        with Outbox(path, clock=lambda: later) as box, httpx.Client(base_url=acquirer.url) as http:
            Forwarder(box, http_sender(http)).flush()
            assert box.pending().count == 0
        assert acquirer.posts[line[1]] == 1 and acquirer.effects[line[1]] == 1
