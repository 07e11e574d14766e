"""One Tap! payment: the terminal is the tag, the customer's wallet pays the session online.

The steps, each journalled before what depends on it (:mod:`terminal.journal`), as a card
payment is:

1. ``accepted``: the amount, under a fresh idempotency key; ``card_read`` at once (no card
   is read: the wallet's token never reaches the terminal);
2. ``sent``: the checkout session is about to be created under that key (a retry, or a
   restart, creates nothing new: the acquirer returns the same session);
3. the tag presents the session: at every tap (every SELECT of the NDEF application) a fresh
   link from the acquirer (new nonce and MAC), so a copied tag names a used-up nonce;
4. the result, learned by long polling (``GET /v1/checkout/sessions/{id}?wait=``):
   ``answered`` then ``confirmed`` when paid, ``declined`` when it expired or was cancelled;
   the tag is cleared (idle) whatever happens.

If the acquirer cannot be reached while waiting, the entry stays ``answer_unknown`` and
:func:`resume` settles it when the acquirer is back: a session paid meanwhile is reported
once, an open one is cancelled; the acquirer pays a session at most once, so nothing is
charged twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emvcore.currency import format_minor_units
from emvcore.tapmode import IDLE_MESSAGE, encode_message
from terminal.errors import AcquirerRejectedError, AcquirerUnavailableError
from terminal.journal import Journal, JournalEntry, TxKind, TxState
from terminal.modes.tag.provider import PresentedTag
from terminal.online.client import AcquirerClient

PAID = "paid"
OPEN = "created"


@dataclass(frozen=True, slots=True)
class TagResult:
    """How a Tap! payment ended, for the display and the journal."""

    approved: bool
    state: str
    session_id: str | None
    authorization_id: str | None
    journal_id: int
    amount: int
    currency: str

    @property
    def message(self) -> str:
        amount = format_minor_units(self.amount, self.currency)
        if self.approved:
            return f"Approved: {amount} paid by Tap!"
        if self.state == "unknown":
            return f"Result unknown for {amount}: it will be checked when the acquirer is back"
        return f"Not paid ({self.state}): {amount}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "approved": self.approved,
            "state": self.state,
            "session_id": self.session_id,
            "authorization_id": self.authorization_id,
            "journal_id": self.journal_id,
            "amount": self.amount,
            "currency": self.currency,
        }


class Checkout:
    """The acquirer's checkout routes, as the terminal takes them."""

    def __init__(self, client: AcquirerClient, terminal_id: str) -> None:
        self.client = client
        self.terminal_id = terminal_id

    def create(self, amount: int, currency: str, reference: str, key: str) -> dict[str, Any]:
        body = {"terminal_id": self.terminal_id, "amount": amount, "currency": currency,
                "reference": reference}  # fmt: skip
        return self.client.post_json("/v1/checkout/sessions", body, key)

    def link(self, session_id: str) -> str:
        body = {"terminal_id": self.terminal_id}
        answer = self.client.post_json(f"/v1/checkout/sessions/{session_id}/links", body, "link")
        return str(answer["uri"])

    def wait(self, session_id: str, seconds: int) -> dict[str, Any]:
        params: dict[str, str | int] = {"terminal_id": self.terminal_id, "wait": seconds}
        return self.client.get_json(f"/v1/checkout/sessions/{session_id}", params)

    def cancel(self, session_id: str, key: str) -> dict[str, Any]:
        body = {"terminal_id": self.terminal_id}
        return self.client.post_json(f"/v1/checkout/sessions/{session_id}/cancel", body, key)


