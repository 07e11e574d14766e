"""The transaction state machine of the journal: which step may follow which.

One journal row per transaction, from the moment an amount is accepted::

    accepted ──> card_read ──> sent ──> answered ───────> confirmed
       │            │           │          │   └────────> reversal_queued ──> reversed
       │            │           │          └────────────> declined
       │            │           └─────> answer_unknown ──> confirmed | reversal_queued | declined
       │            │           └─────> declined | offline_approved   (certainly not delivered)
       │            └─────────────────> cancelled | declined | offline_approved
       └──────────────────────────────> cancelled | declined
    offline_approved ──> forwarded                                    (store-and-forward)

- ``answer_unknown -> confirmed`` only when the acquirer's status lookup says the request was
  processed and approved *and* the card accepted the issuer's answer (tag 91, EMV Book 3
  6.5.4) while still in the field; any other approval that the customer was not shown goes
  to ``reversal_queued``.
- ``cancelled`` is only possible before the request was sent: once it may have reached the
  acquirer, only the acquirer's answer (or its status lookup) can end the transaction.
- ``sent -> declined`` and ``sent -> offline_approved`` are for a request that certainly never
  left (no connection was made); a request that may have arrived goes to ``answer_unknown``.

An illegal transition raises :class:`~terminal.errors.IllegalTransitionError`.

>>> check_transition(TxState.SENT, TxState.ANSWER_UNKNOWN)
>>> check_transition(TxState.SENT, TxState.CANCELLED)
Traceback (most recent call last):
...
terminal.errors.IllegalTransitionError: a transaction cannot go from sent to cancelled
>>> TxState.CONFIRMED.final, TxState.ANSWER_UNKNOWN.final
(True, False)
"""

from __future__ import annotations

from enum import StrEnum

from terminal.errors import IllegalTransitionError

__all__ = ["STATUS_KINDS", "TRANSITIONS", "TxKind", "TxState", "check_transition", "outcome_of"]


class TxKind(StrEnum):
    """What a journalled transaction is."""

    PAYMENT = "payment"
    REFUND = "refund"
    PREAUTHORIZATION = "preauthorization"
    BIKE_UNLOCK = "bike_unlock"
    BIKE_RETURN = "bike_return"
    PARCEL_PICKUP = "parcel_pickup"
    #: A Tap! payment: the terminal is the tag, a wallet pays its checkout session.
    TAG_PAYMENT = "tag_payment"


class TxState(StrEnum):
    """Where a journalled transaction stands."""

    ACCEPTED = "accepted"
    CARD_READ = "card_read"
    SENT = "sent"
    ANSWERED = "answered"
    ANSWER_UNKNOWN = "answer_unknown"
    CONFIRMED = "confirmed"
    REVERSAL_QUEUED = "reversal_queued"
    REVERSED = "reversed"
    CANCELLED = "cancelled"
    DECLINED = "declined"
    OFFLINE_APPROVED = "offline_approved"
    FORWARDED = "forwarded"

    @property
    def final(self) -> bool:
        """Whether nothing can follow this state."""
        return not TRANSITIONS[self]


S = TxState
#: The allowed transitions: state -> the states that may follow it.
TRANSITIONS: dict[TxState, frozenset[TxState]] = {
    S.ACCEPTED: frozenset({S.CARD_READ, S.CANCELLED, S.DECLINED}),
    S.CARD_READ: frozenset({S.SENT, S.CANCELLED, S.DECLINED, S.OFFLINE_APPROVED}),
    S.SENT: frozenset({S.ANSWERED, S.ANSWER_UNKNOWN, S.DECLINED, S.OFFLINE_APPROVED}),
    S.ANSWERED: frozenset({S.CONFIRMED, S.REVERSAL_QUEUED, S.DECLINED}),
    S.ANSWER_UNKNOWN: frozenset({S.CONFIRMED, S.REVERSAL_QUEUED, S.DECLINED}),
    S.REVERSAL_QUEUED: frozenset({S.REVERSED}),
    S.OFFLINE_APPROVED: frozenset({S.FORWARDED}),
    S.CONFIRMED: frozenset(),
    S.REVERSED: frozenset(),
    S.CANCELLED: frozenset(),
    S.DECLINED: frozenset(),
    S.FORWARDED: frozenset(),
}

#: The acquirer's status lookup kind (``GET /v1/status/{kind}/{key}``) for each transaction kind.
STATUS_KINDS: dict[TxKind, str] = {
    TxKind.PAYMENT: "authorizations",
    TxKind.PREAUTHORIZATION: "authorizations",
    TxKind.REFUND: "operations",
    TxKind.BIKE_UNLOCK: "rentals",
    TxKind.BIKE_RETURN: "rentals",
    TxKind.PARCEL_PICKUP: "parcels",
    TxKind.TAG_PAYMENT: "checkout",
}

#: What the customer was told once a transaction reaches a state (None: nothing final yet).
_OUTCOMES: dict[TxState, str] = {
    S.CONFIRMED: "approved",
    S.OFFLINE_APPROVED: "approved",
    S.REVERSAL_QUEUED: "declined",
    S.DECLINED: "declined",
    S.CANCELLED: "cancelled",
}


def check_transition(current: TxState, new: TxState) -> None:
    """Raise :class:`~terminal.errors.IllegalTransitionError` unless ``current -> new`` is allowed."""
    if new not in TRANSITIONS[current]:
        raise IllegalTransitionError(f"a transaction cannot go from {current} to {new}")


def outcome_of(state: TxState) -> str | None:
    """The outcome the customer is shown on reaching ``state`` (None: it does not set one).

    ``reversed`` and ``forwarded`` keep the outcome already shown.

    >>> outcome_of(TxState.REVERSAL_QUEUED), outcome_of(TxState.REVERSED)
    ('declined', None)
    """
    return _OUTCOMES.get(state)
