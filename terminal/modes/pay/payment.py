"""One payment, start to finish: wait for the tap, run the kernel, go online, authenticate.

This is where the kernel's Online Request meets the acquirer: the data record goes out, the
decision comes back, and when the acquirer returns the issuer's authentication data (tag 91)
and the card is still in the field, the card verifies the ARPC (EXTERNAL AUTHENTICATE,
EMV Book 3 6.5.4). A response the card rejects is treated as not coming from the issuer and
the payment is declined.

The steps are those of every online tap (:mod:`terminal.tap`): restarts on the outcomes
that ask for one, up to :data:`~terminal.tap.MAX_PRESENTATIONS` presentations, and a
reversal when the answer is lost or the card rejects it. Every path ends in a
:class:`PaymentResult`; nothing raises to the shopkeeper's screen.

With the terminal's :class:`~terminal.journal.books.Books` (the CLI and the daemon pass them),
the payment is journalled from the moment its amount is accepted, under the journal entry's
idempotency key; an answer that did not come is resolved by the acquirer's status lookup, and a
reversal that is owed waits in the outbox, which is flushed after the payment. "Approved" is
returned only once ``confirmed`` is durable.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from emvcore.currency import format_minor_units
from terminal.errors import AcquirerRejectedError, AcquirerUnavailableError, CardWaitCancelledError
from terminal.journal.books import Books, JournalRecord
from terminal.journal.resolve import payment_undo
from terminal.journal.states import TxKind
from terminal.kernel import Kernel, KernelResult, Outcome, Transaction
from terminal.kernel.cvm import Cvm
from terminal.kernel.outcome import DEFAULT_UI
from terminal.kernel.tvr import tvr_names
from terminal.kernel.ui import MessageId, Status, Tone, UiRequest
from terminal.modes.pay.offline import deferral
from terminal.modes.settings import OfflineSettings
from terminal.online.client import AcquirerClient, AuthorizationResponse
from terminal.readers.base import Reader
from terminal.tap import (
    AUTHORISING,
    CANCELLED_UI,
    MAX_PRESENTATIONS,
    PRESENT_CARD,
    TerminalOutcome,
    go_online,
    read_card,
    remove_card,
)

__all__ = [
    "APPROVED_SIGN",
    "AUTHORISING",
    "MAX_PRESENTATIONS",
    "PRESENT_CARD",
    "PaymentResult",
    "pay",
    "reverse_authorization",
]

APPROVED_SIGN = UiRequest(
    MessageId.APPROVED_PLEASE_SIGN, Status.CARD_READ_SUCCESSFULLY, 0, Tone.SUCCESS
)


@dataclass(frozen=True, slots=True)
class PaymentResult:
    """The final outcome of a payment attempt, for the display, a receipt or a kiosk app."""

    outcome: Outcome | TerminalOutcome
    reason: str
    ui: UiRequest
    amount: int
    currency: str
    kernel: KernelResult | None = None
    authorization: AuthorizationResponse | None = None
    arpc_verified: bool | None = None
    #: Whether a reversal was sent after a lost answer or a failed issuer authentication:
    #: "reversed", "nothing_to_reverse", "pending" (could not be delivered), "queued" (stored
    #: in the outbox, item :attr:`reversal_item`, to be forwarded), or None.
    reversal: str | None = None
    #: The idempotency key the authorization was sent under (the journal entry's).
    idempotency_key: str | None = None
    reference: str | None = None
    journal_id: int | None = None
    reversal_item: int | None = None
    #: How an answer that did not come was settled (the journal's resolution), else None.
    resolution: str | None = None
    #: The authorization id a status lookup found (when no answer of its own came).
    authorization_id: str | None = None
    #: Whether the card was seen leaving the field after the outcome (Book A 5); None when
    #: no card was read. False: the next transaction waits for its removal first.
    card_removed: bool | None = None

    @property
    def message(self) -> str:
        """The display text."""
        return "Cancelled" if self.outcome is TerminalOutcome.CANCELLED else self.ui.text

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (no PAN, no key, no cryptogram)."""
        k, a = self.kernel, self.authorization
        return {
            "outcome": self.outcome.value,
            "reason": self.reason,
            "message": self.message,
            "message_id": f"{self.ui.message.value:02X}",
            "amount": self.amount,
            "currency": self.currency,
            "amount_text": format_minor_units(self.amount, self.currency),
            "application": k.label if k else None,
            "aid": k.aid.hex().upper() if k and k.aid else None,
            "kernel_id": k.kernel_id if k else None,
            "token_masked": k.masked_pan if k else None,
            "par": k.par if k else None,
            "atc": k.atc if k else None,
            "cvm": k.cvm.value if k else None,
            "oda_performed": k.oda_performed if k else None,
            "tvr": k.tvr.hex().upper() if k else None,
            "tvr_bits": tvr_names(k.tvr) if k else [],
            "authorization_id": a.authorization_id if a else self.authorization_id,
            "response_code": a.response_code if a else None,
            "arqc_verified": a.cryptogram_verified if a else None,
            "arpc_verified": self.arpc_verified,
            "reversal": self.reversal,
            "reversal_item": self.reversal_item,
            "resolution": self.resolution,
            "idempotency_key": self.idempotency_key,
            "reference": self.reference,
            "journal_id": self.journal_id,
            "card_removed": self.card_removed,
        }


