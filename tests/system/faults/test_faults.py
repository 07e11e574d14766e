"""The fault suite (issue 11): whatever fails, the customer is charged exactly what the screen said.

A real `tap-acquirer serve`, the fault proxy of :mod:`tests.system.faults.proxy` between it and
the terminal, and the terminal run as a real ``tap-terminal pay`` process with an emulated card.
After each fault, once the acquirer is reachable and the outbox flushed (``tap-terminal outbox
flush --recover``: what the terminal's next start does), :func:`~tests.system.faults.rig.audit`
checks: every payment the journal shows approved is captured exactly once at the acquirer,
every other one holds no money, nothing is posted twice, every ledger journal balances.

Fault x outcome asserted here ("status" is the acquirer's ``GET /v1/status``; without it the
terminal cannot tell what became of the request and reverses by key, which the acquirer takes
as "nothing to reverse" when it holds nothing):

=====================================  ===============================  ==========================
fault                                  screen (``pay --json``), exit    journal after the flush
=====================================  ===============================  ==========================
none                                   approved, 0                      confirmed, captured once
answer dropped                         status: approved (card takes     status: confirmed;
                                       tag 91), 0; else declined,       else reversed (reversal
                                       ``reversal`` queued/reversed, 1  by key, nothing held)
connection reset after sending         as answer dropped                as answer dropped
acquirer slow beyond the timeout       as answer dropped                as answer dropped
acquirer down (connection refused)     declined ``online_unavailable``  declined, nothing sent
kill -9 at accepted / card_read        no output, -9                    cancelled
kill -9 at sent (before it leaves)     no output, -9                    declined (status: not
                                                                        found) or reversed
kill -9 at answered / confirm          no output, -9                    reversed (never shown
                                                                        approved)
kill -9 at confirmed                   no output, -9                    confirmed, captured once
SIGTERM at accepted                    cancelled, 143                   cancelled
SIGTERM at sent / answered / confirmed the tap ends within the grace    confirmed, captured once
                                       time: approved, 0 (it stands)
SIGTERM after sending, acquirer slow   unknown, 143, ``reversal``       reversed (the approval the
                                       queued with its outbox item      acquirer made holds nothing)
kill -9 mid-forward (answer back,      the reversal forwarded again     reversed, one reversal
not yet recorded)                      after the lease: replayed        at the acquirer
outbox forwarded twice concurrently    one effect                       reversed once
card left in the field                 2nd payment ``card_not_removed`` one payment only
=====================================  ===============================  ==========================
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import closing

import pytest

from card_emulation import CardStore, EmvApplet
from terminal.journal.books import Books
from terminal.kernel import Outcome, Transaction
from terminal.modes.pay.payment import pay
from terminal.online import AcquirerClient
from terminal.readers.emulated import LoopbackReader
from tests.acquirer.processes import acquirer_process
from tests.system.faults.proxy import Fault
from tests.system.faults.rig import TERMINAL_ID, Terminal, World, audit
from tests.system.support import run_ok


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("faults")
    data, cards, token = root / "acq", root / "cards", root / "token.json"
    run_ok("tap-acquirer", "init", "--data-dir", str(data))
    run_ok("tap-acquirer", "tokens", "provision", "--data-dir", str(data), "--scheme", "visa",
           "--funding-pan-file", "-", "--out", str(token), stdin="4111111111111111\n")  # fmt: skip
    run_ok("tap-card", "personalize", "faulty", "--profile", "visa", "--token", str(token),
           "--issuer-keys", str(data / "issuer-keys.json"), "--home", str(cards))  # fmt: skip
    token.unlink()
    with acquirer_process(data) as url:
        made = World(root, data, url, cards, "faulty")
        try:
            yield made
        finally:
            made.proxy.close()


@pytest.fixture
def proxy_reset(world: World) -> Iterator[None]:
    world.proxy.set(Fault.PASS)
    yield
    world.proxy.set(Fault.PASS)


pytestmark = pytest.mark.usefixtures("proxy_reset")


def test_no_fault_is_approved_and_captured_once(world: World) -> None:
    terminal = world.terminal()
    run = terminal.pay("4.10")
    assert run.doc is not None, run.stderr
    reference = "order-1" if world.reference_field else None
    assert (run.code, run.doc["outcome"], run.doc["reference"]) == (0, "approved", reference), (
        run.doc)  # fmt: skip
    terminal.flush_until_clear()
    [entry] = audit(world, terminal)
    assert (entry["state"], entry["reference"]) == ("confirmed", reference)
    assert entry["idempotency_key"] == run.doc["idempotency_key"]


@pytest.mark.parametrize("fault", [Fault.DROP_ANSWER, Fault.RESET_AFTER_SEND, Fault.DELAY])
def test_a_lost_answer_is_resolved_never_ambiguous(world: World, fault: Fault) -> None:
    terminal = world.terminal()
    world.proxy.set(fault, times=1, delay=3 * 1.0)
    run = terminal.pay("8.88")
    assert run.doc is not None, run.stderr
    world.proxy.set(Fault.PASS)
    key = run.doc["idempotency_key"]
    assert key is not None
    if world.status_endpoint:
        # The status lookup says approved and the card, still in the field, accepts tag 91.
        assert (run.code, run.doc["outcome"]) == (0, "approved")
    else:
        assert (run.code, run.doc["outcome"]) == (1, "declined")
        assert run.doc["reversal"] in ("queued", "reversed")
        assert isinstance(run.doc["reversal_item"], int)
    terminal.flush_until_clear()
    [entry] = audit(world, terminal)
    assert entry["idempotency_key"] == key
    assert entry["state"] == ("confirmed" if world.status_endpoint else "reversed")
    # The authorization really reached the acquirer (the fault was on its way back).
    with world.db() as db:
        found = db.execute("SELECT approved FROM authorizations WHERE idempotency_key = ?",
                           (key,)).fetchone()  # fmt: skip
    assert found is not None and found["approved"] == 1


def test_acquirer_down_declines_online_unavailable(world: World) -> None:
    terminal = world.terminal()
    world.proxy.set(Fault.REFUSE)
    run = terminal.pay("5.55")
    assert run.doc is not None, run.stderr
    assert (run.code, run.doc["outcome"], run.doc["reason"]) == (1, "declined", "online_unavailable")
    assert run.doc["reversal"] is None
    world.proxy.set(Fault.PASS)
    terminal.flush_until_clear()
    [entry] = audit(world, terminal)
    assert entry["state"] == "declined"
    with world.db() as db:
        assert db.execute("SELECT COUNT(*) FROM authorizations WHERE idempotency_key = ?",
                          (entry["idempotency_key"],)).fetchone()[0] == 0  # fmt: skip


#: Each journal step a kill can stop at, and the state recovery must leave.
KILL_STEPS = {
    "accepted": {"cancelled"},
    "sent": {"declined", "reversed"},  # before it left: not found (status) or reversed by key
    "answered": {"reversed"},
    "confirm": {"reversed"},
    "confirmed": {"confirmed"},
}


@pytest.mark.parametrize("step", list(KILL_STEPS))
def test_sigkill_at_every_step(world: World, step: str) -> None:
    terminal = world.terminal()
    run = terminal.pay("6.66", stop_at=f"{step}:SIGKILL")
    assert run.code == -signal.SIGKILL and run.doc is None, run.stderr
    terminal.flush_until_clear()
    [entry] = audit(world, terminal)
    assert entry["state"] in KILL_STEPS[step], entry


@pytest.mark.parametrize("step", ["accepted", "sent", "answered", "confirmed"])
def test_sigterm_at_every_step(world: World, step: str) -> None:
    terminal = world.terminal()
    run = terminal.pay("7.77", stop_at=f"{step}:SIGTERM")
    assert run.doc is not None, run.stderr
    assert "Traceback" not in run.stderr
    if run.code == 143:  # the signal ended the tap: cancelled, or unknown with a reversal queued
        assert run.doc["outcome"] in ("cancelled", "unknown")
        if run.doc["outcome"] == "unknown":
            assert (run.doc["reversal"], run.doc["journal_state"]) == ("queued", "reversal_queued")
    else:  # the tap had its outcome within the grace time: it stands
        assert (run.code, run.doc["outcome"]) in ((0, "approved"), (1, "declined"))
    terminal.flush_until_clear()
    [entry] = audit(world, terminal)
    assert (entry["outcome"] == "approved") == (run.doc["outcome"] == "approved")
    print(f"SIGTERM at {step}: exit {run.code}, {run.doc['outcome']}, journal {entry['state']}")


def test_sigterm_while_the_acquirer_is_slow_queues_the_reversal(world: World) -> None:
    """The issue's case: the acquirer holds its answer, SIGTERM comes after the send. The
    command ends within its grace time, says the outcome is unknown, and the reversal it
    journalled is in the outbox; once flushed, the approval the acquirer made holds nothing."""
    terminal = world.terminal()
    world.proxy.set(Fault.DELAY, times=1, delay=3.0)
    run = terminal.pay("6.66", stop_at="sent:SIGTERM")
    assert run.doc is not None, run.stderr
    assert (run.code, run.doc["outcome"], run.doc["reversal"]) == (143, "unknown", "queued")
    assert run.doc["journal_state"] == "reversal_queued"
    assert isinstance(run.doc["reversal_item"], int)
    world.proxy.set(Fault.PASS)
    terminal.flush_until_clear()
    [entry] = audit(world, terminal)
    assert (entry["state"], entry["idempotency_key"]) == ("reversed", run.doc["idempotency_key"])


def _owed_reversal(world: World) -> tuple[Terminal, str]:
    """A terminal whose payment was approved, its answer lost and its status lookup and
    first reversal answers lost too: a reversal owed in the outbox, the money held."""
    terminal = world.terminal()
    world.proxy.target = "/v1/"
    try:
        world.proxy.set(Fault.DROP_ANSWER)
        run = terminal.pay("9.99")
    finally:
        world.proxy.target = "/v1/authorizations"
        world.proxy.set(Fault.PASS)
    assert run.doc is not None, run.stderr
    assert (run.doc["outcome"], run.doc["reversal"]) == ("declined", "queued")
    return terminal, run.doc["idempotency_key"]


def _reversals_of(world: World, key: str) -> int:
    with world.db() as db:
        auth = db.execute("SELECT id FROM authorizations WHERE idempotency_key = ?",
                          (key,)).fetchone()  # fmt: skip
        assert auth is not None
        n: int = db.execute("SELECT COUNT(*) FROM operations WHERE payment_id = ? AND "
                            "kind = 'reversal'", (auth["id"],)).fetchone()[0]  # fmt: skip
    return n


def test_sigkill_mid_forward_is_forwarded_again_once(world: World) -> None:
    terminal, key = _owed_reversal(world)
    deadline = time.monotonic() + 20
    while True:  # the reversal's next attempt is after a backoff: until the flush sends it
        killed = terminal.flush(recover=False, stop_at="forwarded:SIGKILL")
        if killed.code == -signal.SIGKILL:
            break
        assert killed.code == 1 and time.monotonic() < deadline, killed.stderr
        time.sleep(0.2)
    terminal.flush_until_clear()  # the claim's lease expires; the same key is replayed
    [entry] = audit(world, terminal)
    assert entry["state"] == "reversed"
    assert _reversals_of(world, key) == 1


def test_outbox_forwarded_twice_concurrently_posts_once(world: World) -> None:
    terminal, key = _owed_reversal(world)
    runs: list[int] = []

    def flush() -> None:
        runs.append(terminal.flush(recover=False).code)

    threads = [threading.Thread(target=flush) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    terminal.flush_until_clear()
    [entry] = audit(world, terminal)
    assert entry["state"] == "reversed"
    assert _reversals_of(world, key) == 1


def test_a_card_left_in_the_field_is_not_charged_twice(world: World) -> None:
    store = CardStore(world.cards)
    reader = LoopbackReader(EmvApplet(store.load(world.card), on_atc=store.save))
    client = AcquirerClient(world.url, timeout=5)
    terminal = world.terminal()
    with closing(client), Books.open(terminal.journal_path, terminal.home / "outbox.sqlite3",
                                     client, TERMINAL_ID) as books:  # fmt: skip
        books.start()
        first = pay(reader, Transaction(1250, "EUR"), terminal_id=TERMINAL_ID, client=client,
                    wait=1, books=books)  # fmt: skip
        second = pay(reader, Transaction(100, "EUR"), terminal_id=TERMINAL_ID, client=client,
                     wait=1, books=books)  # fmt: skip
    assert first.outcome is Outcome.APPROVED and first.card_removed is False
    assert (second.outcome, second.reason) == (Outcome.TRY_AGAIN, "card_not_removed")
    entries = audit(world, terminal)
    assert [e["state"] for e in entries] == ["declined", "confirmed"]  # newest first


def test_the_journal_and_outbox_commands_show_what_is_owed(world: World) -> None:
    terminal, key = _owed_reversal(world)
    owed = terminal.cli("outbox", "--json")
    assert owed.code == 1 and owed.doc is not None
    assert (owed.doc["pending"], owed.doc["at_risk"]) == (1, {"EUR": 999})
    listed = terminal.cli("journal", "--json")
    assert listed.code == 0 and listed.doc is not None
    [entry] = listed.doc
    assert (entry["idempotency_key"], entry["state"], entry["reference"]) == (
        key, "reversal_queued", "order-1" if world.reference_field else None)  # fmt: skip
    shown = terminal.cli("journal", "show", str(entry["id"]), "--json")
    assert shown.doc is not None
    assert [e["to"] for e in shown.doc["events"]] == [
        "accepted", "card_read", "sent", "answer_unknown", "reversal_queued"]  # fmt: skip
    flushed = terminal.cli("outbox", "flush")
    assert flushed.code == 0, flushed.stderr
    assert terminal.cli("outbox", "--json").doc == {
        "pending": 0, "at_risk": {}, "by_kind": {}, "failed": 0, "failed_at_risk": {}, "held": 0,
        "offline": {"count": 0, "at_risk": {}}}  # fmt: skip
    [after] = audit(world, terminal)
    assert after["state"] == "reversed"
