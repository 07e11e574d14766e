"""A terminal killed with SIGKILL at every step of a transaction, then restarted.

The child (:mod:`tests.terminal.journal.crash_child`) journals and outboxes one payment
against a fake acquirer over real HTTP, and is killed at the step under test (a pipe
handshake: it says where it is and blocks). The restart runs :func:`recover_all` with the
acquirer's status lookup, then flushes the outbox. Afterwards, whatever the step:

- every transaction is in a final state;
- the money the acquirer holds is exactly what the journal says the customer was shown: a
  transaction shown approved is charged once, every other one holds nothing;
- no request had more than one effect at the acquirer.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from terminal.journal import Journal, TxState, journal_hook, recover_all
from terminal.outbox import Forwarder, Outbox, http_sender
from tests.terminal.outbox.fake_acquirer import FakeAcquirer, fake_acquirer

ROOT = Path(__file__).resolve().parents[3]
STEPS = {
    "online": ["accepted", "card_read", "sent", "posted", "answered", "confirmed", "none"],
    "lost": ["answer_unknown", "reversal_stored", "reversal_queued", "reversal_sent", "flushed",
             "none"],
    "offline": ["held", "offline_approved", "released", "none"],
}  # fmt: skip
CASES = [(scenario, stop) for scenario, stops in STEPS.items() for stop in stops]
#: What the customer ends up with after the restart, per case (approved: charged once).
APPROVED = {("online", "confirmed"), ("online", "none"), ("offline", "offline_approved"),
            ("offline", "released"), ("offline", "none")}  # fmt: skip


def run_child(tmp: Path, url: str, scenario: str, stop: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.terminal.journal.crash_child", str(tmp / "journal.sqlite3"),
         str(tmp / "outbox.sqlite3"), url, scenario, stop],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if stop == "none":
        assert line == "done"
        assert proc.wait(timeout=30) == 0
        return
    assert line == f"at {stop}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def restart(tmp: Path, acquirer: FakeAcquirer) -> Journal:
    later = time.time() + 3600  # a dead forwarder's lease has expired by now
    journal = Journal(tmp / "journal.sqlite3")
    with Outbox(tmp / "outbox.sqlite3", clock=lambda: later) as outbox, \
            httpx.Client(base_url=acquirer.url) as http:  # fmt: skip
        recover_all(journal, outbox, acquirer.status)
        Forwarder(outbox, http_sender(http), on_done=journal_hook(journal)).flush()
        recover_all(journal, outbox, acquirer.status)  # catches up what the hook could not
        assert outbox.pending().count == 0 and outbox.pending().failed == 0
    return journal


@pytest.mark.parametrize(("scenario", "stop"), CASES)
def test_killed_at_every_step_the_customer_is_charged_what_the_screen_said(
    tmp_path: Path, scenario: str, stop: str
) -> None:
    with fake_acquirer() as acquirer:
        run_child(tmp_path, acquirer.url, scenario, stop)
        with restart(tmp_path, acquirer) as journal:
            [entry] = journal.entries()
            assert entry.state.final, entry.state
            shown_approved = entry.outcome == "approved"
            assert shown_approved == ((scenario, stop) in APPROVED), entry
            assert acquirer.charged(entry.idempotency_key) == shown_approved
            assert all(n == 1 for n in acquirer.effects.values()), acquirer.effects
            if entry.state is TxState.REVERSED:
                assert entry.resolution is not None  # the path taken is recorded
            assert journal.recover() == []
