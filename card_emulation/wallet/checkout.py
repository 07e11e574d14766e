"""What a wallet needs from the acquirer's checkout sessions: the :class:`CheckoutClient`.

The checkout domain lives in the acquirer; the wallet sees it through this protocol, so
the acquirer round can give the wallet an HTTP client (httpx, an injectable transport)
and the tests an in-process one. Two calls:

* ``fetch_session(link)``: the acquirer checks the link (:func:`emvcore.tapmode.check_link`:
  form and MAC, without using up the nonce) and answers what the wallet shows before the
  customer confirms: merchant name, amount, currency, state, expiry, and the session
  nonce the cryptogram covers. The tag itself never says the amount.
* ``pay_session(payment)``: the wallet's token and ARQC as an EMV data record, as a card's
  (:func:`emvcore.tapmode.session_transaction_data` says which terminal data it covers);
  the acquirer accepts the link (:func:`emvcore.tapmode.accept_link`: the nonce used up),
  verifies the ARQC as a tap's, checks 9F02/5F2A/9F37 against the session, authorizes
  through the same ledger and risk checks, and answers with a stable reason code.
  ``idempotency_key`` makes a repeated call return the first answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class SessionState(StrEnum):
    """A checkout session moves created -> paid | expired | cancelled, once."""

    CREATED = "created"
    PAID = "paid"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class CheckoutSession:
    """A session as the acquirer describes it to a wallet."""

    session_id: str
    terminal_id: str
    merchant_name: str
    amount: int
    currency: str
    state: SessionState
    expires_at: datetime
    #: The 4-byte session nonce, the cryptogram's Unpredictable Number (9F37).
    nonce: bytes


@dataclass(frozen=True, slots=True)
class SessionPayment:
    """One payment of a session: the link read from the tag and the wallet's EMV data."""

    link: str
    session_id: str
    idempotency_key: str
    #: BER-TLV: the session's terminal data, 82, 57, 5F34, 9F27, 9F36, 9F26, 9F10.
    emv_data: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class PaymentResult:
    """The acquirer's answer: approved or not, with its stable reason code."""

    approved: bool
    reason: str
    authorization_id: str | None = None


class CheckoutClient(Protocol):
    """The acquirer's checkout sessions, as a wallet reaches them."""

    def fetch_session(self, link: str) -> CheckoutSession: ...

    def pay_session(self, payment: SessionPayment) -> PaymentResult: ...
