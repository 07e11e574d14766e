"""Store-and-forward: approving a payment without the acquirer, within the merchant's limits.

When the acquirer cannot be reached (no connection was made, so it certainly holds nothing),
or when the card itself approved offline (a TC, EMV Book 3 9.3; the kernel's Approved
outcome, Book A 6.2.2), a payment may still be approved, on the terminal's own authority, as
a *deferred authorization*: the acquirer sees the card's data record later, verifies the
cryptogram late, and records a decline then as the merchant's loss (or a debt), never as a
silent success. The risk is the merchant's, so it is bounded by ``[offline]``
(:class:`~terminal.modes.settings.OfflineSettings`), counted over the offline approvals the
outbox has not forwarded yet:

- ``enabled``; the scheme rule: a card's TC always qualifies, a card's ARQC (it asked to go
  online) only with ``defer_arqc`` (the merchant accepts that risk);
- the amount at most ``max_amount``; per card (by PAR) at most ``per_card_count`` approvals
  and ``per_card_amount``; per terminal ``total_count`` and ``total_amount``;
- none while the oldest one not forwarded is older than ``max_age``.

A payment above them is declined ``online_unavailable`` (the acquirer was not reached) or
``offline_limit`` (the card's TC, over a limit). :func:`refusal` says which rule refused.

An approval is stored first (the outbox item ``held``, ``"deferred": true`` in its body, under
the journal entry's idempotency key, so it is forwarded exactly once), then journalled
``offline_approved``, then released for forwarding: a kill between the two leaves a held item
that recovery cancels, and the customer was never shown approved.

>>> from terminal.modes.settings import OfflineSettings
>>> rules = OfflineSettings(enabled=True, max_amount=2000, per_card_count=1,
...                         per_card_amount=2000, total_count=3, total_amount=6000)
>>> owed = Owed(card_count=0, card_amount=0, terminal_count=2, terminal_amount=4000, age=60.0)
>>> refusal(rules, 1500, "TC", owed), refusal(rules, 2500, "TC", owed)
(None, 'offline_max_amount')
>>> refusal(rules, 1500, "ARQC", owed), refusal(rules, 1500, "TC", owed._replace(terminal_count=3))
('offline_arqc_not_deferred', 'offline_total_count')
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from terminal.journal.books import Books, JournalRecord
from terminal.journal.states import TxState
from terminal.modes.settings import OfflineSettings
from terminal.outbox import ItemKind, NewItem, Request
from terminal.tap import Unanswered

__all__ = ["Owed", "approve_offline", "owed", "refusal"]


class Owed(NamedTuple):
    """Offline approvals not forwarded yet: of this card, of the terminal, the oldest's age (s)."""

    card_count: int
    card_amount: int
    terminal_count: int
    terminal_amount: int
    age: float | None


def owed(books: Books, par: str | None, currency: str, now: float) -> Owed:
    """What the outbox holds in offline approvals (amounts in ``currency``)."""
    card_count, card_amounts, _ = books.outbox.deferred_owed(par) if par else (0, {}, None)
    count, amounts, oldest = books.outbox.deferred_owed()
    return Owed(card_count, card_amounts.get(currency, 0), count, amounts.get(currency, 0),
                None if oldest is None else max(0.0, now - oldest))  # fmt: skip


def refusal(rules: OfflineSettings, amount: int, cryptogram: str, owed: Owed) -> str | None:
    """Why ``amount`` may not be approved offline (None: it may). ``cryptogram``: "TC" (the
    card approved offline) or "ARQC" (it asked to go online)."""
    if not rules.enabled:
        return "offline_disabled"
    if cryptogram != "TC" and not rules.defer_arqc:
        return "offline_arqc_not_deferred"
    if amount > rules.max_amount:
        return "offline_max_amount"
    if owed.age is not None and owed.age > rules.max_age:
        return "offline_max_age"
    checks = (
        (owed.card_count + 1 > rules.per_card_count, "offline_card_count"),
        (owed.card_amount + amount > rules.per_card_amount, "offline_card_amount"),
        (owed.terminal_count + 1 > rules.total_count, "offline_total_count"),
        (owed.terminal_amount + amount > rules.total_amount, "offline_total_amount"),
    )
    return next((reason for failed, reason in checks if failed), None)


def approve_offline(
    books: Books, record: JournalRecord, body: dict[str, Any], *, amount: int, currency: str,
    par: str | None,
) -> Unanswered:  # fmt: skip
    """Store the deferred authorization ``body`` (held), journal ``offline_approved``, release."""
    request = Request(ItemKind.DEFERRED_PAYMENT, "POST", "/v1/authorizations",
                      {**body, "deferred": True}, "authorization")  # fmt: skip
    books.outbox.add(NewItem(request, record.key, amount=amount, currency=currency,
                             account=par, journal_id=record.id, deferred=True), hold=True)  # fmt: skip
    record.entry = books.journal.advance(record.id, TxState.OFFLINE_APPROVED,
                                         reason="approved_offline")  # fmt: skip
    books.outbox.release(record.id)
    return Unanswered(True, "approved_offline", "deferred")


def deferral(
    books: Books, rules: OfflineSettings, *, amount: int, currency: str, par: str | None,
    cryptogram: str, body: Callable[[], dict[str, Any]], now: Callable[[], float],
) -> Callable[[JournalRecord], Unanswered | None]:  # fmt: skip
    """The record's offline hook: approve within ``rules``, else None (declined as it was)."""

    def hook(record: JournalRecord) -> Unanswered | None:
        refused = refusal(rules, amount, cryptogram, owed(books, par, currency, now()))
        if refused is not None:
            books.journal.note(record.id, f"not approved offline: {refused}")
            return None
        return approve_offline(books, record, body(), amount=amount, currency=currency, par=par)

    return hook
