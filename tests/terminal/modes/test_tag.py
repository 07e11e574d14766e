"""Tap! mode end to end in-process: the terminal's tag, the project's wallet, the real acquirer.

The terminal finds its tag through the ``tap.tags`` entry points (``memory`` transport: the
wallet's reader calls the tag's ``process_apdu``); the wallet pays over the acquirer's HTTP
routes; the terminal learns the result by long polling and journals it as a payment.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from card_emulation.wallet import HttpCheckoutClient, Wallet
from emvcore.tapmode import encode_message
from terminal.journal import Journal, TxKind, TxState
from terminal.modes.tag import Checkout, TagResult, open_tag, resume, tag_pay
from tests.terminal.modes.rig import Acquirer, acquirer

PACKAGE = "com.example.wallet"


@pytest.fixture
def acq(tmp_path: Path) -> Iterator[Acquirer]:
    with acquirer(tmp_path) as rig:
        rig.merchant("CAFE")
        rig.terminal("TILL1", "CAFE", "pay")
        yield rig


class Watched:
    """The provider's tag, with an event set when a payable message is presented."""

    def __init__(self) -> None:
        self.tag: Any = open_tag("memory")
        self.presented = threading.Event()

    def present(self, content: bytes | Callable[[], bytes]) -> None:
        self.tag.present(content)
        self.presented.set()

    def clear(self) -> None:
        self.tag.clear()

    def close(self) -> None:
        self.tag.close()


def test_a_wallet_pays_the_tag_and_the_journal_records_it(acq: Acquirer, tmp_path: Path) -> None:
    card = acq.card()
    tag = Watched()
    checkout = Checkout(acq.client(), "TILL1")
    results: list[TagResult] = []
    with Journal(tmp_path / "journal.sqlite3") as journal:
        till = threading.Thread(
            target=lambda: results.append(
                tag_pay(checkout, tag, journal, 1250, "EUR", reference="R1", package=PACKAGE)
            )
        )
        till.start()
        assert tag.presented.wait(10)
        wallet = Wallet(card.applet, base_url=acq.settings.tap_base_url)
        run = wallet.tap(tag.tag.process_apdu, HttpCheckoutClient(client=acq.http))
        till.join(30)
        assert not till.is_alive()
        assert run is not None and run.approved
        result = results[0]
        assert result.approved and result.state == "paid"
        assert result.authorization_id == run.results[0].authorization_id
        entry = journal.get(result.journal_id)
        assert entry.state is TxState.CONFIRMED and entry.outcome == "approved"
        assert entry.authorization_id == result.authorization_id
    assert wallet.read(tag.tag.process_apdu) is None  # idle again: nothing payable


def test_a_session_paid_while_the_terminal_was_away_is_reported_once(
    acq: Acquirer, tmp_path: Path
) -> None:
    card = acq.card()
    client = acq.client()
    checkout = Checkout(client, "TILL1")
    with Journal(tmp_path / "journal.sqlite3") as journal:
        # The terminal created the session and presented it, then lost the acquirer.
        entry = journal.accept(TxKind.TAG_PAYMENT, 700, "EUR")
        journal.advance(entry.id, TxState.CARD_READ)
        journal.sent(entry.id)
        session = checkout.create(700, "EUR", "", entry.idempotency_key)
        journal.advance(entry.id, TxState.ANSWER_UNKNOWN, note="acquirer unreachable")
        tag = open_tag("memory")
        tag.present(lambda: encode_message(checkout.link(session["session_id"]), PACKAGE))
        wallet = Wallet(card.applet, base_url=acq.settings.tap_base_url)
        run = wallet.tap(tag.process_apdu, HttpCheckoutClient(client=acq.http))
        assert run is not None and run.approved
        settled = resume(checkout, journal)
        assert [(r.approved, r.state) for r in settled] == [(True, "paid")]
        assert journal.get(entry.id).state is TxState.CONFIRMED
        assert resume(checkout, journal) == []  # reported once
    payments = acq.engine.read(
        lambda tx: tx.all("SELECT id FROM payments WHERE terminal_id = 'TILL1'")
    )
    assert len(payments) == 1


def test_an_unpaid_session_is_cancelled_at_the_deadline(acq: Acquirer, tmp_path: Path) -> None:
    checkout = Checkout(acq.client(), "TILL1")
    with Journal(tmp_path / "journal.sqlite3") as journal:
        result = tag_pay(checkout, Watched(), journal, 500, "EUR", package=PACKAGE,
                         cancelled=lambda: True)  # fmt: skip
        assert not result.approved and result.state == "cancelled"
        assert journal.get(result.journal_id).state is TxState.DECLINED
