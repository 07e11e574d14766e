"""The daemon's life: a reader that comes and goes, and a restart after a kill."""

from __future__ import annotations

import threading
from pathlib import Path

from card_emulation import EmvApplet
from terminal.daemon.actions import Action, ActionKind, ActionState, new_action_id
from terminal.daemon.records import Records, request_hash
from terminal.errors import ReaderUnavailableError
from terminal.journal import Journal, TxKind, TxState, payment_undo
from terminal.readers.base import Reader
from terminal.readers.emulated import LoopbackReader
from tests.terminal.daemon.rig import daemon_rig


class Unplugged:
    """``open_reader`` for a reader that is not plugged in until :attr:`plugged` is set."""

    def __init__(self, reader: Reader) -> None:
        self.reader, self.plugged, self.opens = reader, threading.Event(), 0

    def __call__(self) -> Reader:
        self.opens += 1
        if not self.plugged.is_set():
            raise ReaderUnavailableError("no reader named loopback")
        return self.reader


def test_the_daemon_waits_for_its_reader_and_says_so(
    tmp_path: Path, acquirer: tuple[str, Path], card: EmvApplet
) -> None:
    unplugged = Unplugged(LoopbackReader(card_timeout=5.0))
    with daemon_rig(tmp_path, acquirer[0], card, open_reader=unplugged) as rig:
        health = rig.api.get("/v1/health").json()
        assert health["reader"]["present"] is False
        assert health["reader"]["detail"] == "no reader named loopback"
        refused = rig.act(kind="payment", amount=100)
        assert (refused.status_code, refused.json()["code"]) == (503, "reader_absent")
        with rig.stream(after=0) as events:
            unplugged.plugged.set()
            events.wait_for(lambda e: e["type"] == "reader" and e["present"] is True)
        assert rig.api.get("/v1/health").json()["reader"]["present"] is True
        # It disappears: the daemon drops it, says so, and finds it again.
        with rig.stream(after=rig.api.get("/v1/health").json()["last_event_id"]) as events:
            unplugged.plugged.clear()
            rig.daemon.reader_lost("the reader was unplugged")
            gone = events.wait_for(lambda e: e["type"] == "reader")
            assert (gone["present"], gone["detail"]) == (False, "the reader was unplugged")
            assert rig.api.get("/v1/health").json()["reader"]["present"] is False
            unplugged.plugged.set()
            events.wait_for(lambda e: e["type"] == "reader" and e["present"] is True)
        assert rig.act(kind="payment", amount=100).status_code == 201
    assert unplugged.opens >= 3


def test_a_restart_resolves_what_a_kill_left(
    tmp_path: Path, acquirer: tuple[str, Path], card: EmvApplet
) -> None:
    # What a kill -9 leaves on disk: an action waiting for a card (its transaction accepted),
    # and a transaction whose authorization had just been sent.
    terminal_id = "KILLED01"
    records = Records(tmp_path / "daemon.sqlite3")
    with Journal(tmp_path / "journal.sqlite3") as journal:
        waiting = journal.accept(TxKind.PAYMENT, 700, "EUR", reference="killed-1")
        action = Action(new_action_id(), ActionKind.PAYMENT, ActionState.WAITING_FOR_CARD, 700,
                        "EUR", "killed-1", journal_id=waiting.id)  # fmt: skip
        records.add_action(action, "kiosk-key-1", request_hash({"amount": 700}))
        in_flight = journal.accept(TxKind.PAYMENT, 300, "EUR", reference="killed-2")
        journal.card_read(in_flight.id, token_masked="476173******0010")
        journal.sent(in_flight.id, undo=payment_undo(terminal_id, in_flight.idempotency_key))
    records.close()
    with daemon_rig(tmp_path, acquirer[0], card) as second:
        found = second.api.get(f"/v1/actions/{action.id}").json()
        assert (found["state"], found["reason"]) == ("failed", "interrupted")
        items = {e["reference"]: e for e in second.api.get("/v1/transactions").json()["items"]}
        assert (items["killed-1"]["state"], items["killed-1"]["reason"]) == (
            TxState.CANCELLED, "interrupted")
        # Sent, answer unknown: resolved at start (the status lookup, else a reversal by key,
        # flushed at once: the acquirer never saw the original, the reversal bars its key).
        assert items["killed-2"]["state"] in (TxState.REVERSED, TxState.DECLINED)
        assert items["killed-2"]["resolution"] is not None
        health = second.api.get("/v1/health").json()
        assert health["outbox"]["pending"] == 0 and len(health["recovered"]) == 2
