"""Books: the interrupt hook racing the tap's thread, the journal as the arbiter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from terminal.errors import IllegalTransitionError, StatusUnavailableError
from terminal.journal import Journal, TxKind, TxState
from terminal.journal.books import Books
from terminal.journal.resolve import payment_undo
from terminal.outbox import Delivery, ItemState, Outbox, OutboxItem


def unreachable(kind: str, key: str) -> dict[str, Any]:
    raise StatusUnavailableError("no status lookup in this test")


def books(tmp_path: Path, sent: list[OutboxItem]) -> Books:
    def send(item: OutboxItem) -> Delivery:
        sent.append(item)
        return Delivery(200, {"operation_id": "op_1"})

    return Books(Journal(tmp_path / "j.sqlite3"), Outbox(tmp_path / "o.sqlite3"), unreachable, send)


def test_a_signal_before_the_send_queues_the_reversal_and_bars_the_send(tmp_path: Path) -> None:
    sent: list[OutboxItem] = []
    with books(tmp_path, sent) as b:
        record = b.begin(TxKind.PAYMENT, 500, "EUR", undo=lambda k: payment_undo("T1", k))
        record.card_read("476173******0010", "PAR1")
        settled = b.interrupted_after_send(record.key)
        assert (settled["journal_state"], settled["reversal"]) == ("reversal_queued", "queued")
        item = b.outbox.item(settled["reversal_item"])
        assert (item.path, item.body["original_idempotency_key"]) == ("/v1/reversals", record.key)
        with pytest.raises(IllegalTransitionError):
            record.sending()  # the tap's thread comes second: its request never leaves
        assert b.flush().delivered == 1
        assert b.journal.get(record.id).state is TxState.REVERSED
        assert [i.state for i in b.outbox.items()] == [ItemState.DONE]


def test_a_signal_after_the_confirmation_changes_nothing(tmp_path: Path) -> None:
    with books(tmp_path, []) as b:
        record = b.begin(TxKind.PAYMENT, 500, "EUR", undo=lambda k: payment_undo("T1", k))
        record.card_read(None, None)
        record.sending()
        record.answered(True, "approved", "auth_1")
        record.confirmed(True)
        assert b.interrupted_after_send(record.key) == {"journal_id": record.id,
                                                        "journal_state": "confirmed"}  # fmt: skip
        assert b.outbox.items() == []
        assert b.interrupted_after_send("not-a-journalled-key") == {}


def test_an_unknown_answer_without_a_status_is_reversed(tmp_path: Path) -> None:
    with books(tmp_path, []) as b:
        record = b.begin(TxKind.PAYMENT, 700, "EUR", undo=lambda k: payment_undo("T1", k))
        record.card_read(None, None)
        record.sending()
        settled = record.unanswered(True, lambda iad: True)
        assert (settled.approved, settled.reversal, settled.resolution) == (
            False, "queued", "unreachable")  # fmt: skip
        assert b.outbox.pending().at_risk == {"EUR": 700}


def test_in_progress_is_looked_up_again_before_anything_is_reversed(tmp_path: Path) -> None:
    answers = ["in_progress", "processed"]

    def lookup(kind: str, key: str) -> dict[str, Any]:
        status = answers.pop(0)
        answer = {"approved": True, "authorization_id": "auth_9"} if status == "processed" else None
        return {"kind": kind, "idempotency_key": key, "status": status, "answer": answer}

    with Books(Journal(tmp_path / "j.sqlite3"), Outbox(tmp_path / "o.sqlite3"), lookup,
               lambda item: Delivery(200, {})) as b:  # fmt: skip
        record = b.begin(TxKind.PAYMENT, 700, "EUR", undo=lambda k: payment_undo("T1", k))
        record.card_read(None, None)
        record.sending()
        settled = record.unanswered(True, lambda iad: True)
        assert (settled.approved, settled.authorization_id, settled.reversal) == (
            True, "auth_9", None)  # fmt: skip
        assert answers == [] and b.outbox.items() == []
        assert b.journal.get(record.id).state is TxState.CONFIRMED
