"""Payments by agents under wallet-signed mandates, and the mandates' state (issue 16).

:class:`MandateService` is callable without HTTP (the REST routes in
:mod:`~acquirer.mandates.api` and, next, an MCP server are thin layers over it).

Keys. A wallet's device public key is registered for its token when the token is
provisioned (:meth:`MandateService.register_wallet_key`, an operator's act: whoever could
register a key for a token could sign mandates spending it, so there is no open route for
it); agents register their public keys (:meth:`MandateService.register_agent_key`).

A payment (:meth:`MandateService.pay`), in order, each refusal a stable reason:

1. idempotency under ``(session_id, Idempotency-Key)``: a key already answered returns that
   answer (another body under it is :class:`~acquirer.errors.IdempotencyKeyReusedError`),
   one still running is :class:`~acquirer.errors.IdempotencyKeyInFlightError`;
2. the checkout session, as the acquirer holds it: its row and its merchant's MCC make the
   :class:`~emvcore.agentpay.Checkout` whose hash the agent and wallet signed (never the
   agent's JSON), and its state (``session_*``);
3. the wallet key the mandate's ``iss`` names (``wallet_key_unknown``), the agent's key
   registered (``agent_key_unknown``), then :func:`emvcore.agentpay.check_chain` with the
   store as replay cache (its reasons: signature, validity, binding, confirmation, scope);
4. the payer: a token in the mandate must be the one the wallet key is for (``payer_mismatch``);
5. the mandate's state: revoked (``mandate_revoked``) and, in the payment's own transaction,
   the conditional spend (``budget_exceeded``, ``mandate_used``);
6. the payments authorization of the key's token (:meth:`AuthorizationService.authorize_delegated`):
   token status, expiry and domain, risk rules, ledger, reason codes as for a tap.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from acquirer import idempotency
from acquirer.checkout.rows import CheckoutRefusal, SessionRow
from acquirer.clock import format_timestamp, utc_now
from acquirer.errors import (
    CheckoutSessionNotFoundError,
    MandateKeyError,
    MandateNotFoundError,
)
from acquirer.idempotency import InFlight
from acquirer.mandates.rows import MandateReason, MandateRefusal, MandateRow, WalletKeyRow
from acquirer.mandates.sql import SqlMandateStore
from acquirer.payments.ledger import Journal
from acquirer.payments.messages import AuthorizationRequest
from acquirer.payments.rows import (
    AtcClaim,
    AuthorizationRow,
    PaymentRow,
    RecordResult,
    VelocityCheck,
)
from acquirer.payments.service import AuthorizationService
from acquirer.payments.store import PaymentStore
from emvcore.agentpay import (
    ChainAccepted,
    Checkout,
    Mandate,
    check_chain,
    jose,
    jwk_thumbprint,
    public_jwk,
    public_key_from_jwk,
    verify_mandate,
)
from emvcore.agentpay import mandate as mandate_format
from emvcore.agentpay.canonical import JsonError, parse_object
from emvcore.agentpay.keys import PublicKey
from emvcore.errors import AgentPayError, CryptoError, MandateError

log = logging.getLogger("acquirer.mandates")

#: Revocations are compact JWS signed by the wallet's device key: ``{"jti": id, "iat": t}``.
REVOCATION = jose.JwsProfile("mandate", "tap-mandate-revocation+jwt", MandateError)
#: How old a revocation may be, in seconds.
REVOCATION_MAX_AGE = 300


@dataclass(frozen=True, slots=True)
class AgentPayment:
    """What an agent presents to pay a session: the mandate, its binding, the confirmation."""

    session_id: str
    mandate: str
    binding: str | None = None
    confirmation: str | None = None

    def digest(self) -> str:
        """The request's hash, to tell a retry from another request under the same key."""
        return idempotency.request_hash(
            {
                "session_id": self.session_id,
                "mandate": self.mandate,
                "binding": self.binding,
                "confirmation": self.confirmation,
            }
        )


@dataclass(frozen=True, slots=True)
class AgentAnswer:
    """The answer to an agent's payment: its JSON body and whether it replays a stored one."""

    response_json: str
    replayed: bool
    approved: bool
    reason: str


