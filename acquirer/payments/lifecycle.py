"""The payment lifecycle after the authorization: increment, capture, void, refund, reversal.

An approved authorization opens a payment (:class:`~acquirer.payments.rows.PaymentRow`): a
*sale* is captured at once, a *pre-authorization* holds its amount (a bike deposit) until
it is completed. The operations and the states they are allowed in:

==============  ======================  =====================================================
operation       allowed when            effect (journal, see :mod:`acquirer.payments.ledger`)
==============  ======================  =====================================================
increment A     pre-auth, authorized,   hold grows by A (``hold``)
                risk rules on the new
                total (see below)
capture [A]     pre-auth, authorized    completion: hold released, A <= hold captured
                                        (``release`` + ``capture``); A defaults to the hold
void            authorized              hold released (``release``) -> voided
                captured, no refund,    sale undone (``cancel``) -> voided
                not settled
refund [A]      captured                A <= captured - refunded returned (``refund``)
reversal [A]    authorized              full: hold released -> reversed; partial: hold shrinks
                captured, no refund,    full: sale undone -> reversed; partial: captured shrinks
                not settled
==============  ======================  =====================================================

(Visa and Mastercard rules name the same operations: incremental authorization and
completion for pre-authorizations in rental and transit, reversal for a terminal that timed
out waiting for an answer, refund never above the captured amount.)

An increment obeys the rules the authorization obeyed, on the hold's new total
(:func:`acquirer.payments.risk.assess_increment`: token active, account not denied, within
the category limit; :class:`~acquirer.errors.IncrementDeclinedError` otherwise), and no
payment ever totals more than an amount field carries (n 12,
:data:`~acquirer.payments.risk.MAX_AMOUNT`; :class:`~acquirer.errors.AmountExceededError`).
A rental's return asks the same rule how far its hold may grow (:meth:`PaymentService.increment_ceiling`).

A refused operation (wrong state, amount too large) writes nothing. Every operation carries
an idempotency key: the first result is stored with the operation and returned again, byte
for byte; the same key with a different request is refused; a retry while the first is in
flight is answered 409.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from acquirer import idempotency
from acquirer.clock import format_timestamp, utc_now
from acquirer.errors import (
    AmountExceededError,
    IncrementDeclinedError,
    PaymentNotFoundError,
    PaymentStateError,
)
from acquirer.idempotency import InFlight
from acquirer.ids import new_id
from acquirer.payments import ledger, risk
from acquirer.payments.rows import (
    AuthorizationRow,
    IncrementContext,
    Intent,
    OperationKind,
    OperationRequest,
    PaymentRow,
    PaymentStatus,
    Transition,
)
from acquirer.payments.store import PaymentStore

log = logging.getLogger("acquirer.payments.lifecycle")


@dataclass(frozen=True, slots=True)
class OperationOutcome:
    """The response body of an operation, and whether it is a stored one replayed."""

    operation_id: str
    response_json: str
    replayed: bool


def payment_json(payment: PaymentRow) -> dict[str, object]:
    """The public view of a payment (amounts in minor units)."""
    body: dict[str, object] = {
        "id": payment.id,
        "terminal_id": payment.terminal_id,
        "intent": payment.intent.value,
        "status": payment.status.value,
        "currency": payment.currency,
        "authorized": payment.authorized,
        "captured": payment.captured,
        "refunded": payment.refunded,
        "token_masked": payment.token_masked,
        "par": payment.par,
        "created_at": format_timestamp(payment.created_at),
        "updated_at": format_timestamp(payment.updated_at),
    }
    if payment.reference is not None:
        body["reference"] = payment.reference
    return body


def _refuse(kind: OperationKind, payment: PaymentRow) -> PaymentStateError:
    return PaymentStateError(
        f"cannot {kind.value} a {payment.intent.value} payment that is {payment.status.value}"
        + (" and partly refunded" if payment.refunded else "")
        + (" and settled" if payment.settled else "")
    )


def _amount(requested: int | None, limit: int, what: str) -> int:
    if requested is None:
        return limit
    if requested > limit:
        raise AmountExceededError(f"amount {requested} is more than the {what} ({limit})")
    return requested


def transition(
    kind: OperationKind, payment: PaymentRow, amount: int | None, fee_bps: int
) -> tuple[PaymentRow, int, tuple[ledger.Journal, ...]]:
    """The new state of ``payment``, the operation's effective amount, and its journals.

    Pure: raises :class:`PaymentStateError` (or :class:`AmountExceededError`) to refuse.
    """
    t, cur = payment.terminal_id, payment.currency
    status = payment.status
    held = status is PaymentStatus.AUTHORIZED
    # A settled capture is final: it is undone by a refund, never by a void or reversal.
    undoable = status is PaymentStatus.CAPTURED and payment.refunded == 0 and not payment.settled
    replace = dataclasses.replace
    if kind is OperationKind.INCREMENT:
        if not (held and payment.intent is Intent.PREAUTHORIZATION) or amount is None:
            raise _refuse(kind, payment)
        total = payment.authorized + amount
        if total > risk.MAX_AMOUNT:
            raise AmountExceededError(
                f"the hold would total {total}, more than an amount field carries"
            )
        new = replace(payment, authorized=total)
        return new, amount, (ledger.hold(t, cur, amount),)
    if kind is OperationKind.CAPTURE:
        if not (held and payment.intent is Intent.PREAUTHORIZATION):
            raise _refuse(kind, payment)
        value = _amount(amount, payment.authorized, "amount held")
        new = replace(payment, captured=value, status=PaymentStatus.CAPTURED)
        journals = (
            ledger.release(t, cur, payment.authorized),
            ledger.capture(t, cur, value, fee_bps),
        )
        return new, value, journals
    if kind is OperationKind.REFUND:
        if status is not PaymentStatus.CAPTURED:
            raise _refuse(kind, payment)
        value = _amount(amount, payment.captured - payment.refunded, "amount left to refund")
        if value == 0:
            raise AmountExceededError("the payment is already fully refunded")
        new = replace(payment, refunded=payment.refunded + value)
        return new, value, (ledger.refund(t, cur, value),)
    if kind in (OperationKind.VOID, OperationKind.REVERSAL):
        final = PaymentStatus.VOIDED if kind is OperationKind.VOID else PaymentStatus.REVERSED
        if held:
            requested = None if kind is OperationKind.VOID else amount
            value = _amount(requested, payment.authorized, "amount held")
            left = payment.authorized - value
            new = replace(payment, authorized=left, status=final if left == 0 else status)
            return new, value, (ledger.release(t, cur, value),)
        if undoable:
            requested = None if kind is OperationKind.VOID else amount
            value = _amount(requested, payment.captured, "amount captured")
            left = payment.captured - value
            new = replace(
                payment,
                captured=left,
                authorized=payment.authorized - value
                if payment.intent is Intent.SALE
                else payment.authorized,
                status=final if left == 0 else status,
            )
            return new, value, (ledger.cancel(t, cur, value, fee_bps, payment.captured),)
        raise _refuse(kind, payment)
    raise _refuse(kind, payment)  # pragma: no cover (every kind is handled above)


class PaymentService:
    """Applies operations to payments through a :class:`~acquirer.payments.store.PaymentStore`."""

    def __init__(
        self,
        store: PaymentStore,
        *,
        fee_bps: int = 0,
        clock: Callable[[], datetime] = utc_now,
        in_flight: InFlight | None = None,
    ) -> None:
        self._store = store
        self._fee_bps = fee_bps
        self._clock = clock
        self._in_flight = in_flight or InFlight()

    def get(self, terminal_id: str, payment_id: str) -> PaymentRow:
        """The terminal's payment; :class:`PaymentNotFoundError` for anyone else's."""
        payment = self._store.get_payment(payment_id)
        if payment is None or payment.terminal_id != terminal_id:
            raise PaymentNotFoundError("no such payment for this terminal")
        return payment

    def increment_ceiling(self, payment_id: str) -> int:
        """The largest total the payment's hold may reach by increments now (0: none allowed).

        The rule :meth:`operate` applies to an increment, for a caller that sizes one
        (a rental's return grows its hold to the fare only as far as this allows).
        """
        return risk.increment_ceiling(self._store.increment_context(payment_id))

    def list(
        self, terminal_id: str, reference: str | None, after: str | None, limit: int
    ) -> Sequence[PaymentRow]:
        """The terminal's payments (of one reference, if given), in id order after ``after``."""
        return self._store.list_payments(
            terminal_id=terminal_id, reference=reference, after=after, limit=limit
        )

    def find_by_key(self, terminal_id: str, idempotency_key: str) -> str:
        """The payment an approved authorization under that key opened (for reversals)."""
        row = self._store.find_authorization(terminal_id, idempotency_key)
        if row is None or not row.approved:
            raise PaymentNotFoundError(
                "no approved authorization from this terminal under that idempotency key"
            )
        return row.id

    def prepare(
        self,
        kind: OperationKind,
        *,
        terminal_id: str,
        idempotency_key: str,
        payment_id: str,
        amount: int | None = None,
    ) -> tuple[OperationRequest, Callable[[PaymentRow], Transition]]:
        """The operation's request row and the transition it applies to the locked payment.

        :meth:`operate` runs them in a transaction of their own; a rental's completion and
        cancellation run them inside the rental's transaction
        (:meth:`~acquirer.rentals.rows.RentalStore.apply_rental_change`), so both go one way.
        """
        hash_of_request = idempotency.request_hash(
            {
                "amount": amount,
                "kind": kind.value,
                "payment_id": payment_id,
                "terminal_id": terminal_id,
            }
        )
        now = self._clock()
        request = OperationRequest(
            id=new_id("op_", now),
            terminal_id=terminal_id,
            idempotency_key=idempotency_key,
            kind=kind,
            payment_id=payment_id,
            amount=amount,
            request_hash=hash_of_request,
            created_at=now,
        )

        increment: IncrementContext | None = None
        if kind is OperationKind.INCREMENT:
            increment = self._store.increment_context(payment_id)

        def decide(payment: PaymentRow) -> Transition:
            if kind is OperationKind.INCREMENT and amount is not None:
                verdict = risk.assess_increment(increment, payment.authorized + amount)
                if verdict is not None and payment.status is PaymentStatus.AUTHORIZED:
                    raise IncrementDeclinedError(f"the increment is declined ({verdict.value})")
            new, value, journals = transition(kind, payment, amount, self._fee_bps)
            new = dataclasses.replace(new, updated_at=now)
            body = {
                "operation_id": request.id,
                "kind": kind.value,
                "amount": value,
                "payment": payment_json(new),
                "created_at": format_timestamp(now),
            }
            return Transition(new, journals, json.dumps(body, separators=(",", ":")))

        return request, decide

    def operate(
        self,
        kind: OperationKind,
        *,
        terminal_id: str,
        idempotency_key: str,
        payment_id: str,
        amount: int | None = None,
    ) -> OperationOutcome:
        """Apply one operation durably, or replay the stored answer to its key."""
        request, decide = self.prepare(
            kind,
            terminal_id=terminal_id,
            idempotency_key=idempotency_key,
            payment_id=payment_id,
            amount=amount,
        )
        with self._in_flight.claim("operation", terminal_id, idempotency_key):
            result = self._store.apply_operation(request, decide)
        if result.replayed:
            idempotency.check_same_request(result.row.request_hash, request.request_hash)
        log.info(
            "%s %s payment=%s terminal=%s%s",
            kind.value,
            result.row.id,
            payment_id,
            terminal_id,
            " (replayed)" if result.replayed else "",
        )
        return OperationOutcome(result.row.id, result.row.response_json, result.replayed)


def open_payment(
    intent: Intent, row: AuthorizationRow, fee_bps: int
) -> tuple[PaymentRow, tuple[ledger.Journal, ...]]:
    """The payment an approval opens, and its journal: a sale (captured at once), or a hold."""
    sale = intent is Intent.SALE
    payment = PaymentRow(
        id=row.id,
        terminal_id=row.terminal_id,
        intent=intent,
        currency=row.currency,
        par=row.par,
        token_masked=row.token_masked,
        authorized=row.amount,
        captured=row.amount if sale else 0,
        refunded=0,
        status=PaymentStatus.CAPTURED if sale else PaymentStatus.AUTHORIZED,
        created_at=row.created_at,
        updated_at=row.created_at,
        reference=row.reference,
    )
    if sale:
        journal = ledger.sale(row.terminal_id, row.currency, row.amount, fee_bps)
    else:
        journal = ledger.hold(row.terminal_id, row.currency, row.amount)
    return payment, (journal,)
