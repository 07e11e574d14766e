"""Checkout sessions: a terminal's request to be paid, paid by a phone wallet (Tap! mode).

The terminal (:meth:`CheckoutService.create`) asks for a session of an amount and currency;
its merchant comes from the registry, its id is unguessable (80 random bits, ULID layout) and
its 4-byte session nonce is what the wallet's cryptogram covers (9F37,
:func:`emvcore.tapmode.session_transaction_data`). For each tap the terminal takes a fresh
link (:meth:`CheckoutService.link`): a per-tap nonce, MACed under the terminal's link key,
derived from the acquirer's link master key (:func:`link_master_key`, from the vault key file
by HKDF; never a constant).

The wallet learns the session from the acquirer, never from the tag
(:meth:`CheckoutService.wallet_view`, after :func:`~emvcore.tapmode.check_link`), and pays it
(:meth:`CheckoutService.pay`) through the payments authorization itself: the same issuer,
ATC rules, risk checks, ledger and reason codes as a card's tap, with the link nonce claimed
and the session marked paid in the authorization's transaction
(:meth:`~acquirer.checkout.sql.SqlCheckoutStore.record_checkout_authorization`).

Checks of a payment, in order (each refusal a stable reason, logged without a secret):

1. idempotency: the wallet's key already answered returns that answer;
2. the link: form and MAC under its terminal's key, naming a session of that terminal
   (``link_forged``), this very session (``link_replayed``: a genuine link of another one);
3. the session's state and expiry (``session_already_paid``, ``session_expired``,
   ``session_cancelled``);
4. the EMV data's 9F37 is this session's nonce (``cryptogram_replayed``);
5. the link nonce unused (``link_replayed``), claimed again in the transaction;
6. the authorization: ARQC, ATC, token, amount and currency against the session's
   (``amount_mismatch``, ``currency_mismatch``, ``cryptogram_invalid``, ``atc_replayed``, ...).
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from acquirer import idempotency
from acquirer.checkout.rows import (
    CheckoutReason,
    CheckoutRefusal,
    SessionRow,
    SessionState,
)
from acquirer.checkout.sql import SqlCheckoutStore
from acquirer.clock import format_timestamp, utc_now
from acquirer.errors import (
    CheckoutLinkRefusedError,
    CheckoutSessionNotFoundError,
    EmvDataError,
    RequestError,
    TerminalNotFoundError,
)
from acquirer.ids import new_id
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
from acquirer.vault import VaultKey
from emvcore import tlv
from emvcore.currency import currency as currency_of
from emvcore.errors import CurrencyError, TapLinkForgedError, TapLinkFormatError, TlvError
from emvcore.tags import Tag
from emvcore.tapmode import (
    SESSION_NONCE_LENGTH,
    TapLink,
    build_link,
    check_link,
    derive_terminal_link_key,
)

log = logging.getLogger("acquirer.checkout")

SESSION_PREFIX = "cs_"
#: The label of the link master key under the vault key (HKDF info, RFC 5869).
LINK_MASTER_LABEL = b"tap-link-master-key/v1"


def link_master_key(vault_key: VaultKey) -> bytes:
    """The acquirer's Tap! link master key, derived from the vault key file's key."""
    return vault_key.derive(LINK_MASTER_LABEL)


@dataclass(frozen=True, slots=True)
class PayAnswer:
    """A wallet's payment answered: the JSON body and whether it replays a stored answer."""

    response_json: str
    replayed: bool
    approved: bool
    reason: str


