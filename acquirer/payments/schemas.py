"""The JSON shapes of the acquirer's HTTP API (pydantic models, also its OpenAPI schema).

Request models are strict: ``amount`` must be a JSON integer (not a float, not a string,
not a boolean), unknown fields are refused, and every string has a pattern and a length
bound, so what reaches the service is exactly what the contract allows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from acquirer.clock import format_timestamp
from acquirer.payments.reasons import Reason
from acquirer.payments.rows import Intent, OperationKind, PaymentStatus
from emvcore.currency import currency
from emvcore.errors import EncodingError

#: Largest EMV data record accepted, in bytes (hex digits: twice this).
MAX_EMV_DATA_BYTES = 4096
#: A merchant's reference (order id): 1-64 printable ASCII characters (space to tilde).
REFERENCE_PATTERN = r"^[ -~]{1,64}$"
#: Largest amount: 12 digits, the capacity of tag 9F02 (n12).
MAX_AMOUNT = 999_999_999_999


class AuthorizationRequestBody(BaseModel):
    """``POST /v1/authorizations`` request body."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "example": {
                "terminal_id": "SHOP0001",
                "amount": 1250,
                "currency": "EUR",
                "emv_data": "5A0848953700123456789F3602001C...",
            }
        },
    )

    terminal_id: Annotated[
        str,
        Field(
            pattern=r"^[A-Za-z0-9]{1,16}$", description="The terminal's id, 1-16 letters or digits"
        ),
    ]
    amount: Annotated[
        int,
        Field(ge=0, le=MAX_AMOUNT, description="Amount in minor units of the currency (integer)"),
    ]
    currency: Annotated[
        str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 alphabetic code, e.g. EUR")
    ]
    emv_data: Annotated[
        str,
        Field(
            min_length=2,
            max_length=2 * MAX_EMV_DATA_BYTES,
            pattern=r"^(?:[0-9A-Fa-f]{2})+$",
            description="The transaction's EMV data record (BER-TLV) in hexadecimal",
        ),
    ]
    intent: Annotated[
        Intent,
        Field(
            strict=False,  # FastAPI validates decoded JSON in Python mode: accept the value
            description="sale (captured at once, the default), preauthorization (a hold, "
            "completed later with capture) or account_verification (amount 0: identifies the "
            "card's account, moves no money)",
        ),
    ] = Intent.SALE
    reference: Annotated[
        str | None,
        Field(
            pattern=REFERENCE_PATTERN,
            description="The merchant's reference (order id): 1-64 printable ASCII characters",
        ),
    ] = None

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        try:
            currency(value)
        except EncodingError:
            raise ValueError("unknown or unsupported ISO 4217 currency") from None
        return value

    @model_validator(mode="after")
    def _zero_only_to_verify(self) -> AuthorizationRequestBody:
        """A zero amount is an account verification, never a sale or a hold (a 422)."""
        if self.amount == 0 and self.intent is not Intent.ACCOUNT_VERIFICATION:
            raise ValueError(
                "a zero amount is an account verification: send intent account_verification"
            )
        return self


#: A timestamp as the answers carry it (:func:`~acquirer.clock.format_timestamp`: ISO 8601
#: UTC with milliseconds), documented as an RFC 3339 date-time.
Timestamp = Annotated[
    datetime,
    PlainSerializer(format_timestamp, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class AuthorizationResponseBody(BaseModel):
    """``POST /v1/authorizations`` response: the fields the terminal reads."""

    authorization_id: str = Field(pattern=r"^auth_[0-9A-HJKMNP-TV-Z]{26}$")
    approved: bool
    response_code: str = Field(description="ISO 8583 response code, also the ARC (tag 8A)")
    reason: Reason
    issuer_authentication_data: str | None = Field(
        description="Tag 91 value in hex; null when the cryptogram did not verify"
    )
    token_masked: str
    par: str | None = Field(description="Payment Account Reference (tag 9F24) of the token")
    atc: int | None = Field(description="The card's Application Transaction Counter")
    cryptogram_verified: bool
    created_at: Timestamp
    reference: str | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="The request's reference; present only when the request carried one",
    )


TerminalId = Annotated[
    str,
    Field(pattern=r"^[A-Za-z0-9]{1,16}$", description="The terminal's id, 1-16 letters or digits"),
]
#: An authorization id, which is also the id of the payment it opened.
PAYMENT_ID_PATTERN = r"^auth_[0-9A-HJKMNP-TV-Z]{26}$"


class AmountBody(BaseModel):
    """Body of increment (amount required), capture and refund (amount optional)."""

    model_config = ConfigDict(strict=True, extra="forbid")

    terminal_id: TerminalId
    amount: Annotated[
        int | None,
        Field(
            ge=1,
            le=MAX_AMOUNT,
            description="Minor units; omitted: the whole amount the operation allows",
        ),
    ] = None


class VoidBody(BaseModel):
    """Body of a void: only who asks."""

    model_config = ConfigDict(strict=True, extra="forbid")

    terminal_id: TerminalId


class ReversalBody(BaseModel):
    """``POST /v1/reversals``: reverse what an authorization request did, by its key.

    A terminal that timed out waiting for an answer does not know the authorization id;
    it names the idempotency key it sent instead.
    """

    model_config = ConfigDict(strict=True, extra="forbid")

    terminal_id: TerminalId
    original_idempotency_key: Annotated[str, Field(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
    amount: Annotated[
        int | None, Field(ge=1, le=MAX_AMOUNT, description="Partial reversal; omitted: full")
    ] = None


class PaymentBody(BaseModel):
    """A payment: the money side of an approved authorization."""

    id: str = Field(pattern=PAYMENT_ID_PATTERN)
    terminal_id: str
    intent: Intent
    status: PaymentStatus
    currency: str
    authorized: int = Field(description="Amount held or sold, in minor units")
    captured: int = Field(description="Amount owed to the merchant, in minor units")
    refunded: int
    token_masked: str
    par: str | None
    created_at: datetime
    updated_at: datetime
    reference: str | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="The merchant's reference; present only when the authorization had one",
    )


class OperationResponseBody(BaseModel):
    """The result of an operation on a payment."""

    operation_id: str = Field(pattern=r"^op_[0-9A-HJKMNP-TV-Z]{26}$")
    kind: OperationKind
    amount: int = Field(description="The amount the operation moved, in minor units")
    payment: PaymentBody
    created_at: datetime
