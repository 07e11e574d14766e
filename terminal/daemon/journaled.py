"""The acquirer client the pay mode is handed for one action: the journal written around each call.

The pay mode (:func:`terminal.modes.pay.pay`) does not journal yet, so the daemon wraps the
client it calls. :class:`JournaledClient` is an :class:`~terminal.online.AcquirerClient` as
far as the pay mode can tell; each of its calls is a step of the journal's state machine
(:mod:`terminal.journal.states`), written *before* the step that depends on it:

=====================================  =========================================================
the pay mode calls                     the journal, in order
=====================================  =========================================================
``authorize`` (the card was read)      ``card_read``; the cancel gate (a cancel honoured here
                                       ends ``cancelled``, nothing sent); ``sent`` with the undo
                                       request; the request under the *journal's* key; then
                                       ``answered`` / ``answer_unknown`` / ``declined``
``reverse`` (answer lost, or the       ``answer_unknown``: the acquirer's status lookup
card refused tag 91)                   (:func:`~terminal.journal.resolve.resolve`); ``answered``:
                                       the reversal queued in the outbox; then an outbox flush
=====================================  =========================================================

The engine makes its own idempotency key per request; this client substitutes the key the
journal recorded at :meth:`~terminal.journal.Journal.accept`, so the key the acquirer sees is
the one recovery looks up after a crash. The final ``confirmed`` (before the screen says
approved) and ``declined`` are written by the runner once the pay mode returns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from terminal.errors import (
    AcquirerRejectedError,
    AcquirerUnavailableError,
    CancelledBeforeSendingError,
)
from terminal.journal import Journal, StatusLookup, TxState, payment_undo, queue_reversal, resolve
from terminal.online import AcquirerClient, AuthorizationResponse
from terminal.outbox import Outbox

__all__ = ["CancelledBeforeSendingError", "JournaledClient"]


class JournaledClient(AcquirerClient):
    """Journals transaction ``journal_id`` around ``inner``'s calls (see the module docstring).

    ``intent`` is the authorization's (``sale`` or ``preauthorization``: the action's, whatever
    the pay mode asks). ``card_read()`` is told the card was read; ``gate()`` is asked right before the
    authorization leaves: False means the action was cancelled. ``flush()`` forwards the
    outbox (a reversal just queued).
    """

    def __init__(
        self, inner: AcquirerClient, journal: Journal, outbox: Outbox, journal_id: int, *,
        terminal_id: str, lookup: StatusLookup, gate: Callable[[], bool],
        flush: Callable[[], object], card_read: Callable[[], object] = lambda: None,
        intent: str = "sale",
    ) -> None:  # fmt: skip
        # No super().__init__(): this client sends nothing itself, ``inner`` does.
        self.inner, self.journal, self.outbox, self.id = inner, journal, outbox, journal_id
        self.terminal_id, self.lookup, self.gate, self.flush = terminal_id, lookup, gate, flush
        self.on_card_read, self.intent = card_read, intent
        self.cancelled = False

    def authorize(
        self, *, terminal_id: str, amount: int, currency: str, emv_data: bytes,
        idempotency_key: str, reference: str | None = None, intent: str = "sale",
    ) -> AuthorizationResponse:  # fmt: skip
        entry = self.journal.card_read(self.id, token_masked=None)
        self.on_card_read()
        if not self.gate():
            self.cancelled = True
            self.journal.advance(self.id, TxState.CANCELLED, reason="cancelled")
            raise CancelledBeforeSendingError()
        self.journal.sent(self.id, undo=payment_undo(self.terminal_id, entry.idempotency_key))
        try:
            answer = self.inner.authorize(terminal_id=terminal_id, amount=amount,
                                          currency=currency, emv_data=emv_data,
                                          idempotency_key=entry.idempotency_key,
                                          reference=reference, intent=self.intent)  # fmt: skip
        except AcquirerUnavailableError as exc:
            if exc.maybe_delivered:
                self.journal.advance(self.id, TxState.ANSWER_UNKNOWN, reason="answer_unknown")
            else:
                self.journal.advance(self.id, TxState.DECLINED, reason="acquirer_unavailable")
            raise
        except AcquirerRejectedError as exc:
            self.journal.advance(self.id, TxState.DECLINED,
                                 reason=f"acquirer_rejected:{exc.code or exc.status}")  # fmt: skip
            raise
        self.journal.answered(self.id, approved=answer.approved, reason=answer.reason,
                              authorization_id=answer.authorization_id)  # fmt: skip
        if answer.token_masked:
            self.journal.note(self.id, "card identified", token_masked=answer.token_masked,
                              par=answer.par)  # fmt: skip
        return answer

    def reverse(
        self, *, terminal_id: str, original_idempotency_key: str, idempotency_key: str
    ) -> bool:
        """Undo what the acquirer did: True reversed, False nothing to reverse; raises
        AcquirerUnavailableError when the reversal waits in the outbox (``pending``)."""
        entry = self.journal.get(self.id)
        if entry.state is TxState.ANSWER_UNKNOWN:
            resolve(self.journal, self.outbox, self.id, self.lookup)
        elif entry.state is TxState.ANSWERED:
            queue_reversal(self.journal, self.outbox, self.id,
                           reason="issuer_authentication_failed",
                           resolution="card_refused_issuer_answer")  # fmt: skip
        self.flush()
        after = self.journal.get(self.id)
        if after.state is TxState.REVERSED:
            return True
        if after.state is TxState.DECLINED:
            return False
        raise AcquirerUnavailableError("the reversal waits in the outbox", maybe_delivered=False)

    def post_json(self, path: str, body: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        return self.inner.post_json(path, body, idempotency_key)

    def get_json(self, path: str, params: dict[str, str | int]) -> dict[str, Any]:
        return self.inner.get_json(path, params)

    def close(self) -> None:
        """The inner client belongs to the daemon: nothing to close here."""