def checkout_of(session: SessionRow, mcc: str) -> Checkout:
    """The checkout an agent and a wallet sign for ``session``: built from the acquirer's row.

    The payee is the session's merchant; no text an agent or a merchant wrote is read.
    """
    return Checkout(
        session_id=session.id,
        merchant_id=session.merchant_id,
        mcc=mcc,
        amount=session.amount,
        currency=session.currency,
        expires_at=int(session.expires_at.timestamp()),
        description=session.reference,
    )


def _issuer_of(token: str) -> str | None:
    """The mandate's ``iss`` (the wallet key's thumbprint), read to pick the key to verify.

    Nothing else is trusted before the signature verifies under that key.
    """
    try:
        read = jose.read(mandate_format.PROFILE, token)
        claims = parse_object(read.payload)
    except (AgentPayError, JsonError):
        return None
    issuer = claims.get("iss")
    return issuer if isinstance(issuer, str) else None


class _BoundView:
    """The store as one agent payment's :class:`AuthorizationService` sees it: its write also
    spends the mandate's budget and marks the session paid, in the same transaction."""

    def __init__(self, store: SqlMandateStore, payment: AgentPayment, key: str, now: datetime):
        self._store = store
        self._payment = payment
        self._key = key
        self._now = now
        self.mandate_id = ""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def record_authorization(
        self,
        row: AuthorizationRow,
        claim: AtcClaim | None,
        payment: PaymentRow | None = None,
        journals: Sequence[Journal] = (),
        velocity: VelocityCheck | None = None,
    ) -> RecordResult:
        return self._store.record_agent_authorization(
            row,
            claim,
            payment,
            journals,
            velocity,
            mandate_id=self.mandate_id,
            session_id=self._payment.session_id,
            idempotency_key=self._key,
            request_hash=self._payment.digest(),
            now=self._now,
        )


