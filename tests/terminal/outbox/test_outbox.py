"""The outbox: storing, order per kind, backoff, parked refusals, held items, the money at risk."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from terminal.durable import check_private
from terminal.errors import UnknownRecordError
from terminal.outbox import (
    Delivery,
    Forwarder,
    ItemState,
    NewItem,
    Outbox,
    OutboxItem,
    Request,
    cancel_abandoned_rental,
    http_sender,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def outbox(tmp_path: Path, clock: Clock) -> Iterator[Outbox]:
    with Outbox(tmp_path / "outbox.sqlite3", clock=clock, rand=lambda: 1.0, base=1.0,
                cap=8.0) as box:  # fmt: skip
        yield box


def item(kind: str, n: int, *, amount: int = 0, path: str | None = None,
         action: str | None = None, journal_id: int | None = None) -> NewItem:  # fmt: skip
    request = Request(kind, "POST", path or f"/v1/{kind}", {"n": n}, action)
    return NewItem(request, f"{kind}-{n}", amount=amount, currency="EUR" if amount else None,
                   journal_id=journal_id)  # fmt: skip


class Acquirer:
    """A plain fake ``send``: answers by a script per key (default 200), records each send."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.script: dict[str, list[Delivery | Exception]] = {}

    def __call__(self, it: OutboxItem) -> Delivery:
        self.sent.append(it.idempotency_key)
        answers = self.script.get(it.idempotency_key)
        if answers:
            answer = answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        return Delivery(200, {"ok": True, "key": it.idempotency_key})


def test_items_of_a_kind_go_in_order_and_a_failing_head_blocks_only_its_kind(
    outbox: Outbox, clock: Clock
) -> None:
    for n in range(3):
        outbox.add(item("reversal", n))
        outbox.add(item("door_event", n))
    send = Acquirer()
    send.script["reversal-0"] = [ConnectionError("no route"), ConnectionError("no route")]
    report = Forwarder(outbox, send).flush()
    # The reversal lane stops at its head; the door events all went, in order.
    assert send.sent == ["reversal-0", "door_event-0", "door_event-1", "door_event-2"]
    assert (report.delivered, report.deferred, report.failed) == (3, 1, 0)
    assert outbox.pending().by_kind == {"reversal": 3}
    head = outbox.by_key("reversal-0")
    assert head is not None and head.state is ItemState.PENDING and head.attempts == 1
    assert head.last_error is not None and "ConnectionError" in head.last_error
    # Not due before its backoff: a flush now sends nothing.
    send.sent.clear()
    Forwarder(outbox, send).flush()
    assert send.sent == []
    clock.now += 1.0
    Forwarder(outbox, send).flush()  # fails again
    clock.now += 2.0
    Forwarder(outbox, send).flush()
    assert send.sent == ["reversal-0", "reversal-0", "reversal-1", "reversal-2"]
    assert outbox.pending().count == 0


def test_backoff_doubles_up_to_the_cap(outbox: Outbox, clock: Clock) -> None:
    outbox.add(item("advice", 1))
    send = Acquirer()
    send.script["advice-1"] = [Delivery(503)] * 6
    delays = []
    for _ in range(6):
        before = clock.now
        Forwarder(outbox, send).flush()
        stored = outbox.by_key("advice-1")
        assert stored is not None
        delays.append(stored.next_attempt_at - before)
        clock.now = stored.next_attempt_at
    assert delays == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


@pytest.mark.parametrize("status", [408, 409, 425, 429, 500, 503])
def test_transient_answers_are_retried(outbox: Outbox, status: int) -> None:
    outbox.add(item("advice", 1))
    send = Acquirer()
    send.script["advice-1"] = [Delivery(status, {"code": "busy"})]
    report = Forwarder(outbox, send).flush()
    assert report.deferred == 1
    stored = outbox.by_key("advice-1")
    assert stored is not None and stored.state is ItemState.PENDING


def test_a_permanent_refusal_is_parked_visible_and_does_not_block_its_kind(
    outbox: Outbox, clock: Clock
) -> None:
    outbox.add(item("deferred_payment", 1, amount=500))
    outbox.add(item("deferred_payment", 2, amount=700))
    send = Acquirer()
    send.script["deferred_payment-1"] = [Delivery(422, {"code": "currency_not_accepted"})]
    report = Forwarder(outbox, send).flush()
    assert (report.delivered, report.failed) == (1, 1)
    parked = outbox.items([ItemState.FAILED])
    assert [p.idempotency_key for p in parked] == ["deferred_payment-1"]
    assert parked[0].last_error == "refused: 422 currency_not_accepted"
    backlog = outbox.pending()
    assert (backlog.count, backlog.failed, backlog.failed_at_risk) == (0, 1, {"EUR": 500})
    # Not retried by later flushes, however late.
    clock.now += 10_000
    send.sent.clear()
    Forwarder(outbox, send).flush()
    assert send.sent == []
    # The operator may put it back.
    outbox.retry(parked[0].seq)
    Forwarder(outbox, send).flush()
    assert send.sent == ["deferred_payment-1"]
    with pytest.raises(UnknownRecordError):
        outbox.retry(parked[0].seq)