def tag_pay(
    checkout: Checkout,
    tag: PresentedTag,
    journal: Journal,
    amount: int,
    currency: str,
    *,
    reference: str = "",
    package: str,
    timeout: float = 180.0,
    poll: int = 30,
    cancelled: Callable[[], bool] = lambda: False,
) -> TagResult:
    """Run one Tap! payment (module docstring); never raises for an acquirer failure."""
    entry = journal.accept(TxKind.TAG_PAYMENT, amount, currency, reference=reference or None)
    # No card is read in Tap! mode: the wallet's token never reaches the terminal.
    journal.advance(entry.id, TxState.CARD_READ, note="Tap! session requested")
    journal.sent(entry.id)
    try:
        session = checkout.create(amount, currency, reference, entry.idempotency_key)
    except AcquirerRejectedError as exc:
        journal.answered(entry.id, approved=False, reason=exc.code or "refused")
        journal.advance(entry.id, TxState.DECLINED)
        return _result(journal.get(entry.id), None, "refused")
    except AcquirerUnavailableError as exc:
        if not exc.maybe_delivered:
            journal.advance(
                entry.id, TxState.DECLINED, approved=False, reason="acquirer_unavailable"
            )
            return _result(journal.get(entry.id), None, "offline")
        journal.advance(entry.id, TxState.ANSWER_UNKNOWN, note="session creation unanswered")
        return _result(journal.get(entry.id), None, "unknown")
    session_id = str(session["session_id"])
    journal.note(entry.id, f"checkout session {session_id}")

    def per_tap() -> bytes:
        try:
            return encode_message(checkout.link(session_id), package)
        except (AcquirerUnavailableError, AcquirerRejectedError):
            return IDLE_MESSAGE  # no fresh link, nothing payable: the wallet sees an idle tag

    tag.present(per_tap)
    try:
        final = _wait(checkout, session_id, entry, timeout, poll, cancelled)
    finally:
        tag.clear()
    if final is None:
        journal.advance(entry.id, TxState.ANSWER_UNKNOWN, note="acquirer unreachable while waiting")
        return _result(journal.get(entry.id), session_id, "unknown")
    return _settle(journal, journal.get(entry.id), final)


def _wait(
    checkout: Checkout, session_id: str, entry: JournalEntry, timeout: float, poll: int,
    cancelled: Callable[[], bool],
) -> dict[str, Any] | None:  # fmt: skip
    """The session once it left ``created`` (cancelled at the deadline); None if unreachable."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        try:
            if remaining <= 0 or cancelled():
                return checkout.cancel(session_id, f"{entry.idempotency_key}-cancel")
            session = checkout.wait(session_id, max(1, min(poll, int(remaining))))
        except (AcquirerUnavailableError, AcquirerRejectedError):
            return None
        if session["state"] != OPEN:
            return session


def _settle(journal: Journal, entry: JournalEntry, session: dict[str, Any]) -> TagResult:
    """Journal the session's final state: confirmed when paid, declined otherwise."""
    paid = session["state"] == PAID
    authorization_id = session.get("authorization_id")
    if entry.state is TxState.SENT:
        journal.answered(entry.id, approved=paid, reason=str(session["state"]),
                         authorization_id=authorization_id)  # fmt: skip
    if paid:
        journal.advance(entry.id, TxState.CONFIRMED, authorization_id=authorization_id,
                        approved=True, reason=PAID)  # fmt: skip
    else:
        journal.advance(entry.id, TxState.DECLINED, approved=False, reason=str(session["state"]))
    return _result(journal.get(entry.id), str(session["session_id"]), str(session["state"]))


def _result(entry: JournalEntry, session_id: str | None, state: str) -> TagResult:
    return TagResult(
        approved=entry.state is TxState.CONFIRMED,
        state=state,
        session_id=session_id,
        authorization_id=entry.authorization_id,
        journal_id=entry.id,
        amount=entry.amount,
        currency=entry.currency,
    )


def resume(checkout: Checkout, journal: Journal) -> list[TagResult]:
    """Settle every unfinished Tap! payment now that the acquirer answers (module docstring).

    The session is found again by re-creating it under the entry's key (the acquirer answers
    with the same session); an open one is cancelled, and the state it ends in is journalled.
    """
    settled = []
    for entry in journal.entries(states=(TxState.SENT, TxState.ANSWER_UNKNOWN)):
        if entry.kind is not TxKind.TAG_PAYMENT:
            continue
        reference = entry.reference or ""
        try:
            session = checkout.create(
                entry.amount, entry.currency, reference, entry.idempotency_key
            )
            if session["state"] == OPEN:
                session = checkout.cancel(
                    str(session["session_id"]), f"{entry.idempotency_key}-cancel"
                )
        except (AcquirerUnavailableError, AcquirerRejectedError):
            continue
        settled.append(_settle(journal, entry, session))
    return settled
