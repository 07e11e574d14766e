"""Authorization: the acquirer's decision on one tap, independent of HTTP.

:meth:`AuthorizationService.authorize` takes an :class:`AuthorizationRequest` and returns
the decision, recorded durably before it returns. The steps, in order:

1. **Parse** the EMV data record (:func:`acquirer.payments.issuer.parse_emv_data`); malformed or
   incomplete data is a client error, not a decline, and nothing is recorded.
2. **Idempotency** (draft-ietf-httpapi-idempotency-key-header section 2): a key already used
   by this terminal returns the first answer byte for byte if the request is the same, and
   :class:`~acquirer.errors.IdempotencyKeyReusedError` if it is not. The unique index on
   (terminal, key) decides it when the decision is written (the insert of a retry changes
   nothing and the stored answer is returned), so a first request, the common case, costs no
   extra lookup; a retry of data that does not parse is looked up before the error is raised.
3. **Token**: the PAN in the data record is a token; unknown tokens are declined.
4. **Issuer key** covering the token's BIN range.
5. **Cryptogram**: the card must ask for an ARQC (9F27), and the ARQC must verify
   (EMV Book 2 section 8.1). A failed cryptogram gets no tag 91: the issuer cannot
   authenticate a card it could not authenticate.
6. **ATC**: a (token, ATC) pair already used is a replay; an ATC more than
   ``atc_window`` below the highest accepted one is stale. The pair is claimed only once the
   cryptogram verified, so forged requests cannot burn a card's counters. A request whose
   sensitive data came under AES DUKPT (``request.ksn``) claims its (terminal, KSN) with the
   write: a KSN used by another request is :class:`~acquirer.errors.KsnReplayedError`.
7. **Decision** on a fresh, verified cryptogram: token status, token expiry, token domain,
   amount and currency in the cryptogram against those of the request, the currency
   against the merchant's (``currency_not_accepted``), the terminal's findings in the TVR
   (tag 95, EMV Book 3 Annex C5: offline data authentication failed -> ``oda_failed``,
   expired application -> ``card_expired``; unless the issuer profile of the BIN accepts
   them, ``Settings.tvr_exempt_bins``), a zero amount only as an account verification
   (never a sale or a hold: ``amount_mismatch``, so no zero journal reaches a batch), then the risk
   rules of :mod:`acquirer.payments.risk` (deny list, category amount limit, velocity per
   PAR). Every decline with a verified cryptogram carries tag 91 with the decline's response code.
   The velocity count read for the decision may be stale under concurrent taps on one
   account, so an approval carries the rule into its write
   (:class:`~acquirer.payments.rows.VelocityCheck`), where the store counts again
   atomically; an approval the recount refuses is written as a ``velocity_exceeded`` decline.

The reasons and their ISO 8583 response codes are in :mod:`acquirer.payments.reasons`.

Log lines carry the authorization id, masked token, PAR, ATC and reason: never a PAN, a key
or a cryptogram.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from acquirer import idempotency
from acquirer.clock import utc_now
from acquirer.errors import EmvDataError, KsnReplayedError, StoreError
from acquirer.idempotency import InFlight
from acquirer.ids import new_authorization_id
from acquirer.payments import ledger, risk
from acquirer.payments.issuer import (
    CardData,
    Issuer,
    VerifiedArqc,
    application_expired,
    oda_failed,
    parse_emv_data,
)
from acquirer.payments.lifecycle import open_payment
from acquirer.payments.messages import (
    AuthorizationOutcome,
    AuthorizationRequest,
    AuthorizationResult,
)
from acquirer.payments.reasons import Reason
from acquirer.payments.rows import (
    AtcClaim,
    AuthorizationContext,
    AuthorizationRow,
    Intent,
    PaymentRow,
    RecordResult,
    RecordStatus,
    VelocityCheck,
)
from acquirer.payments.store import PaymentStore
from acquirer.payments.tokens import token_refusal
from acquirer.registry import TokenRow
from emvcore.currency import currency
from emvcore.errors import IssuerKeyNotFoundError
from emvcore.pan import mask_pan

log = logging.getLogger("acquirer.authorizations")

__all__ = [
    "AuthorizationOutcome",
    "AuthorizationRequest",
    "AuthorizationResult",
    "AuthorizationService",
]


class _Write(NamedTuple):
    """The arguments of :meth:`~acquirer.payments.store.PaymentStore.record_authorization`."""

    row: AuthorizationRow
    claim: AtcClaim | None
    payment: PaymentRow | None
    journals: tuple[ledger.Journal, ...]
    velocity: VelocityCheck | None = None


@dataclass(frozen=True, slots=True)
class _Decision:
    reason: Reason
    token: TokenRow | None = None
    verified: VerifiedArqc | None = None
    claim_atc: bool = False


#: The sans-I/O steps of one authorization: yields writes, is sent their results.
_Flow = Generator["_Write", RecordResult, AuthorizationOutcome]


def _advance(flow: _Flow, recorded: RecordResult | None) -> _Write | AuthorizationOutcome:
    """One step of a flow, for both drivers: the next write to make, or the outcome.

    ``recorded`` is the result of the write the flow yielded last (``None`` to start it).
    """
    try:
        return next(flow) if recorded is None else flow.send(recorded)
    except StopIteration as done:
        outcome: AuthorizationOutcome = done.value
        return outcome


class AuthorizationService:
    """Decides authorizations and records them in a :class:`~acquirer.payments.store.PaymentStore`."""

    def __init__(
        self,
        store: PaymentStore,
        issuer: Issuer,
        *,
        atc_window: int,
        fee_bps: int = 0,
        risk_rules: risk.RiskRules | None = None,
        clock: Callable[[], datetime] = utc_now,
        in_flight: InFlight | None = None,
        tvr_exempt_bins: tuple[str, ...] = (),
    ) -> None:
        self._store = store
        self._tvr_exempt_bins = tvr_exempt_bins
        self._risk = risk_rules or risk.RiskRules()
        self._issuer = issuer
        self._atc_window = atc_window
        self._fee_bps = fee_bps
        self._clock = clock
        self._in_flight = in_flight or InFlight()

    def authorize(self, request: AuthorizationRequest) -> AuthorizationOutcome:
        """Decide and durably record one authorization (see the module docstring).

        A retry whose first request is still running in this process is refused with
        :class:`~acquirer.errors.IdempotencyKeyInFlightError`.
        """
        with self._in_flight.claim("authorization", request.terminal_id, request.idempotency_key):
            return self._drive(self._flow(request))

    def authorize_delegated(
        self, request: AuthorizationRequest, token: str
    ) -> AuthorizationOutcome:
        """Decide and record an authorization of ``token`` without a cryptogram from a card.

        For a payment whose credential the caller has already verified in its stead: an
        agent's payment under a wallet-signed mandate (:mod:`acquirer.mandates`), the card-
        not-present case where the token requestor vouches for the payer (EMV Payment
        Tokenisation 1.0, the token requestor's "cryptogram" is the mandate chain here). Steps
        1, 5 and 6 of the module docstring do not apply (no EMV data, no ARQC, no ATC); the
        token, its status, expiry and domain, the risk rules, the ledger, the velocity recount
        and the reason codes are those of a tap. ``request.emv_data`` is empty.
        """
        with self._in_flight.claim("authorization", request.terminal_id, request.idempotency_key):
            return self._drive(self._delegated_flow(request, token))

    def _drive(self, flow: _Flow) -> AuthorizationOutcome:
        step = _advance(flow, None)
        while isinstance(step, _Write):
            step = _advance(flow, self._store.record_authorization(*step))
        return step

    async def authorize_async(self, request: AuthorizationRequest) -> AuthorizationOutcome:
        """:meth:`authorize` for an event loop: the same steps, awaiting only the commit.

        The reads and the cryptography run in the caller's thread, so call it from the loop
        only when the store's reads are local and brief
        (:attr:`~acquirer.payments.store.PaymentStore.reads_are_local`); the durable write is awaited
        through :meth:`~acquirer.payments.store.PaymentStore.record_authorization_async`.
        """
        with self._in_flight.claim("authorization", request.terminal_id, request.idempotency_key):
            flow = self._flow(request)
            step = _advance(flow, None)
            while isinstance(step, _Write):
                step = _advance(flow, await self._store.record_authorization_async(*step))
            return step

    def _tvr_checked(self, pan: str) -> bool:
        """Whether the issuer profile of ``pan``'s BIN declines on the TVR's ODA and expiry bits."""
        return not pan.startswith(self._tvr_exempt_bins)

    def bar_key(self, terminal_id: str, idempotency_key: str) -> AuthorizationRow | None:
        """Refuse in advance the authorization a reversal names but the acquirer never saw.

        A terminal that timed out reverses by idempotency key (:mod:`acquirer.payments.api.operations`).
        When that reversal overtakes its original (a request stuck in a network or a queue),
        there is nothing to reverse yet, and the original must not be approved when it does
        arrive: the reversal records a declined authorization under the key, and the late
        original meets it and is declined (``reversed_before_authorization``), as an issuer
        matches a reversal advice to an authorization it has not received (ISO 8583 0400/0420
        before 0100). The key then holds no approval, so the reversal reports nothing to
        reverse, and that stays true.

        Returns the authorization already recorded under the key if the original arrived
        first after all (reverse that one), else ``None``. A request still in flight under the
        key in this process raises :class:`~acquirer.errors.IdempotencyKeyInFlightError`:
        the terminal retries the reversal once it has been answered.
        """
        now = self._clock()
        reason = Reason.REVERSED_BEFORE_AUTHORIZATION
        result = AuthorizationResult(
            authorization_id=new_authorization_id(now),
            approved=False,
            response_code=reason.response_code,
            reason=reason.value,
            issuer_authentication_data=None,
            token_masked="",  # no request, so no card, was ever received
            par=None,
            atc=None,
            cryptogram_verified=False,
            created_at=now,
        )
        row_id = result.authorization_id
        row = AuthorizationRow(
            id=row_id,
            terminal_id=terminal_id,
            idempotency_key=idempotency_key,
            request_hash="",
            amount=0,
            currency="XXX",  # ISO 4217 "no currency": no request was ever received
            token_masked="",
            par=None,
            atc=None,
            approved=False,
            reason=reason.value,
            response_code=reason.response_code,
            response_json=result.to_json(),
            created_at=now,
        )
        with self._in_flight.claim("authorization", terminal_id, idempotency_key):
            recorded = self._store.record_authorization(row, None)
        if recorded.status is RecordStatus.RECORDED:
            log.info("authorization key barred by an early reversal (%s)", row_id)
            return None
        return recorded.existing

    def _flow(
        self, request: AuthorizationRequest
    ) -> Generator[_Write, RecordResult, AuthorizationOutcome]:
        """The steps of :meth:`authorize` as a generator that yields its writes.

        Each yielded :class:`_Write` is the arguments of
        :meth:`~acquirer.payments.store.PaymentStore.record_authorization`, and the driver sends back
        its :class:`~acquirer.payments.rows.RecordResult`. Written once, driven by a blocking
        caller (:meth:`authorize`) and an asynchronous one (:meth:`authorize_async`): the
        "sans-I/O" style of h11 and hyper-h2, where protocol logic never performs its I/O.
        """
        request_hash = request.digest()
        try:
            card = parse_emv_data(request.emv_data)
        except EmvDataError:
            # Nothing was recorded for data that does not parse, unless the key was first
            # used for another request: then that is the client's mistake to report.
            prior = self._store.find_authorization(request.terminal_id, request.idempotency_key)
            if prior is not None:
                return self._replay(prior, request_hash)
            raise
        decision = self._decide(request, card)
        write = self._write(request, request_hash, card.pan, card.atc, decision)
        recorded = yield write
        if recorded.status is RecordStatus.VELOCITY_EXCEEDED:
            # Concurrent approvals of the account reached the limit before this one's write.
            decision = _Decision(
                Reason.VELOCITY_EXCEEDED, decision.token, decision.verified, claim_atc=True
            )
            write = self._write(request, request_hash, card.pan, card.atc, decision)
            recorded = yield write
        outcome = self._outcome(write.row, recorded, request_hash)
        if outcome is None:
            # A concurrent request claimed this ATC between our check and our write.
            decision = _Decision(Reason.ATC_REPLAYED, decision.token, decision.verified)
            write = self._write(request, request_hash, card.pan, card.atc, decision)
            outcome = self._outcome(write.row, (yield write), request_hash)
            if outcome is None:
                raise StoreError("an ATC claim was reported although none was requested")
        return outcome

    def _replay(self, prior: AuthorizationRow, request_hash: str) -> AuthorizationOutcome:
        if prior.reason == Reason.REVERSED_BEFORE_AUTHORIZATION:
            log.info("authorization under a barred key refused (%s)", prior.id)
            return AuthorizationOutcome(
                prior.id, False, prior.reason, prior.response_json, replayed=False
            )
        idempotency.check_same_request(prior.request_hash, request_hash)
        log.info("authorization %s replayed for its idempotency key", prior.id)
        return AuthorizationOutcome(
            prior.id, prior.approved, prior.reason, prior.response_json, replayed=True
        )

    def _decide(self, request: AuthorizationRequest, card: CardData) -> _Decision:
        # One read for the token, its ATC state, the terminal's category and the risk inputs.
        now = self._clock()
        context = self._store.authorization_context(
            card.pan, card.atc, request.terminal_id, risk.velocity_since(self._risk, now)
        )
        if context is None:
            return _Decision(Reason.TOKEN_UNKNOWN)
        token = context.token
        try:
            key = self._issuer.key_for(card.pan)
        except IssuerKeyNotFoundError:
            log.error(
                "no issuer key covers the BIN of token %s (scheme %s): check the key file",
                mask_pan(card.pan),
                token.scheme,
            )
            return _Decision(Reason.ISSUER_KEY_UNKNOWN, token)
        if not card.is_arqc:
            return _Decision(Reason.CID_NOT_ARQC, token)
        verified = self._issuer.verify_arqc(card, key)
        if verified is None:
            return _Decision(Reason.CRYPTOGRAM_INVALID, token)
        if context.atc_claimed:
            return _Decision(Reason.ATC_REPLAYED, token, verified)
        highest = context.highest_atc
        if highest is not None and card.atc < highest - self._atc_window:
            return _Decision(Reason.ATC_STALE, token, verified)
        # The cryptogram is genuine and fresh: its ATC is used up whatever the decision.
        reason = token_refusal(token, context.mcc, now)
        if reason is None and card.amount != request.amount:
            reason = Reason.AMOUNT_MISMATCH
        elif reason is None and card.currency_numeric != currency(request.currency).numeric:
            reason = Reason.CURRENCY_MISMATCH
        elif reason is None and self._tvr_checked(card.pan) and oda_failed(card.tvr):
            reason = Reason.ODA_FAILED
        elif reason is None and self._tvr_checked(card.pan) and application_expired(card.tvr):
            reason = Reason.CARD_EXPIRED
        return _Decision(
            reason or self._spending(request, context), token, verified, claim_atc=True
        )

    def _spending(self, request: AuthorizationRequest, context: AuthorizationContext) -> Reason:
        """The decision once the payer is authenticated: the merchant's currency, the intent
        and the amount, then the risk rules (a tap's and an agent's payment alike)."""
        if context.merchant_currency not in (None, request.currency):
            return Reason.CURRENCY_NOT_ACCEPTED
        if request.intent is Intent.ACCOUNT_VERIFICATION:
            # Moves no money: the risk rules on spending are the caller's (rentals, parcels).
            return Reason.APPROVED if request.amount == 0 else Reason.AMOUNT_MISMATCH
        if request.amount == 0:
            # A zero amount is an account verification, never a sale or a hold (the API
            # refuses it as a 422; this guards in-process callers): no payment, no journal.
            return Reason.AMOUNT_MISMATCH
        verdict = risk.assess(
            self._risk, context, request.amount, debt_recovery=request.debt_recovery
        )
        return Reason.APPROVED if verdict is None else Reason(verdict.value)

    def _delegated_flow(self, request: AuthorizationRequest, token: str) -> _Flow:
        """:meth:`_flow` for :meth:`authorize_delegated`: no EMV data, no ATC claim."""
        request_hash = request.digest()
        now = self._clock()
        since = risk.velocity_since(self._risk, now)
        context = self._store.authorization_context(token, -1, request.terminal_id, since)
        if context is None:
            decision = _Decision(Reason.TOKEN_UNKNOWN)
        else:
            refusal = token_refusal(context.token, context.mcc, now)
            decision = _Decision(refusal or self._spending(request, context), context.token)
        write = self._write(request, request_hash, token, None, decision)
        recorded = yield write
        if recorded.status is RecordStatus.VELOCITY_EXCEEDED:
            decision = _Decision(Reason.VELOCITY_EXCEEDED, decision.token)
            write = self._write(request, request_hash, token, None, decision)
            recorded = yield write
        outcome = self._outcome(write.row, recorded, request_hash)
        if outcome is None:
            raise StoreError("an ATC claim was reported although none was requested")
        return outcome

    def _write(
        self,
        request: AuthorizationRequest,
        request_hash: str,
        pan: str,
        atc: int | None,
        decision: _Decision,
    ) -> _Write:
        """The write that records a decision; its row holds the answer to send."""
        now = self._clock()
        reason = decision.reason
        approved = reason is Reason.APPROVED
        tag_91 = None
        if decision.verified is not None:
            tag_91 = decision.verified.issuer_authentication_data(
                approved=approved, response_code=reason.response_code
            )
        token = decision.token
        result = AuthorizationResult(
            authorization_id=new_authorization_id(now),
            approved=approved,
            response_code=reason.response_code,
            reason=reason.value,
            issuer_authentication_data=tag_91,
            token_masked=mask_pan(pan),
            par=None if token is None else token.par,
            atc=atc,
            cryptogram_verified=decision.verified is not None,
            created_at=now,
            reference=request.reference,
        )
        row = AuthorizationRow(
            id=result.authorization_id,
            terminal_id=request.terminal_id,
            idempotency_key=request.idempotency_key,
            request_hash=request_hash,
            amount=request.amount,
            currency=request.currency,
            token_masked=result.token_masked,
            par=result.par,
            atc=result.atc,
            approved=approved,
            reason=result.reason,
            response_code=result.response_code,
            response_json=result.to_json(),
            created_at=now,
            reference=request.reference,
            ksn=None if request.ksn is None else request.ksn.hex().upper(),
        )
        claim = None
        if decision.claim_atc and token is not None and atc is not None:
            claim = AtcClaim(pan, atc)
        opens_payment = approved and request.intent is not Intent.ACCOUNT_VERIFICATION
        payment, journals = (
            open_payment(request.intent, row, self._fee_bps) if opens_payment else (None, ())
        )
        velocity = None
        if opens_payment and self._risk.velocity_limit and row.par is not None:
            since = risk.velocity_since(self._risk, now)
            velocity = VelocityCheck(row.par, self._risk.velocity_limit, since)
        return _Write(row, claim, payment, journals, velocity)

    def _outcome(
        self, row: AuthorizationRow, recorded: RecordResult, request_hash: str
    ) -> AuthorizationOutcome | None:
        """What the terminal gets once the write is done; ``None`` if its ATC claim lost a race."""
        if recorded.status is RecordStatus.ATC_ALREADY_CLAIMED:
            return None
        if recorded.status is RecordStatus.KSN_ALREADY_CLAIMED:
            log.warning("authorization refused: terminal %s reused a DUKPT KSN", row.terminal_id)
            raise KsnReplayedError("the KSN was already used by another request of this terminal")
        if recorded.status is RecordStatus.VELOCITY_EXCEEDED:
            raise StoreError("a velocity recount refused a write that was not an approval")
        if recorded.status is RecordStatus.IDEMPOTENCY_KEY_EXISTS:
            # A concurrent request with the same key was recorded first.
            if recorded.existing is None:
                raise StoreError("the store reported an existing authorization without it")
            return self._replay(recorded.existing, request_hash)
        log.info(
            "authorization %s terminal=%s token=%s par=%s atc=%s reason=%s response_code=%s",
            row.id,
            row.terminal_id,
            row.token_masked,
            row.par,
            row.atc,
            row.reason,
            row.response_code,
        )
        return AuthorizationOutcome(
            row.id, row.approved, row.reason, row.response_json, replayed=False
        )