def test_a_reversal_of_nothing_is_settled(outbox: Outbox) -> None:
    outbox.add(item("reversal", 1, action="reversal", amount=100))
    send = Acquirer()
    send.script["reversal-1"] = [Delivery(404, {"code": "payment_unknown"})]
    assert Forwarder(outbox, send).flush().delivered == 1
    stored = outbox.by_key("reversal-1")
    assert stored is not None and stored.state is ItemState.DONE
    assert stored.answer == {"code": "payment_unknown"}


def test_pending_counts_the_money_at_risk_per_currency(outbox: Outbox) -> None:
    outbox.add(item("deferred_payment", 1, amount=1250))
    outbox.add(item("deferred_payment", 2, amount=250))
    usd = NewItem(Request("reversal", "POST", "/v1/reversals", {}), "usd-1", amount=999,
                  currency="USD")  # fmt: skip
    outbox.add(usd)
    outbox.add(item("door_event", 1))
    backlog = outbox.pending()
    assert backlog.count == 4
    assert backlog.at_risk == {"EUR": 1500, "USD": 999}
    assert backlog.by_kind == {"deferred_payment": 2, "reversal": 1, "door_event": 1}
    Forwarder(outbox, Acquirer()).flush()
    assert outbox.pending().at_risk == {}


def test_the_same_key_is_one_item(outbox: Outbox) -> None:
    first = outbox.add(item("reversal", 1))
    again = outbox.add(item("reversal", 1))
    assert first.seq == again.seq
    assert outbox.pending().count == 1


def test_held_items_wait_for_release_and_block_their_kind(outbox: Outbox) -> None:
    outbox.add(item("deferred_payment", 1, amount=100, journal_id=7), hold=True)
    outbox.add(item("deferred_payment", 2, amount=100, journal_id=8))
    send = Acquirer()
    Forwarder(outbox, send).flush()
    assert send.sent == []
    assert outbox.pending().held == 1
    assert outbox.release(7) == 1
    Forwarder(outbox, send).flush()
    assert send.sent == ["deferred_payment-1", "deferred_payment-2"]


def test_a_cancelled_held_item_is_never_sent(outbox: Outbox) -> None:
    outbox.add(item("deferred_payment", 1, amount=100, journal_id=7), hold=True)
    assert outbox.cancel_held(7) == 1
    send = Acquirer()
    Forwarder(outbox, send).flush()
    assert send.sent == []
    stored = outbox.by_key("deferred_payment-1")
    assert stored is not None and stored.state is ItemState.CANCELLED


def test_an_abandoned_rental_is_cancelled_before_the_rest_of_its_kind(outbox: Outbox) -> None:
    """The bike queue's ``abandon``: the replay's answer opens a follow-up cancel, sent next."""
    abandon = Request("ride", "POST", "/v1/rentals", {"terminal_id": "T1", "dock": "D1"}, "abandon")
    outbox.add(NewItem(abandon, "tap-on-1"))
    outbox.add(item("ride", 2, action="return"))
    send = Acquirer()
    send.script["tap-on-1"] = [Delivery(201, {"rental_id": "R1", "state": "unlocking"})]
    sent_paths: list[str] = []

    def recording(it: OutboxItem) -> Delivery:
        sent_paths.append(it.path)
        return send(it)

    Forwarder(outbox, recording, follow_ups={"abandon": cancel_abandoned_rental}).flush()
    assert sent_paths == ["/v1/rentals", "/v1/rentals/R1/cancel", "/v1/ride"]
    cancel = outbox.items()[1]
    assert cancel.action == "cancel"
    assert cancel.body == {"terminal_id": "T1", "reason": "answer_lost"}


def test_http_sender_sends_method_path_body_and_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(404, json={"code": "payment_unknown"})

    http = httpx.Client(base_url="http://acquirer", transport=httpx.MockTransport(handler))
    it = OutboxItem(1, "reversal", "reversal", "POST", "/v1/reversals", {"a": 1}, "K1", 0, None,
                    None, None, False, ItemState.IN_FLIGHT, 1, 0.0, 0.0, None)  # fmt: skip
    delivery = http_sender(http)(it)
    assert (delivery.status, delivery.code) == (404, "payment_unknown")
    assert seen[0].method == "POST" and seen[0].url.path == "/v1/reversals"
    assert seen[0].headers["Idempotency-Key"] == "K1"
    assert json.loads(seen[0].read()) == {"a": 1}


def test_the_outbox_file_is_private_in_an_open_folder(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    old = os.umask(0)
    try:
        with Outbox(folder / "outbox.sqlite3") as box:
            box.add(item("advice", 1))
            modes = check_private(folder / "outbox.sqlite3")
            assert set(modes) == {"outbox.sqlite3", "outbox.sqlite3-wal", "outbox.sqlite3-shm"}
            assert set(modes.values()) == {0o600}
    finally:
        os.umask(old)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
