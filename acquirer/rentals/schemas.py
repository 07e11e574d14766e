"""The JSON shapes of the rental, debt and deny-list routes (pydantic; also their OpenAPI schema).

Strict like :mod:`acquirer.payments.schemas`: integers are JSON integers, unknown fields are refused,
every string has a pattern and a bound. Times are RFC 3339 with a time zone offset.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from acquirer.pagination import Page
from acquirer.payments.schemas import MAX_AMOUNT, MAX_EMV_DATA_BYTES, TerminalId
from acquirer.rentals.rows import DebtStatus, RentalState
from emvcore.currency import currency
from emvcore.errors import EncodingError

RENTAL_ID_PATTERN = r"^rent_[0-9A-HJKMNP-TV-Z]{26}$"
DEBT_ID_PATTERN = r"^debt_[0-9A-HJKMNP-TV-Z]{26}$"

UnitId = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9._:-]{1,32}$", description="1-32 of A-Z a-z 0-9 . _ : -")
]
Amount = Annotated[int, Field(ge=1, le=MAX_AMOUNT, description="Minor units (integer)")]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 alphabetic code")]
EmvData = Annotated[
    str,
    Field(
        min_length=2,
        max_length=2 * MAX_EMV_DATA_BYTES,
        pattern=r"^(?:[0-9A-Fa-f]{2})+$",
        description="The EMV data record (BER-TLV) in hexadecimal",
    ),
]
Moment = Annotated[AwareDatetime, Field(strict=False)]
#: Why a dock cancels an unlock (:data:`acquirer.rentals.service.CANCEL_REASONS`).
CancelReason = Literal["lock_timeout", "card_rejected_arpc", "actuator_error", "answer_lost"]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class RentalCreateBody(_Strict):
    """``POST /v1/rentals``: a tap at a dock; ``amount`` is the tariff's deposit."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "terminal_id": "DOCK7",
                "dock_id": "D3",
                "bike_id": "B1042",
                "amount": 5000,
                "currency": "EUR",
                "emv_data": "5A0848953700123456789F3602001C...",
            }
        }
    )

    terminal_id: TerminalId
    dock_id: UnitId
    bike_id: UnitId
    amount: Amount
    currency: Currency
    emv_data: EmvData
    started_at: Moment | None = Field(
        default=None,
        description="Offline unlock: when the dock let the bike go without asking (past)",
    )

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        try:
            currency(value)
        except EncodingError:
            raise ValueError("unknown or unsupported ISO 4217 currency") from None
        return value


class RentalCreateResponse(BaseModel):
    """The answer to a tap at a dock: unlock or not, and tag 91 for the card."""

    rental_id: str | None = Field(description="null when refused (nothing was rented)")
    approved: bool
    reason: str = Field(description="approved, rental_active, or an authorization reason")
    message: str = Field(description="For the rider's eyes")
    issuer_authentication_data: str | None = Field(description="Tag 91 in hex")
    authorization_id: str | None
    par: str | None
    state: RentalState | None
    deposit: int
    currency: str


class TerminalBody(_Strict):
    """Only who asks."""

    terminal_id: TerminalId


class CancelBody(_Strict):
    """``POST /v1/rentals/{id}/cancel``: why the bike never left."""

    terminal_id: TerminalId
    reason: CancelReason = Field(
        description="lock_timeout, card_rejected_arpc (EMV Book 3 6.5.4), actuator_error, "
        "or answer_lost: the dock never got the tap-on's answer and undoes it"
    )


class ReturnBody(_Strict):
    """``POST /v1/rentals/returns``: a tap-off (``emv_data``), a docked bike, or both."""

    model_config = ConfigDict(
        json_schema_extra={"example": {"terminal_id": "DOCK9", "dock_id": "D1", "bike_id": "B1042"}}
    )

    terminal_id: TerminalId
    dock_id: UnitId
    bike_id: UnitId | None = None
    emv_data: EmvData | None = Field(
        default=None, description="Tap-off: an account verification (amount 0) of the rider"
    )
    ended_at: Moment | None = Field(default=None, description="A late return: when it docked")

    @model_validator(mode="after")
    def _someone(self) -> ReturnBody:
        if self.bike_id is None and self.emv_data is None:
            raise ValueError("give bike_id, emv_data (a tap-off), or both")
        return self


class ReturnResponse(BaseModel):
    """The price of the ride, what the hold paid, and what is owed."""

    rental_id: str
    state: RentalState
    fare: int
    captured: int
    debt: int
    debt_id: str | None
    currency: str
    minutes: int = Field(description="Started minutes of the ride")
    lost: bool = Field(description="Over the maximum duration: priced as a lost bike")
    message: str


class RentalBody(BaseModel):
    """A rental."""

    rental_id: str
    state: RentalState
    merchant_id: str
    terminal_id: str
    dock_id: str
    bike_id: str
    par: str | None
    authorization_id: str | None
    payment_id: str | None = Field(description="The deposit's pre-authorization, if approved")
    deposit: int
    currency: str
    offline: bool
    created_at: str
    started_at: str | None
    ended_at: str | None
    end_terminal_id: str | None
    end_dock_id: str | None
    fare: int | None
    captured: int
    debt: int
    minutes: int | None
    lost: bool
    cancel_reason: str | None


class TariffBody(BaseModel):
    """The operator's bike tariff; amounts in minor units of ``currency``."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "merchant_id": "BIKES",
                "currency": "EUR",
                "deposit": 5000,
                "unlock_fee": 100,
                "per_started_minute": 20,
                "free_minutes": 30,
                "daily_cap": 1500,
                "max_duration_minutes": 4320,
                "lost_bike_charge": 50000,
            }
        }
    )

    merchant_id: str = Field(description="The operator")
    currency: str
    deposit: int = Field(description="The hold a tap-on asks the card for")
    unlock_fee: int
    per_started_minute: int
    free_minutes: int
    daily_cap: int | None = Field(description="Most charged per started 24 h; null: no cap")
    max_duration_minutes: int = Field(description="Longer rides are priced as a lost bike")
    lost_bike_charge: int


class RentalPage(Page[RentalBody]):
    """One page of rentals, oldest first."""


class DebtPaymentBody(_Strict):
    """``POST /v1/debts/{id}/payments``: a sale of exactly the debt's amount."""

    terminal_id: TerminalId
    amount: Amount
    currency: Currency
    emv_data: EmvData


class DebtPaymentResponse(BaseModel):
    """The sale's decision and the debt's status after it."""

    debt_id: str
    approved: bool
    reason: str
    message: str
    issuer_authentication_data: str | None
    authorization_id: str | None
    status: DebtStatus
    amount: int
    currency: str


class DebtBody(BaseModel):
    """A rider's debt to an operator."""

    debt_id: str
    rental_id: str
    merchant_id: str
    par: str | None
    amount: int
    currency: str
    status: DebtStatus
    created_at: str
    paid_at: str | None
    payment_id: str | None


class DebtPage(Page[DebtBody]):
    """One page of debts, oldest first."""


class DeniedBody(BaseModel):
    """An account the docks refuse offline."""

    par: str
    reason: str
    created_at: str


class DenyListPage(Page[DeniedBody]):
    """One page of the deny list, by PAR."""
