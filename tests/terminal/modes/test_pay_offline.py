"""Store-and-forward in pay(): approved offline within the limits, forwarded exactly once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from card_emulation import CardImage, EmvApplet
from terminal.journal import Journal, TxState
from terminal.journal.books import Books
from terminal.kernel import Outcome, Transaction
from terminal.modes.pay.payment import pay
from terminal.modes.settings import OfflineSettings
from terminal.online import AcquirerClient
from terminal.outbox import Outbox
from terminal.outbox.forwarder import http_sender
from terminal.readers.emulated import LoopbackReader
from tests.terminal.modes.test_pay import FakeAcquirer

RULES = OfflineSettings(enabled=True, defer_arqc=True, max_amount=2000, per_card_count=1,
                        per_card_amount=2000, total_count=5, total_amount=5000)  # fmt: skip


class Link:
    """The acquirer behind a link that can be down (no connection is made)."""

    def __init__(self, acquirer: FakeAcquirer) -> None:
        self.acquirer, self.up = acquirer, False
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if not self.up:
            raise httpx.ConnectError("connection refused", request=request)
        if request.url.path == "/v1/authorizations":
            self.bodies.append(json.loads(request.content))
        return self.acquirer(request)


class Clock:
    """The outbox's clock, moved on by the test (a retry after its backoff)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def books_for(tmp_path: Path, client: AcquirerClient, clock: Clock | None = None) -> Books:
    def lookup(kind: str, key: str) -> dict[str, Any]:
        return client.status(kind, key, terminal_id="TERM0001")

    outbox = Outbox(tmp_path / "outbox.sqlite3", clock=clock or Clock())
    return Books(Journal(tmp_path / "journal.sqlite3"), outbox, lookup, http_sender(client.http))


def test_offline_within_the_limits_then_forwarded_once(tmp_path: Path, visa_card: CardImage) -> None:
    link = Link(FakeAcquirer(visa_card))
    client = AcquirerClient("http://acquirer.test", transport=httpx.MockTransport(link))
    clock = Clock()
    with books_for(tmp_path, client, clock) as books:
        first = pay(LoopbackReader(EmvApplet(visa_card)), Transaction(1250, "EUR"),
                    terminal_id="TERM0001", client=client, wait=1, books=books,
                    offline=RULES, reference="order-7")  # fmt: skip
        assert (first.outcome, first.reason) == (Outcome.APPROVED, "approved_offline")
        entry = books.journal.get(first.journal_id or 0)
        assert (entry.state, entry.outcome) == (TxState.OFFLINE_APPROVED, "approved")
        count, at_risk, _ = books.outbox.deferred_owed()
        assert (count, at_risk) == (1, {"EUR": 1250})
        # The same card again: over the per-card count, declined as the acquirer is unreachable.
        second = pay(LoopbackReader(EmvApplet(visa_card)), Transaction(300, "EUR"),
                     terminal_id="TERM0001", client=client, wait=1, books=books, offline=RULES)  # fmt: skip
        assert (second.outcome, second.reason) == (Outcome.DECLINED, "online_unavailable")
        assert books.outbox.deferred_owed()[0] == 1
        link.up = True
        clock.now += 600  # past the backoff of the attempts made while the link was down
        assert books.flush().delivered == 1
        assert books.flush().delivered == 0  # forwarded exactly once
        assert [b.get("deferred") for b in link.bodies] == [True]
        assert link.bodies[0]["reference"] == "order-7"
        assert link.acquirer.keys == [first.idempotency_key]
        assert books.journal.get(entry.id).state is TxState.FORWARDED
        assert books.outbox.deferred_owed()[0] == 0


def test_above_the_limits_or_not_deferred_is_declined(
    tmp_path: Path, visa_card: CardImage
) -> None:
    link = Link(FakeAcquirer(visa_card))
    client = AcquirerClient("http://acquirer.test", transport=httpx.MockTransport(link))
    with books_for(tmp_path, client) as books:
        for amount, rules in [(2500, RULES), (500, OfflineSettings(enabled=True)),
                              (500, OfflineSettings())]:  # fmt: skip
            result = pay(LoopbackReader(EmvApplet(visa_card)), Transaction(amount, "EUR"),
                         terminal_id="TERM0001", client=client, wait=1, books=books,
                         offline=rules)  # fmt: skip
            assert (result.outcome, result.reason) == (Outcome.DECLINED, "online_unavailable")
        notes = [str(ev.detail["note"]) for e in books.journal.entries()
                 for ev in books.journal.events(e.id) if ev.detail.get("note")]  # fmt: skip
        assert sorted(notes) == ["not approved offline: offline_arqc_not_deferred",
                                 "not approved offline: offline_disabled",
                                 "not approved offline: offline_max_amount"]  # fmt: skip
        assert books.outbox.pending().count == 0
