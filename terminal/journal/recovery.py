"""What a restart does with each transaction the journal shows unfinished.

The journal is written before each step that depends on it, so the state a kill -9 leaves
says how far the transaction got, and therefore what is safe:

====================  =============================================================  ==================
state left            what may have happened                                         action
====================  =============================================================  ==================
accepted, card_read   nothing was sent (a held deferred payment is not forwarded)    ``cancel``
sent, answer_unknown  the acquirer may have acted                                    ``lookup_status``
answered, declined    nothing to undo; the card was not told                         ``decline``
answered, approved    approved, but never confirmed: the screen did not say approved ``reverse``
reversal_queued       the reversal is owed                                           ``ensure_reversal``
offline_approved      the deferred payment is owed                                   ``ensure_forward``
====================  =============================================================  ==================

``cancel`` also cancels a held deferred payment of the transaction (it was stored but the
customer was never shown approved); ``ensure_forward`` releases it; ``ensure_reversal`` stores
the reversal again under its derived key (a no-op when it is there) and marks the transaction
``reversed`` once the outbox shows the reversal delivered. :func:`terminal.journal.resolve.recover_all`
carries the actions out; run it before the first outbox flush of a start.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from terminal.journal.states import TxState

if TYPE_CHECKING:
    from terminal.journal.store import JournalEntry

__all__ = ["Action", "Recovery", "recovery_action"]


class Action(StrEnum):
    """What recovery does with an unfinished transaction."""

    CANCEL = "cancel"
    LOOKUP_STATUS = "lookup_status"
    DECLINE = "decline"
    REVERSE = "reverse"
    ENSURE_REVERSAL = "ensure_reversal"
    ENSURE_FORWARD = "ensure_forward"


@dataclass(frozen=True, slots=True)
class Recovery:
    """One unfinished transaction and what to do with it."""

    entry: JournalEntry
    action: Action


def recovery_action(entry: JournalEntry) -> Action | None:
    """The action for ``entry`` (None for a final state: nothing to do)."""
    state = entry.state
    if state in (TxState.ACCEPTED, TxState.CARD_READ):
        return Action.CANCEL
    if state in (TxState.SENT, TxState.ANSWER_UNKNOWN):
        return Action.LOOKUP_STATUS
    if state is TxState.ANSWERED:
        return Action.REVERSE if entry.approved else Action.DECLINE
    if state is TxState.REVERSAL_QUEUED:
        return Action.ENSURE_REVERSAL
    if state is TxState.OFFLINE_APPROVED:
        return Action.ENSURE_FORWARD
    return None
