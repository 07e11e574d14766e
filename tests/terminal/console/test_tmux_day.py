"""A whole shop day at the console, in tmux, against a real daemon, acquirer and emulated card.

``tap-terminal console`` runs in a detached tmux session; the test types as the shopkeeper
does (send-keys), puts the customer's card in the daemon's reader field, and reads the
screen (capture-pane): three sales, one refund, one reprint, the totals and the close.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.terminal.daemon.rig import TOKEN, Rig

#: Seconds the screen may take to show what a step expects.
WAIT = 30.0


def _tmux() -> str:
    found = shutil.which("tmux")
    if found is None and shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-q", "tmux"], capture_output=True,
                       check=False)  # fmt: skip
        found = shutil.which("tmux")
    if found is None:
        pytest.skip("tmux is not installed and cannot be (apt-get install tmux)")
    return found


class Screen:
    def __init__(self, tmux: str, session: str) -> None:
        self.tmux, self.session = tmux, session

    def keys(self, *keys: str) -> None:
        subprocess.run([self.tmux, "send-keys", "-t", self.session, *keys], check=True)

    def text(self) -> str:
        return subprocess.run([self.tmux, "capture-pane", "-p", "-t", self.session],
                              capture_output=True, text=True, check=True).stdout  # fmt: skip

    def wait_for(self, *wanted: str) -> str:
        """The screen once it shows every one of ``wanted`` (bounded by WAIT)."""
        deadline = time.monotonic() + WAIT
        while True:
            shown = self.text()
            if all(w in shown for w in wanted):
                return shown
            if time.monotonic() > deadline:
                raise AssertionError(f"the console never showed {wanted}; it shows:\n{shown}")
            time.sleep(0.05)  # a poll of the screen, not a wait for an event


@pytest.fixture
def screen(rig: Rig, tmp_path: Path) -> Iterator[Screen]:
    tmux = _tmux()
    session = f"console-{uuid.uuid4().hex[:8]}"
    console = Path(sys.executable).parent / "tap-terminal"
    subprocess.run([tmux, "new-session", "-d", "-s", session, "-x", "200", "-y", "50",
                    "-e", f"TAP_TERMINAL_TOKEN={TOKEN}", "-e", "TERM=xterm-256color",
                    f"read go; stty cols 200 rows 50; {console} console --url {rig.base_url} --locale en_GB; sleep 60"],
                   check=True)  # fmt: skip
    subprocess.run([tmux, "set-option", "-t", session, "window-size", "manual"], check=False)
    subprocess.run([tmux, "resize-window", "-t", session, "-x", "200", "-y", "50"], check=False)
    # The console starts once the window has its size (the shell waits for this Enter).
    subprocess.run([tmux, "send-keys", "-t", session, "Enter"], check=True)
    try:
        yield Screen(tmux, session)
    finally:
        subprocess.run([tmux, "kill-session", "-t", session], check=False)


def _sale(rig: Rig, screen: Screen, typed: str, shown: str) -> None:
    screen.keys(typed, "Enter")
    screen.wait_for(shown, "Present card")
    deadline = time.monotonic() + WAIT
    while rig.api.get("/v1/health").json()["running_action"] is None:
        assert time.monotonic() < deadline, "the daemon never started the sale"
    running = rig.api.get("/v1/health").json()["running_action"]
    rig.wait_state(running, "waiting_for_card")
    rig.field.insert(rig.card)
    try:
        rig.wait_state(running, "completed", "failed", "cancelled")
        screen.wait_for("APPROVED", f"payment {shown}: APPROVED")
    finally:
        rig.field.remove()


def test_a_shop_day_three_sales_a_refund_a_reprint_and_the_close(rig: Rig,
                                                                screen: Screen) -> None:
    first = screen.wait_for("ONLINE", "f3 Refund", "f4 Reprint", "f5 Totals",
                            "f6 Close", "esc Cancel", "^q Quit")
    assert "reader " in first and "outbox 0" in first

    _sale(rig, screen, "12.50", "12.50 EUR")
    _sale(rig, screen, "3", "3.00 EUR")
    # A wrong separator first: a message, nothing sent; then the right one.
    screen.keys("7,25", "Enter")
    screen.wait_for("Amount not accepted: amount '7,25' is not a number")
    screen.keys("C-u")
    _sale(rig, screen, "7.25", "7.25 EUR")

    # Refund the last sale: F3 asks, F3 again does it.
    screen.keys("F3")
    screen.wait_for("Refund 7.25 EUR", "F3 again to confirm")
    screen.keys("F3")
    screen.wait_for("REFUNDED", "refund 7.25 EUR: REFUNDED")

    # Reprint the newest transaction's receipt (the refund): shown on screen; no printer here.
    screen.keys("F4")
    shown = screen.wait_for("Receipt shown", "Kiosk Coffee", "REFUND", rig.terminal_id)
    assert "Amount 7.25 EUR" in shown

    screen.keys("F5")
    screen.wait_for("Day totals", "sales 3 = 22.75 EUR", "refunds 1 = 7.25 EUR", "net 15.50 EUR")

    screen.keys("F6")
    screen.wait_for("F6 again to confirm")
    screen.keys("F6")
    closed = screen.wait_for("Batch closed: totals match the acquirer")
    assert "closed: totals match the acquirer" in closed
    # The table shows the day: three confirmed payments and the refund.
    assert closed.count("confirmed") >= 4
