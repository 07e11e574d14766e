"""pay() with the books: the journal's key on the wire, the reference carried, a lost answer
settled through the outbox."""

from __future__ import annotations

from pathlib import Path

import httpx

from card_emulation import CardImage, EmvApplet
from terminal.journal import TxState
from terminal.kernel import Outcome, Transaction
from terminal.modes.pay.payment import pay
from terminal.online import AcquirerClient
from terminal.readers.emulated import LoopbackReader
from tests.terminal.modes.test_pay import FakeAcquirer
from tests.terminal.modes.test_pay_offline import books_for


def test_approved_under_the_journal_key_with_the_reference(tmp_path: Path, visa_card: CardImage) -> None:
    acquirer = FakeAcquirer(visa_card)
    client = AcquirerClient("http://acquirer.test", transport=httpx.MockTransport(acquirer))
    with books_for(tmp_path, client) as books:
        result = pay(LoopbackReader(EmvApplet(visa_card)), Transaction(1250, "EUR"),
                     terminal_id="TERM0001", client=client, wait=1, books=books,
                     reference="order-42")  # fmt: skip
        assert result.outcome is Outcome.APPROVED
        entry = books.journal.get(result.journal_id or 0)
        assert result.authorization is not None
        assert (entry.state, entry.reference, entry.authorization_id) == (
            TxState.CONFIRMED, "order-42", result.authorization.authorization_id)  # fmt: skip
        assert acquirer.keys == [entry.idempotency_key] == [result.idempotency_key]
        assert acquirer.requests[0]["reference"] == "order-42"
        assert result.to_dict()["reference"] == "order-42"
        assert [e.to_state for e in books.journal.events(entry.id)] == [
            TxState.ACCEPTED, TxState.CARD_READ, TxState.SENT, TxState.ANSWERED, TxState.CONFIRMED]  # fmt: skip


def test_a_lost_answer_is_reversed_through_the_outbox(tmp_path: Path, visa_card: CardImage) -> None:
    acquirer = FakeAcquirer(visa_card)
    lose = [True]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/v1/status/"):  # an acquirer without the lookup
            return httpx.Response(404, json={"code": "not_found"})
        response = acquirer(request)
        if request.url.path == "/v1/authorizations" and lose and lose.pop():
            raise httpx.ReadTimeout("answer lost", request=request)
        return response

    client = AcquirerClient("http://acquirer.test", transport=httpx.MockTransport(handler))
    with books_for(tmp_path, client) as books:
        result = pay(LoopbackReader(EmvApplet(visa_card)), Transaction(990, "EUR"),
                     terminal_id="TERM0001", client=client, wait=1, books=books)  # fmt: skip
        doc = result.to_dict()
        assert (doc["outcome"], doc["reason"], doc["reversal"]) == (
            "declined", "acquirer_unavailable", "reversed")  # fmt: skip
        assert doc["idempotency_key"] == acquirer.keys[0]
        item = books.outbox.item(doc["reversal_item"])
        assert item.body["original_idempotency_key"] == acquirer.keys[0]
        assert [key for key, _ in acquirer.reversals] == [item.idempotency_key]
        assert books.journal.get(result.journal_id or 0).state is TxState.REVERSED