def pay(
    reader: Reader,
    transaction: Transaction,
    *,
    terminal_id: str,
    client: AcquirerClient,
    kernel: Kernel | None = None,
    wait: float | None = 30.0,
    on_ui: Callable[[UiRequest], None] | None = None,
    removal_wait: float | None = 0.0,
    books: Books | None = None,
    reference: str | None = None,
    offline: OfflineSettings | None = None,
) -> PaymentResult:
    """Run one payment of ``transaction`` on the next card presented to ``reader``.

    The final outcome is also signalled on the reader's own buzzer and LEDs where it has
    them (ACS readers). Then "Remove card" while the card is in the field, waiting up to
    the kernel outcome's Removal Timeout (Book A 6.2) when it has one, else ``removal_wait``
    seconds, for it to leave (0: only look); a card that stays (``card_removed`` False) is
    not read by the next payment on this reader. :meth:`Reader.cancel` before the authorization was
    sent ends it ``cancelled``.

    ``books``: journal the payment and settle what is owed through the outbox (flushed after
    the payment); the caller runs :meth:`Books.start` once before its first payment.
    ``reference``: the merchant's order id, sent with the authorization and journalled.
    ``offline``: the store-and-forward limits (:mod:`terminal.modes.pay.offline`; with books
    only; None: no offline approvals).
    """
    record = None
    if books is not None:
        record = books.begin(TxKind.PAYMENT, transaction.amount, transaction.currency,
                             reference=reference,
                             undo=lambda key: payment_undo(terminal_id, key))  # fmt: skip
    try:
        result = _pay(reader, transaction, terminal_id=terminal_id, client=client,
                      kernel=kernel, wait=wait, on_ui=on_ui, record=record,
                      reference=reference, offline=offline or OfflineSettings())  # fmt: skip
    except CardWaitCancelledError:
        if record is not None:
            record.cancelled()
        return PaymentResult(TerminalOutcome.CANCELLED, "cancelled", CANCELLED_UI,
                             transaction.amount, transaction.currency, reference=reference,
                             journal_id=record.id if record else None)  # fmt: skip
    if result.outcome in (Outcome.APPROVED, Outcome.DECLINED):
        reader.signal(result.outcome is Outcome.APPROVED)
    if books is not None and result.reversal_item is not None:
        books.flush()  # the reversal owed goes now if the acquirer is back
        if books.outbox.item(result.reversal_item).state.value == "done":
            result = replace(result, reversal="reversed")
    elif books is not None:
        books.flush()
    if result.kernel is None or result.reason in ("no_card", "card_not_removed"):
        return result
    removed = remove_card(reader, timeout=removal_wait, show=on_ui or (lambda ui: None),
                          read=result.kernel)  # fmt: skip
    return replace(result, card_removed=removed)


