"""Status resolution: each answer of the acquirer's status lookup, and the path recorded."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from terminal.errors import AcquirerUnavailableError, IllegalTransitionError, JournalError
from terminal.journal import (
    Journal,
    Resolution,
    TxKind,
    TxState,
    journal_hook,
    payment_undo,
    recover_all,
    resolve,
    status_lookup,
)
from terminal.outbox import Delivery, Forwarder, ItemState, Outbox, OutboxItem

T = "T-0001"


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "journal.sqlite3") as j:
        yield j


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    with Outbox(tmp_path / "outbox.sqlite3") as box:
        yield box


def sent(journal: Journal, amount: int = 888) -> int:
    entry = journal.accept(TxKind.PAYMENT, amount, "EUR", reference="order-7")
    journal.card_read(entry.id, token_masked="476173******0010", par="PAR-1")
    journal.sent(entry.id, undo=payment_undo(T, entry.idempotency_key))
    return entry.id


def lookup_answer(status: str, answer: dict[str, Any] | None = None) -> Any:
    calls: list[tuple[str, str]] = []

    def lookup(kind: str, key: str) -> Mapping[str, Any]:
        calls.append((kind, key))
        return {"terminal_id": T, "kind": kind, "idempotency_key": key, "status": status,
                "answer": answer}  # fmt: skip

    lookup.calls = calls  # type: ignore[attr-defined]
    return lookup


APPROVED = {"approved": True, "authorization_id": "A-9", "reason": "approved",
            "issuer_authentication_data": "0102030405060708"}  # fmt: skip
DECLINED = {"approved": False, "authorization_id": "A-8", "reason": "insufficient_funds"}


def test_processed_approved_and_accepted_by_the_card_is_confirmed(
    journal: Journal, outbox: Outbox
) -> None:
    id = sent(journal)
    lookup = lookup_answer("processed", APPROVED)
    tags: list[bytes | None] = []
    done = resolve(journal, outbox, id, lookup, accept=lambda tag91: tags.append(tag91) or True)
    assert lookup.calls == [("authorizations", journal.get(id).idempotency_key)]
    assert tags == [bytes.fromhex("0102030405060708")]
    assert done.resolution is Resolution.CONFIRMED and done.reversal is None
    entry = journal.get(id)
    assert (entry.state, entry.outcome, entry.authorization_id) == (TxState.CONFIRMED,
                                                                    "approved", "A-9")  # fmt: skip
    assert entry.resolution == Resolution.CONFIRMED and entry.arpc_verified is True
    assert outbox.pending().count == 0


def test_processed_declined_is_declined_with_nothing_to_reverse(
    journal: Journal, outbox: Outbox
) -> None:
    id = sent(journal)
    done = resolve(journal, outbox, id, lookup_answer("processed", DECLINED), accept=lambda _: True)
    entry = journal.get(id)
    assert (entry.state, entry.reason, entry.resolution) == (
        TxState.DECLINED, "insufficient_funds", Resolution.DECLINED)  # fmt: skip
    assert done.reversal is None and outbox.pending().count == 0


@pytest.mark.parametrize("accept", [None, lambda _: False])
def test_processed_approved_but_not_accepted_by_the_card_is_reversed(
    journal: Journal, outbox: Outbox, accept: Any
) -> None:
    id = sent(journal)
    done = resolve(journal, outbox, id, lookup_answer("processed", APPROVED), accept=accept)
    entry = journal.get(id)
    assert (entry.state, entry.outcome, entry.resolution) == (
        TxState.REVERSAL_QUEUED, "declined", Resolution.NOT_ACCEPTED)  # fmt: skip
    assert done.reversal is not None
    assert (done.reversal.path, done.reversal.body) == (
        "/v1/reversals", {"terminal_id": T, "original_idempotency_key": entry.idempotency_key})  # fmt: skip
    assert outbox.pending().at_risk == {"EUR": 888}


def test_not_found_is_declined_and_still_bars_the_key(journal: Journal, outbox: Outbox) -> None:
    id = sent(journal)
    done = resolve(journal, outbox, id, lookup_answer("not_found"))
    entry = journal.get(id)
    assert (entry.state, entry.resolution) == (TxState.DECLINED, Resolution.NOT_FOUND)
    assert done.reversal is not None and done.reversal.state is ItemState.PENDING


def test_in_progress_is_left_to_look_again(journal: Journal, outbox: Outbox) -> None:
    id = sent(journal)
    done = resolve(journal, outbox, id, lookup_answer("in_progress"))
    entry = journal.get(id)
    assert (entry.state, entry.resolution) == (TxState.ANSWER_UNKNOWN, Resolution.IN_PROGRESS)
    assert done.resolution is Resolution.IN_PROGRESS and outbox.pending().count == 0
    again = resolve(journal, outbox, id, lookup_answer("processed", DECLINED))
    assert again.entry.state is TxState.DECLINED


def unreachable(kind: str, key: str) -> Mapping[str, Any]:
    raise AcquirerUnavailableError("no route", maybe_delivered=False)


def about_another_key(kind: str, key: str) -> Mapping[str, Any]:
    return {"terminal_id": T, "kind": kind, "idempotency_key": "other", "status": "processed",
            "answer": APPROVED}  # fmt: skip


@pytest.mark.parametrize("lookup", [unreachable, about_another_key])
def test_unreachable_or_a_wrong_answer_queues_the_reversal(
    journal: Journal, outbox: Outbox, lookup: Any
) -> None:
    id = sent(journal)
    done = resolve(journal, outbox, id, lookup, accept=lambda _: True)
    entry = journal.get(id)
    assert (entry.state, entry.resolution) == (TxState.REVERSAL_QUEUED, Resolution.UNREACHABLE)
    assert done.reversal is not None


def test_only_an_unknown_answer_is_resolved(journal: Journal, outbox: Outbox) -> None:
    entry = journal.accept(TxKind.PAYMENT, 1, "EUR")
    with pytest.raises(JournalError):
        resolve(journal, outbox, entry.id, lookup_answer("not_found"))
    id = sent(journal)
    resolve(journal, outbox, id, lookup_answer("processed", DECLINED))
    with pytest.raises(JournalError):
        resolve(journal, outbox, id, lookup_answer("processed", DECLINED))


def test_a_reversal_is_queued_once_however_often_it_is_asked(
    journal: Journal, outbox: Outbox
) -> None:
    id = sent(journal)
    resolve(journal, outbox, id, unreachable)
    recover_all(journal, outbox, unreachable)  # reversal_queued: ensure it is there
    assert len(outbox.for_journal(id)) == 1


def test_the_forwarder_hook_marks_the_reversal_done(journal: Journal, outbox: Outbox) -> None:
    id = sent(journal)
    resolve(journal, outbox, id, unreachable)

    def send(item: OutboxItem) -> Delivery:
        return Delivery(200, {"payment_id": "P1", "state": "reversed"})

    Forwarder(outbox, send, on_done=journal_hook(journal)).flush()
    entry = journal.get(id)
    assert (entry.state, entry.outcome) == (TxState.REVERSED, "declined")
    assert journal.events(id)[-1].detail["note"] == "reversed"
    with pytest.raises(IllegalTransitionError):
        journal.advance(id, TxState.CONFIRMED)


def test_status_lookup_over_get_json() -> None:
    seen: list[tuple[str, dict[str, str | int]]] = []

    def get_json(path: str, params: dict[str, str | int]) -> dict[str, Any]:
        seen.append((path, params))
        return {}

    status_lookup(get_json, T)("authorizations", "K1")
    assert seen == [("/v1/status/authorizations/K1", {"terminal_id": T})]