class MandateService:
    """Registers keys, pays sessions under mandates, revokes and lists mandates."""

    def __init__(
        self,
        store: SqlMandateStore,
        authorizer: Callable[[PaymentStore], AuthorizationService],
        *,
        in_flight: InFlight,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._authorizer = authorizer
        self._in_flight = in_flight
        self._clock = clock

    # -- keys ---------------------------------------------------------------------------------

    def register_wallet_key(self, token: str, jwk: object) -> str:
        """Register a wallet's device key for ``token``; its thumbprint.

        One key per token and one token per key: registering another is refused
        (:class:`~acquirer.errors.MandateKeyError`); the same again is a no-op.
        """
        key = self._public_key(jwk)
        if self._store.get_token(token) is None:
            raise MandateKeyError("no such token is provisioned")
        thumbprint = jwk_thumbprint(key)
        row = WalletKeyRow(thumbprint, token, _jwk_json(key), self._clock())
        stored = self._store.put_wallet_key(row)
        if (stored.thumbprint, stored.token) != (thumbprint, token):
            raise MandateKeyError("the token or the key is already registered with another")
        log.info("wallet key %s registered", thumbprint)
        return thumbprint

    def register_agent_key(self, jwk: object, name: str = "") -> str:
        """Register an agent's public key; its thumbprint (the mandate's ``cnf.jkt``)."""
        key = self._public_key(jwk)
        thumbprint = jwk_thumbprint(key)
        if self._store.put_agent_key(thumbprint, _jwk_json(key), name, self._clock()):
            log.info("agent key %s registered", thumbprint)
        return thumbprint

    @staticmethod
    def _public_key(jwk: object) -> PublicKey:
        try:
            return public_key_from_jwk(jwk)
        except CryptoError as exc:
            raise MandateKeyError(f"not a P-256 public JWK: {exc}") from None

    def _wallet_key(self, thumbprint: str | None) -> tuple[WalletKeyRow, PublicKey] | None:
        row = None if thumbprint is None else self._store.get_wallet_key(thumbprint)
        if row is None:
            return None
        return row, public_key_from_jwk(json.loads(row.jwk))

    # -- checkout -----------------------------------------------------------------------------

    def checkout(self, session_id: str) -> Checkout:
        """The checkout of a session as the acquirer holds it (what agents and wallets sign)."""
        session = self._store.get_session(session_id)
        merchant = None if session is None else self._store.get_merchant(session.merchant_id)
        if session is None or merchant is None:
            raise CheckoutSessionNotFoundError(f"no checkout session {session_id}")
        return checkout_of(session, merchant.mcc)

    # -- mandates -----------------------------------------------------------------------------

    def register_mandate(self, token: str) -> MandateRow:
        """Verify a mandate and record it (spent 0); the stored row when already known."""
        found = self._wallet_key(_issuer_of(token))
        if found is None:
            raise MandateKeyError(MandateReason.WALLET_KEY_UNKNOWN.value)
        key_row, key = found
        try:
            mandate = verify_mandate(token, key, now=int(self._clock().timestamp()))
        except AgentPayError as exc:
            raise MandateKeyError(exc.reason.value) from None
        if mandate.token is not None and mandate.token != key_row.token:
            raise MandateKeyError(MandateReason.PAYER_MISMATCH.value)
        return self._store.put_mandate(self._row(mandate, key_row))

    def _row(self, mandate: Mandate, key: WalletKeyRow) -> MandateRow:
        now = self._clock()
        recurrence = mandate.recurrence
        max_uses = 1 if recurrence is None else recurrence.max_occurrences
        return MandateRow(
            id=mandate.mandate_id,
            wallet=mandate.wallet,
            token=key.token,
            currency=mandate.currency,
            max_amount=mandate.max_amount,
            budget=mandate.budget,
            spent=0,
            uses=0,
            max_uses=max_uses,
            not_before=mandate.not_before,
            expires_at=mandate.expires_at,
            presence=mandate.presence.value,
            agent_key=mandate.agent_key,
            revoked_at=None,
            created_at=now,
            updated_at=now,
        )

    def mandates(self, wallet: str) -> list[MandateRow]:
        """The payer's mandates (by wallet key thumbprint), each with its remaining budget."""
        return self._store.mandates_of(wallet)

    def revoke(self, mandate_id: str, revocation: str) -> MandateRow:
        """Revoke a mandate on the wallet's signed word (a :data:`REVOCATION` JWS)."""
        row = self._store.get_mandate(mandate_id)
        found = None if row is None else self._wallet_key(row.wallet)
        if row is None or found is None:
            raise MandateNotFoundError(f"no mandate {mandate_id}")
        try:
            claims = jose.verified_claims(REVOCATION, revocation, found[1])
        except AgentPayError as exc:
            raise MandateKeyError(exc.reason.value) from None
        issued = claims.get("iat")
        now = self._clock()
        if claims.get("jti") != mandate_id or not isinstance(issued, int):
            raise MandateKeyError("the revocation names another mandate")
        if abs(int(now.timestamp()) - issued) > REVOCATION_MAX_AGE:
            raise MandateKeyError("the revocation is stale")
        revoked = self._store.revoke(mandate_id, now)
        if revoked is None:
            raise MandateNotFoundError(f"no mandate {mandate_id}")
        log.info("mandate %s revoked", mandate_id)
        return revoked

    # -- payments -----------------------------------------------------------------------------

    def pay(self, payment: AgentPayment, idempotency_key: str) -> AgentAnswer:
        """An agent's payment of a session under a mandate (module docstring: the checks)."""
        with self._in_flight.claim("agent-payment", payment.session_id, idempotency_key):
            prior = self._store.find_agent_payment(payment.session_id, idempotency_key)
            if prior is not None:
                idempotency.check_same_request(prior["request_hash"], payment.digest())
                return self._stored_answer(prior)
            return self._pay(payment, idempotency_key)

    def _pay(self, payment: AgentPayment, key: str) -> AgentAnswer:
        session = self._store.get_session(payment.session_id)
        merchant = None if session is None else self._store.get_merchant(session.merchant_id)
        if session is None or merchant is None:
            raise CheckoutSessionNotFoundError(f"no checkout session {payment.session_id}")
        now = self._clock()
        refusal = session.refusal_at(now)
        if refusal is not None:
            return self._refused(payment, None, refusal)
        found = self._wallet_key(_issuer_of(payment.mandate))
        if found is None:
            return self._refused(payment, None, MandateReason.WALLET_KEY_UNKNOWN)
        key_row, wallet_key = found
        chain = check_chain(
            mandate=payment.mandate,
            wallet_key=wallet_key,
            checkout=checkout_of(session, merchant.mcc),
            binding=payment.binding,
            confirmation=payment.confirmation,
            now=int(now.timestamp()),
            replay=self._store,
        )
        if not isinstance(chain, ChainAccepted):
            return self._refused(payment, None, chain.reason)
        mandate = chain.mandate
        if chain.agent_key is not None and not self._store.agent_key_known(chain.agent_key):
            return self._refused(payment, mandate.mandate_id, MandateReason.AGENT_KEY_UNKNOWN)
        if mandate.token is not None and mandate.token != key_row.token:
            return self._refused(payment, mandate.mandate_id, MandateReason.PAYER_MISMATCH)
        row = self._store.put_mandate(self._row(mandate, key_row))
        if row.revoked_at is not None:
            return self._refused(payment, row.id, MandateReason.MANDATE_REVOKED)
        return self._authorize(payment, key, session, row, now)

    def _authorize(
        self, payment: AgentPayment, key: str, session: SessionRow, row: MandateRow, now: datetime
    ) -> AgentAnswer:
        request = AuthorizationRequest(
            terminal_id=session.terminal_id,
            idempotency_key=f"agent/{session.id}/{key}",
            amount=session.amount,
            currency=session.currency,
            emv_data=b"",
        )
        view = _BoundView(self._store, payment, key, now)
        view.mandate_id = row.id
        try:
            outcome = self._authorizer(cast(PaymentStore, view)).authorize_delegated(
                request, row.token
            )
        except (MandateRefusal, CheckoutRefusal) as lost:
            return self._refused(payment, row.id, str(lost.reason))
        if outcome.approved:
            log.info(
                "session %s paid by %s under mandate %s",
                session.id,
                outcome.authorization_id,
                row.id,
            )
        return self._answer(
            payment.session_id,
            row.id,
            outcome.approved,
            outcome.reason,
            outcome.authorization_id,
            replayed=outcome.replayed,
        )

    def _stored_answer(self, prior: Any) -> AgentAnswer:
        result = json.loads(prior["response_json"])
        return self._answer(
            prior["session_id"],
            prior["mandate_id"],
            bool(result["approved"]),
            str(result["reason"]),
            prior["authorization_id"],
            replayed=True,
        )

    def _refused(self, payment: AgentPayment, mandate_id: str | None, reason: str) -> AgentAnswer:
        log.warning(
            "agent payment refused session=%s mandate=%s reason=%s",
            payment.session_id,
            mandate_id,
            reason,
        )
        return self._answer(payment.session_id, mandate_id, False, str(reason), None)

    def _answer(
        self,
        session_id: str,
        mandate_id: str | None,
        approved: bool,
        reason: str,
        authorization_id: str | None,
        *,
        replayed: bool = False,
    ) -> AgentAnswer:
        session = self._store.get_session(session_id)
        mandate = None if mandate_id is None else self._store.get_mandate(mandate_id)
        body = {
            "session_id": session_id,
            "mandate_id": mandate_id,
            "approved": approved,
            "reason": reason,
            "authorization_id": authorization_id,
            "state": None if session is None else session.state.value,
            "remaining_budget": None if mandate is None else mandate.remaining,
        }
        return AgentAnswer(json.dumps(body, separators=(",", ":")), replayed, approved, reason)


def mandate_json(row: MandateRow) -> dict[str, Any]:
    """A mandate as its payer lists it: limits, what is spent and what remains."""
    return {
        "mandate_id": row.id,
        "currency": row.currency,
        "max_amount": row.max_amount,
        "budget": row.budget,
        "spent": row.spent,
        "remaining": row.remaining,
        "uses": row.uses,
        "max_uses": row.max_uses,
        "presence": row.presence,
        "expires_at": row.expires_at,
        "revoked": row.revoked_at is not None,
        "revoked_at": None if row.revoked_at is None else format_timestamp(row.revoked_at),
    }


def _jwk_json(key: PublicKey) -> str:
    return json.dumps(public_jwk(key), sort_keys=True, separators=(",", ":"))
