"""The checkout routes' request and response bodies (the contract of :mod:`acquirer.checkout.api`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from acquirer.payments.schemas import MAX_AMOUNT, MAX_EMV_DATA_BYTES

SESSION_ID_PATTERN = r"^cs_[0-9A-Z]{26}$"
TERMINAL_ID = Annotated[str, Field(pattern=r"^[A-Za-z0-9]{1,16}$", description="The terminal id")]
_STATES = r"^(created|paid|expired|cancelled)$"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SessionCreateBody(_Body):
    """``POST /v1/checkout/sessions``: what the terminal wants to be paid."""

    terminal_id: TERMINAL_ID
    amount: int = Field(gt=0, le=MAX_AMOUNT, description="Minor units of the currency")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 alphabetic code")
    reference: str = Field(default="", max_length=64, pattern=r"^[ -~]*$")


class TerminalBody(_Body):
    """A request that only names the terminal it speaks for."""

    terminal_id: TERMINAL_ID


class SessionBody(BaseModel):
    """A session as its terminal reads it."""

    session_id: str
    terminal_id: str
    merchant_id: str
    amount: int
    currency: str
    reference: str
    state: str = Field(pattern=_STATES)
    created_at: str
    expires_at: str
    authorization_id: str | None


class LinkBody(BaseModel):
    """The link for the terminal's next tap (NDEF URI record), with a fresh nonce."""

    session_id: str
    uri: str


class WalletSessionBody(BaseModel):
    """What the wallet shows before the customer confirms, and the nonce its ARQC covers."""

    session_id: str
    terminal_id: str
    merchant_name: str
    amount: int
    currency: str
    state: str = Field(pattern=_STATES)
    expires_at: str
    nonce: str = Field(description="The session nonce, 9F37 of the cryptogram (8 hex digits)")


class WalletPaymentBody(_Body):
    """``POST /v1/checkout/payments``: a wallet pays the session a tag link names."""

    link: str = Field(max_length=512, description="The link as read from the tag")
    session_id: str = Field(pattern=SESSION_ID_PATTERN)
    emv_data: str = Field(
        min_length=2,
        max_length=2 * MAX_EMV_DATA_BYTES,
        pattern=r"^(?:[0-9A-Fa-f]{2})+$",
        description="The wallet's EMV data record (BER-TLV) in hexadecimal",
    )


class WalletPaymentResponse(BaseModel):
    """A payment's answer: approved, or refused with a stable reason."""

    session_id: str
    approved: bool
    reason: str
    authorization_id: str | None
    state: str = Field(pattern=_STATES)