class SessionEvents:
    """Wakes the terminals waiting on a session (long polling) when one changes here.

    One counter for all sessions: a waiter re-reads its session after any change, and at
    least every ``slice`` seconds, so changes made by another acquirer process are seen too.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._version = 0

    @property
    def version(self) -> int:
        """The number of changes seen so far."""
        with self._changed:
            return self._version

    def notify(self) -> None:
        """A session changed state in this process."""
        with self._changed:
            self._version += 1
            self._changed.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        """Block until a change after ``seen`` or ``timeout`` seconds; the version now."""
        with self._changed:
            self._changed.wait_for(lambda: self._version != seen, timeout)
            return self._version


def _json(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"))


class _BoundView:
    """The store as one payment's :class:`AuthorizationService` sees it: its write also
    claims the link nonce and marks the session paid, in the same transaction."""

    def __init__(self, store: SqlCheckoutStore, session_id: str, link: TapLink, now: datetime):
        self._store = store
        self._session_id = session_id
        self._nonce = link.nonce
        self._now = now

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
        return self._store.record_checkout_authorization(
            row,
            claim,
            payment,
            journals,
            velocity,
            session_id=self._session_id,
            link_nonce=self._nonce,
            now=self._now,
        )


class CheckoutService:
    """Creates, describes, cancels and pays checkout sessions (module docstring)."""

    def __init__(
        self,
        store: SqlCheckoutStore,
        authorizer: Callable[[PaymentStore], AuthorizationService],
        *,
        master_key: bytes,
        base_url: str,
        lifetime: timedelta,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._authorizer = authorizer
        self._master_key = master_key
        self.base_url = base_url
        self._lifetime = lifetime
        self._clock = clock
        self.events = SessionEvents()

    # -- the terminal's side ------------------------------------------------------------------

    def create(
        self, terminal_id: str, idempotency_key: str, amount: int, currency: str, reference: str
    ) -> tuple[SessionRow, bool]:
        """A new session (or the one created under this key); True when it was created now."""
        try:
            currency_of(currency)
        except CurrencyError as exc:
            raise RequestError(str(exc)) from None
        terminal = self._store.get_terminal(terminal_id)
        if terminal is None:
            raise TerminalNotFoundError(f"terminal {terminal_id} is not registered")
        request_hash = idempotency.request_hash(
            {"amount": amount, "currency": currency, "reference": reference}
        )
        now = self._clock()
        row = SessionRow(
            id=new_id(SESSION_PREFIX, now),
            terminal_id=terminal_id,
            merchant_id=terminal.merchant_id,
            idempotency_key=idempotency_key,
            request_hash=request_hash,
            amount=amount,
            currency=currency,
            reference=reference,
            nonce=_session_nonce(),
            state=SessionState.CREATED,
            created_at=now,
            expires_at=now + self._lifetime,
            updated_at=now,
        )
        session, created = self._store.create_session(row)
        if not created:
            idempotency.check_same_request(session.request_hash, request_hash)
            return self._current(session), False
        log.info(
            "checkout session %s terminal=%s amount=%d %s created",
            session.id,
            terminal_id,
            amount,
            currency,
        )
        return session, True

    def session_for(self, session_id: str, terminal_id: str) -> SessionRow:
        """The terminal's own session, its state brought up to date (expiry)."""
        session = self._store.get_session(session_id)
        if session is None or session.terminal_id != terminal_id:
            raise CheckoutSessionNotFoundError(
                f"no checkout session {session_id} for {terminal_id}"
            )
        return self._current(session)

    def link(self, session_id: str, terminal_id: str) -> TapLink:
        """A fresh link for the next tap (new nonce); refused unless the session is open."""
        session = self.session_for(session_id, terminal_id)
        if session.state is not SessionState.CREATED:
            raise CheckoutSessionNotFoundError(f"checkout session {session_id} is {session.state}")
        return build_link(self.base_url, terminal_id, session.id, self._key_for_known(terminal_id))

    def cancel(self, session_id: str, terminal_id: str) -> SessionRow:
        """Cancel an unpaid session; a paid (or expired) one is returned as it is."""
        session = self.session_for(session_id, terminal_id)
        if session.state is SessionState.CREATED:
            session = self._store.close_session(session_id, SessionState.CANCELLED, self._clock())
            self.events.notify()
            log.info("checkout session %s now %s", session_id, session.state)
        return session

    def _current(self, session: SessionRow) -> SessionRow:
        now = self._clock()
        if session.state is SessionState.CREATED and now >= session.expires_at:
            session = self._store.close_session(session.id, SessionState.EXPIRED, now)
            self.events.notify()
        return session

    # -- the wallet's side --------------------------------------------------------------------

    def key_for(self, terminal_id: str) -> bytes | None:
        """The registered terminal's link key, ``None`` for an unknown terminal."""
        if self._store.get_terminal(terminal_id) is None:
            return None
        return derive_terminal_link_key(self._master_key, terminal_id)

    def _key_for_known(self, terminal_id: str) -> bytes:
        return derive_terminal_link_key(self._master_key, terminal_id)

    def _checked(self, uri: str, session_id: str | None = None) -> tuple[TapLink, SessionRow]:
        """The link checked (MAC) and the session it names, of that terminal."""
        try:
            link = check_link(uri, self.base_url, self.key_for)
        except TapLinkFormatError as exc:
            raise CheckoutLinkRefusedError(
                str(exc), reason=CheckoutReason.LINK_MALFORMED.value
            ) from None
        except TapLinkForgedError:
            raise CheckoutLinkRefusedError(
                "the link's MAC does not verify", reason=CheckoutReason.LINK_FORGED.value
            ) from None
        session = self._store.get_session(link.session_id)
        if session is None or session.terminal_id != link.terminal_id:
            raise CheckoutLinkRefusedError(
                "the link names no session of its terminal", reason=CheckoutReason.LINK_FORGED.value
            )
        if session_id is not None and session_id != link.session_id:
            # A genuine link, of another (earlier) session of the terminal: replayed here.
            raise CheckoutLinkRefusedError(
                "the link names another session", reason=CheckoutReason.LINK_REPLAYED.value
            )
        return link, self._current(session)

    def wallet_view(self, uri: str) -> dict[str, Any]:
        """What the wallet shows before the customer confirms, for a link read from a tag."""
        _, session = self._checked(uri)
        merchant = self._store.get_merchant(session.merchant_id)
        return {
            "session_id": session.id,
            "terminal_id": session.terminal_id,
            "merchant_name": "" if merchant is None else merchant.name,
            "amount": session.amount,
            "currency": session.currency,
            "state": session.state.value,
            "expires_at": format_timestamp(session.expires_at),
            "nonce": session.nonce.hex().upper(),
        }

    def pay(self, uri: str, session_id: str, idempotency_key: str, emv_data: bytes) -> PayAnswer:
        """A wallet's payment of a session (module docstring: the checks, in order)."""
        session = self._store.get_session(session_id)
        if session is None:
            raise CheckoutSessionNotFoundError(f"no checkout session {session_id}")
        request = AuthorizationRequest(
            terminal_id=session.terminal_id,
            idempotency_key=f"checkout/{session_id}/{idempotency_key}",
            amount=session.amount,
            currency=session.currency,
            emv_data=emv_data,
        )
        prior = self._store.find_authorization(request.terminal_id, request.idempotency_key)
        if prior is not None:
            idempotency.check_same_request(prior.request_hash, request.digest())
            return self._answer(session_id, prior.approved, prior.reason, prior.id, replayed=True)
        try:
            link, session = self._checked(uri, session_id)
        except CheckoutLinkRefusedError as refused:
            return self._refused(session, refused.reason)
        now = self._clock()
        refusal = session.refusal_at(now)
        if refusal is None and _unpredictable_number(emv_data) != session.nonce:
            refusal = CheckoutReason.CRYPTOGRAM_REPLAYED
        if refusal is None and self._store.nonce_claimed(link.terminal_id, link.nonce):
            refusal = CheckoutReason.LINK_REPLAYED
        if refusal is not None:
            return self._refused(session, refusal)
        view = cast(PaymentStore, _BoundView(self._store, session_id, link, now))
        try:
            outcome = self._authorizer(view).authorize(request)
        except CheckoutRefusal as lost:
            return self._refused(session, lost.reason)
        if outcome.approved:
            self.events.notify()
            log.info("checkout session %s paid by %s", session_id, outcome.authorization_id)
        return self._answer(
            session_id,
            outcome.approved,
            outcome.reason,
            outcome.authorization_id,
            replayed=outcome.replayed,
        )

    def _refused(self, session: SessionRow, reason: str) -> PayAnswer:
        log.warning(
            "checkout payment refused session=%s terminal=%s reason=%s",
            session.id,
            session.terminal_id,
            reason,
        )
        return self._answer(session.id, False, str(reason), None, replayed=False)

    def _answer(
        self,
        session_id: str,
        approved: bool,
        reason: str,
        authorization_id: str | None,
        *,
        replayed: bool,
    ) -> PayAnswer:
        session = self._store.get_session(session_id)
        state = SessionState.CREATED if session is None else session.state
        body = {
            "session_id": session_id,
            "approved": approved,
            "reason": reason,
            "authorization_id": authorization_id,
            "state": state.value,
        }
        return PayAnswer(_json(body), replayed, approved, reason)


def session_json(session: SessionRow) -> dict[str, Any]:
    """A session as its terminal reads it."""
    return {
        "session_id": session.id,
        "terminal_id": session.terminal_id,
        "merchant_id": session.merchant_id,
        "amount": session.amount,
        "currency": session.currency,
        "reference": session.reference,
        "state": session.state.value,
        "created_at": format_timestamp(session.created_at),
        "expires_at": format_timestamp(session.expires_at),
        "authorization_id": session.authorization_id,
    }


def _session_nonce() -> bytes:
    return secrets.token_bytes(SESSION_NONCE_LENGTH)


def _unpredictable_number(emv_data: bytes) -> bytes | None:
    try:
        return tlv.flatten(emv_data).get(Tag.UNPREDICTABLE_NUMBER)
    except TlvError as exc:
        raise EmvDataError(f"the EMV data record is not BER-TLV: {exc}") from None
