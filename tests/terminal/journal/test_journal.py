"""The journal: the state machine enforced, the history append-only, no PAN, a private file."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from terminal.durable import check_private
from terminal.errors import CardDataRefusedError, IllegalTransitionError, UnknownRecordError
from terminal.journal import Action, Journal, TxKind, TxState
from terminal.journal.states import TRANSITIONS

S = TxState
#: A way to reach each non-initial state from ``accepted``.
PATHS: dict[TxState, list[TxState]] = {
    S.ACCEPTED: [],
    S.CARD_READ: [S.CARD_READ],
    S.SENT: [S.CARD_READ, S.SENT],
    S.ANSWERED: [S.CARD_READ, S.SENT, S.ANSWERED],
    S.ANSWER_UNKNOWN: [S.CARD_READ, S.SENT, S.ANSWER_UNKNOWN],
    S.REVERSAL_QUEUED: [S.CARD_READ, S.SENT, S.ANSWERED, S.REVERSAL_QUEUED],
    S.OFFLINE_APPROVED: [S.CARD_READ, S.OFFLINE_APPROVED],
}
LEGAL = [(a, b) for a in PATHS for b in TRANSITIONS[a]]
ILLEGAL = [(a, b) for a in PATHS for b in TxState if b not in TRANSITIONS[a]]


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "journal.sqlite3") as j:
        yield j


def at(journal: Journal, state: TxState) -> int:
    entry = journal.accept(TxKind.PAYMENT, 1250, "EUR", reference="order-42")
    for step in PATHS[state]:
        journal.advance(entry.id, step)
    return entry.id


def test_every_final_state_is_reachable_and_has_no_way_out() -> None:
    reachable = set(PATHS) | {b for _, b in LEGAL}
    assert reachable == set(TxState)
    for state in set(TxState) - set(PATHS):
        assert state.final


@pytest.mark.parametrize(("current", "new"), LEGAL, ids=lambda s: str(s))
def test_a_legal_transition_is_recorded_with_its_history(
    journal: Journal, current: TxState, new: TxState
) -> None:
    id = at(journal, current)
    entry = journal.advance(id, new, reason="because")
    assert entry.state is new and entry.reason == "because"
    last = journal.events(id)[-1]
    assert (last.from_state, last.to_state) == (current, new)
    assert last.detail["reason"] == "because"
    assert len(journal.events(id)) == len(PATHS[current]) + 2


@pytest.mark.parametrize(("current", "new"), ILLEGAL, ids=lambda s: str(s))
def test_an_illegal_transition_is_an_error_and_changes_nothing(
    journal: Journal, current: TxState, new: TxState
) -> None:
    id = at(journal, current)
    events = journal.events(id)
    with pytest.raises(IllegalTransitionError):
        journal.advance(id, new)
    assert journal.get(id).state is current
    assert journal.events(id) == events


def test_a_final_state_cannot_be_left(journal: Journal) -> None:
    id = at(journal, S.ANSWERED)
    journal.confirm(id, arpc_verified=True)
    for state in TxState:
        with pytest.raises(IllegalTransitionError):
            journal.advance(id, state)


def test_a_payment_records_what_the_brief_lists(journal: Journal) -> None:
    entry = journal.accept(TxKind.PAYMENT, 1250, "eur", reference="order-42")
    assert (entry.state, entry.amount, entry.currency, entry.status_kind) == (
        S.ACCEPTED, 1250, "EUR", "authorizations")  # fmt: skip
    journal.card_read(entry.id, token_masked="476173******0010", par="V0010013823213215021532")
    journal.sent(entry.id)
    journal.answered(entry.id, approved=True, reason="approved", authorization_id="A-1")
    done = journal.confirm(entry.id, arpc_verified=True, receipt={"lines": ["12.50 EUR"]})
    assert (done.state, done.outcome, done.authorization_id, done.approved) == (
        S.CONFIRMED, "approved", "A-1", True)  # fmt: skip
    assert done.arpc_verified is True and done.receipt == {"lines": ["12.50 EUR"]}
    assert done.token_masked == "476173******0010" and done.reference == "order-42"
    assert journal.by_key(entry.idempotency_key).id == entry.id
    assert [e.to_state for e in journal.events(entry.id)] == [
        S.ACCEPTED, S.CARD_READ, S.SENT, S.ANSWERED, S.CONFIRMED]  # fmt: skip


def test_outcomes_follow_what_the_customer_was_told(journal: Journal) -> None:
    queued = at(journal, S.REVERSAL_QUEUED)
    assert journal.get(queued).outcome == "declined"
    assert journal.advance(queued, S.REVERSED).outcome == "declined"
    offline = at(journal, S.OFFLINE_APPROVED)
    assert journal.advance(offline, S.FORWARDED).outcome == "approved"
    assert journal.advance(at(journal, S.CARD_READ), S.CANCELLED).outcome == "cancelled"


def test_the_history_is_append_only(journal: Journal, tmp_path: Path) -> None:
    at(journal, S.SENT)
    raw = sqlite3.connect(tmp_path / "journal.sqlite3")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute("UPDATE events SET to_state = 'confirmed'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute("DELETE FROM events")
    raw.close()


@pytest.mark.parametrize("field", ["token_masked", "reason", "receipt"])
def test_a_full_pan_is_refused(journal: Journal, field: str) -> None:
    id = at(journal, S.ACCEPTED)
    value: object = "4761739001010010"
    if field == "receipt":
        value = {"card": "PAN 4761739001010010"}
    with pytest.raises(CardDataRefusedError) as caught:
        journal.advance(id, S.CARD_READ, **{field: value})
    assert "4761739001010010" not in str(caught.value)
    assert journal.get(id).state is S.ACCEPTED
    with pytest.raises(CardDataRefusedError):
        journal.accept(TxKind.PAYMENT, 1, "EUR", reference="4761739001010010")


def test_unknown_ids_and_fields(journal: Journal) -> None:
    with pytest.raises(UnknownRecordError):
        journal.get(99)
    with pytest.raises(UnknownRecordError):
        journal.by_key("nope")
    with pytest.raises(TypeError):
        journal.advance(at(journal, S.ACCEPTED), S.CARD_READ, pan="x")


def test_recover_names_what_to_do_with_each_unfinished_state(journal: Journal) -> None:
    ids = {state: at(journal, state) for state in PATHS}
    declined = at(journal, S.SENT)
    journal.answered(declined, approved=False, reason="insufficient_funds")
    approved = at(journal, S.SENT)
    journal.answered(approved, approved=True, reason="approved")
    done = at(journal, S.ANSWERED)
    journal.confirm(done, arpc_verified=None)
    actions = {r.entry.id: r.action for r in journal.recover()}
    assert actions[ids[S.ACCEPTED]] is Action.CANCEL
    assert actions[ids[S.CARD_READ]] is Action.CANCEL
    assert actions[ids[S.SENT]] is Action.LOOKUP_STATUS
    assert actions[ids[S.ANSWER_UNKNOWN]] is Action.LOOKUP_STATUS
    assert actions[ids[S.REVERSAL_QUEUED]] is Action.ENSURE_REVERSAL
    assert actions[ids[S.OFFLINE_APPROVED]] is Action.ENSURE_FORWARD
    assert actions[declined] is Action.DECLINE
    assert actions[approved] is Action.REVERSE
    assert done not in actions


def test_the_journal_file_is_private_in_an_open_folder(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir()
    os.chmod(folder, 0o755)
    old = os.umask(0)
    try:
        with Journal(folder / "journal.sqlite3") as journal:
            at(journal, S.SENT)
            modes = check_private(folder / "journal.sqlite3")
            assert set(modes) == {"journal.sqlite3", "journal.sqlite3-wal", "journal.sqlite3-shm"}
            assert set(modes.values()) == {0o600}
            mode = sqlite3.connect(folder / "journal.sqlite3").execute("PRAGMA journal_mode")
            assert mode.fetchone()[0] == "wal"
    finally:
        os.umask(old)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755


def test_a_wider_existing_file_is_narrowed(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    path.touch()
    os.chmod(path, 0o644)
    Journal(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