def _pay(
    reader: Reader,
    transaction: Transaction,
    *,
    terminal_id: str,
    client: AcquirerClient,
    kernel: Kernel | None = None,
    wait: float | None = 30.0,
    on_ui: Callable[[UiRequest], None] | None = None,
    record: JournalRecord | None = None,
    reference: str | None = None,
    offline: OfflineSettings | None = None,
) -> PaymentResult:
    kernel = kernel or Kernel()
    show = on_ui or (lambda ui: None)
    amount, cur = transaction.amount, transaction.currency
    journal_id = record.id if record is not None else None
    read = read_card(reader, transaction, kernel=kernel, wait=wait, show=show)

    def body() -> dict[str, Any]:
        doc: dict[str, Any] = {"terminal_id": terminal_id, "amount": amount, "currency": cur,
                               "emv_data": read.data_record.hex().upper()}  # fmt: skip
        return doc if reference is None else {**doc, "reference": reference}

    if record is not None and read.outcome is Outcome.APPROVED and read.data_record:
        # The card approved offline (TC): a deferred payment, within the offline limits.
        record.card_read(read.masked_pan, read.par)
        hook = deferral(record.books, offline or OfflineSettings(), amount=amount, currency=cur,
                        par=read.par, cryptogram="TC", body=body,
                        now=record.books.outbox.clock)  # fmt: skip
        settled = hook(record)
        if settled is None:
            record.declined("offline_limit")
            return PaymentResult(Outcome.DECLINED, "offline_limit", DEFAULT_UI[Outcome.DECLINED],
                                 amount, cur, kernel=read, reference=reference,
                                 journal_id=journal_id, idempotency_key=record.key)  # fmt: skip
        return PaymentResult(Outcome.APPROVED, settled.reason, read.ui, amount, cur, kernel=read,
                             reference=reference, journal_id=journal_id,
                             idempotency_key=record.key, resolution=settled.resolution)  # fmt: skip
    if read.outcome is not Outcome.ONLINE_REQUEST:
        if record is not None:
            record.ended(read.outcome.value, read.reason)
        return PaymentResult(read.outcome, read.reason, read.ui, amount, cur, kernel=read,
                             reference=reference, journal_id=journal_id)  # fmt: skip
    if record is not None:
        record.card_read(read.masked_pan, read.par)
        record.offline = deferral(record.books, offline or OfflineSettings(), amount=amount,
                                  currency=cur, par=read.par, cryptogram="ARQC", body=body,
                                  now=record.books.outbox.clock)  # fmt: skip

    def submit(data_record: bytes, key: str) -> AuthorizationResponse:
        return client.authorize(terminal_id=terminal_id, amount=amount, currency=cur,
                                emv_data=data_record, idempotency_key=key,
                                reference=reference)  # fmt: skip

    online = go_online(
        reader,
        read,
        kernel=kernel,
        submit=submit,
        reverse=lambda key: reverse_authorization(client, terminal_id, key),
        show=show,
        record=record,
    )
    ui = DEFAULT_UI[online.outcome]
    if online.outcome is Outcome.APPROVED and read.cvm is Cvm.SIGNATURE:
        ui = APPROVED_SIGN
    return PaymentResult(online.outcome, online.reason, ui, amount, cur, kernel=read,
                         authorization=online.decision, arpc_verified=online.arpc_verified,
                         reversal=online.reversal, idempotency_key=online.idempotency_key,
                         reference=reference, journal_id=journal_id,
                         reversal_item=online.reversal_item, resolution=online.resolution,
                         authorization_id=online.authorization_id)  # fmt: skip


def reverse_authorization(client: AcquirerClient, terminal_id: str, original_key: str) -> str:
    """Reverse what the acquirer did under ``original_key``; report how it went.

    ``reversed``: undone; ``nothing_to_reverse``: the acquirer approved nothing under that key;
    ``pending``: the reversal could not be delivered and must be sent again (it is
    idempotent, and the original key identifies the authorization).
    """
    try:
        done = client.reverse(
            terminal_id=terminal_id,
            original_idempotency_key=original_key,
            idempotency_key=str(uuid.uuid4()),
        )
    except (AcquirerUnavailableError, AcquirerRejectedError):
        return "pending"
    return "reversed" if done else "nothing_to_reverse"
