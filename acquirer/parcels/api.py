"""HTTP routes of parcel lockers: a thin layer over :class:`~acquirer.parcels.service.ParcelService`.

- ``POST /v1/parcels``: a courier terminal registers a parcel (answer holds the pickup code).
- ``POST /v1/parcels/pickups``: the locker: a verified tap or a pickup code -> open / pay / refused.
- ``POST /v1/parcels/{id}/payments``: the locker: the sale for what the parcel owes.
- ``POST /v1/parcels/{id}/payments/reversals``: the locker: undo that sale by its original
  ``Idempotency-Key`` (the card rejected the answer, or it was lost) while the door is shut.
- ``POST /v1/parcels/{id}/door-events``: the locker: opened, closed, jammed, left_open.
- ``GET  /v1/parcels?terminal_id=&state=&locker_id=&cursor=&limit=``: parcels at the lockers of
  the terminal's merchant, by id, one page as :mod:`acquirer.pagination` says.
- ``GET  /v1/parcels/{id}?terminal_id=`` and ``/v1/parcels/{id}/audit?terminal_id=``.

Every POST requires ``Idempotency-Key`` and is replayed byte for byte
(``Idempotent-Replayed: true``); errors are problem details (RFC 9457).
"""

from __future__ import annotations

import binascii
import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from acquirer.auth import TerminalCheck, terminal_for
from acquirer.idempotency import IdempotencyKeyHeader, answer_response, idempotency_key
from acquirer.pagination import Cursor, Limit, Page
from acquirer.parcels.reversals import ParcelReversals
from acquirer.parcels.rows import CompartmentSize, ParcelState
from acquirer.parcels.rules import DoorEvent, PickupAction
from acquirer.parcels.service import ParcelService, Registration
from acquirer.payments.schemas import MAX_AMOUNT, MAX_EMV_DATA_BYTES, TerminalId
from acquirer.problems import problem_responses
from emvcore.currency import currency as currency_of
from emvcore.errors import EncodingError

#: The calling terminal, checked for the action of the route (acquirer.auth.terminal_for).
AnyTerminal = Annotated[TerminalCheck, Depends(terminal_for(None))]
CourierTerminal = Annotated[TerminalCheck, Depends(terminal_for("courier"))]
LockerTerminal = Annotated[TerminalCheck, Depends(terminal_for("locker"))]
PARCEL_ID_PATTERN = r"^parcel_[0-9A-HJKMNP-TV-Z]{26}$"
ParcelId = Annotated[str, Path(pattern=PARCEL_ID_PATTERN, description="The parcel id")]
TerminalQuery = Annotated[str, Query(pattern=r"^[A-Za-z0-9]{1,16}$")]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 alphabetic code")]
EmvData = Annotated[
    str,
    Field(
        min_length=2,
        max_length=2 * MAX_EMV_DATA_BYTES,
        pattern=r"^(?:[0-9A-Fa-f]{2})+$",
        description="The tap's EMV data record (BER-TLV) in hexadecimal",
    ),
]
_POST_ERRORS = problem_responses(400, 401, 403, 404, 409, 413, 415, 422, 503)
_GET_ERRORS = problem_responses(401, 403, 404, 422)


def _known(value: str | None) -> str | None:
    if value is not None:
        try:
            currency_of(value)
        except EncodingError:
            raise ValueError("unknown or unsupported ISO 4217 currency") from None
    return value


class RegisterParcelBody(BaseModel):
    """``POST /v1/parcels``: a courier terminal puts a parcel in a locker."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "example": {
                "terminal_id": "COURIER1",
                "locker_id": "LOCKER01",
                "size": "M",
                "recipient_par": "V0010013822123456789012345678",
                "pickup_code": True,
                "cod_amount": 1990,
                "currency": "EUR",
                "reference": "TRACK-0001",
            }
        },
    )

    terminal_id: TerminalId
    locker_id: TerminalId
    size: Annotated[CompartmentSize, Field(strict=False, description="S, M or L")]
    recipient_par: Annotated[
        str | None,
        Field(pattern=r"^[A-Za-z0-9]{1,35}$", description="The recipient's PAR (tag 9F24)"),
    ] = None
    pickup_code: Annotated[bool, Field(description="Issue a one-time 6-digit pickup code")] = False
    cod_amount: Annotated[
        int, Field(ge=0, le=MAX_AMOUNT, description="Cash on delivery, minor units")
    ] = 0
    currency: Currency
    reference: Annotated[
        str, Field(pattern=r"^[A-Za-z0-9._:/-]{1,64}$", description="The courier's reference")
    ]

    _currency = field_validator("currency")(_known)

    @model_validator(mode="after")
    def _someone_can_pick_up(self) -> RegisterParcelBody:
        if self.recipient_par is None and not self.pickup_code:
            raise ValueError("give recipient_par, pickup_code true, or both")
        return self


class RegisterParcelResponseBody(BaseModel):
    """The registered parcel; ``pickup_code`` is in this answer only (and its replays)."""

    parcel_id: str = Field(pattern=PARCEL_ID_PATTERN)
    locker_id: str
    compartment: str
    size: CompartmentSize
    state: ParcelState
    pickup_code: str | None = Field(description="6 digits for the recipient, or null")
    recipient_par: str | None
    cod_amount: int
    currency: str
    reference: str
    registered_at: datetime


class PickupBody(BaseModel):
    """``POST /v1/parcels/pickups``: exactly one of ``emv_data`` and ``pickup_code``."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "example": {"terminal_id": "LOCKER01", "emv_data": "9F02060000...", "release": "all"}
        },
    )

    terminal_id: TerminalId
    emv_data: Annotated[
        EmvData | None,
        Field(description="An account verification tap (amount 0) of the recipient's card"),
    ] = None
    pickup_code: Annotated[str | None, Field(pattern=r"^[0-9]{6}$")] = None
    currency: Annotated[
        Currency | None,
        Field(description="Currency of the verification (default: the operator's)"),
    ] = None
    release: Annotated[
        Literal["oldest", "all"],
        Field(description="oldest: one parcel per tap; all: every parcel with nothing due"),
    ] = "oldest"

    _currency = field_validator("currency")(_known)

    @model_validator(mode="after")
    def _one_identification(self) -> PickupBody:
        if (self.emv_data is None) == (self.pickup_code is None):
            raise ValueError("give exactly one of emv_data and pickup_code")
        return self


class ParcelPaymentBody(BaseModel):
    """``POST /v1/parcels/{id}/payments``: the second tap, for exactly the amount due."""

    model_config = ConfigDict(strict=True, extra="forbid")

    terminal_id: TerminalId
    amount: Annotated[int, Field(ge=1, le=MAX_AMOUNT, description="Minor units")]
    currency: Currency
    emv_data: EmvData

    _currency = field_validator("currency")(_known)


class ParcelReversalBody(BaseModel):
    """``POST /v1/parcels/{id}/payments/reversals``: undo a payment by the key it was sent with."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "example": {
                "terminal_id": "LOCKER01",
                "original_idempotency_key": "6f1c2a4e-8d0b-4d8e-9a43-5b2f0c1d7e19",
            }
        },
    )

    terminal_id: TerminalId
    original_idempotency_key: Annotated[
        str,
        Field(
            pattern=r"^[A-Za-z0-9._:-]{1,64}$",
            description="The Idempotency-Key of the POST /v1/parcels/{id}/payments to undo",
        ),
    ]


class ParcelReversalResponseBody(BaseModel):
    """The parcel is ``waiting`` again; the sale reversed, the storage fee moved back."""

    operation_id: str
    parcel_id: str
    state: ParcelState
    authorization_id: str = Field(description="The reversed sale (its payment id)")
    reversal_operation_id: str = Field(description="The payment lifecycle's reversal operation")
    payment_status: str = Field(description="The sale's status after the reversal: reversed")
    amount: int = Field(description="Reversed, minor units")
    storage_fee: int = Field(description="Storage-fee part moved back, minor units")
    currency: str
    created_at: datetime


class DoorEventBody(BaseModel):
    """``POST /v1/parcels/{id}/door-events``: what the compartment door reported."""

    model_config = ConfigDict(strict=True, extra="forbid")

    terminal_id: TerminalId
    event: Annotated[DoorEvent, Field(strict=False)]
    at: Annotated[AwareDatetime, Field(strict=False, description="When the door reported it")]


class OpenedParcelBody(BaseModel):
    """A parcel whose compartment the locker opens."""

    parcel_id: str
    compartment: str


class PickupResponseBody(BaseModel):
    """What the locker does: ``open`` the listed compartments, ask to ``pay``, or ``refused``."""

    operation_id: str
    action: PickupAction
    reason: str = Field(
        description="approved, payment_due, no_parcel_waiting, pickup_code_invalid, "
        "pickup_code_locked, or an authorization's decline reason"
    )
    message: str = Field(description="For the locker's display")
    parcels: list[OpenedParcelBody]
    parcel_id: str | None = Field(description="With action pay: the parcel to pay for")
    amount_due: int | None
    cod_amount: int | None
    storage_fee: int | None
    currency: str | None
    authorization_id: str | None
    issuer_authentication_data: str | None = Field(description="Tag 91 for the card, hex")
    par: str | None
    created_at: datetime


class DoorEventResponseBody(BaseModel):
    """The parcel after a door event."""

    operation_id: str
    parcel_id: str
    event: DoorEvent
    at: datetime
    state: ParcelState
    compartment: str
    compartment_free: bool
    created_at: datetime


class ParcelBody(BaseModel):
    """A parcel as its locker's operator sees it; amounts in minor units."""

    parcel_id: str
    locker_id: str
    compartment: str
    state: ParcelState
    reference: str
    courier_terminal_id: str
    recipient_par: str | None
    has_pickup_code: bool
    cod_amount: int
    currency: str
    storage_fee: int = Field(description="Storage fee if picked up now")
    amount_due: int = Field(description="What a pickup now would ask for")
    amount_paid: int
    storage_fee_paid: int
    payment_id: str | None
    jams: int
    registered_at: datetime
    released_at: datetime | None
    opened_at: datetime | None
    collected_at: datetime | None


class ParcelPageBody(Page[ParcelBody]):
    """One page of parcels, oldest first."""


class AuditEventBody(BaseModel):
    """One audited action."""

    event_id: str
    at: datetime
    terminal_id: str
    action: str
    detail: dict[str, Any]


class AuditBody(BaseModel):
    """A parcel's audit trail, oldest first."""

    parcel_id: str
    events: list[AuditEventBody]


def _json(body: dict[str, Any]) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")


def _hex(value: str, field: str) -> bytes:
    try:
        return binascii.unhexlify(value)
    except binascii.Error:  # the schema's pattern makes this unreachable
        raise RequestValidationError(
            [{"loc": ("body", field), "msg": "not hexadecimal", "type": "value_error"}]
        ) from None


def parcels_router(service: ParcelService) -> APIRouter:
    """The parcel routes, bound to ``service``."""
    router = APIRouter(tags=["parcels"])

    @router.post("/v1/parcels", response_model=RegisterParcelResponseBody, responses=_POST_ERRORS)
    def register(
        allowed: CourierTerminal, body: RegisterParcelBody, key: IdempotencyKeyHeader
    ) -> Response:
        """Register a parcel: the smallest free compartment of that size, else a larger one.

        Only a terminal with the action ``courier``. The one-time ``pickup_code`` is in this
        answer only; ``409 no_compartment_free`` when nothing fits.
        """
        allowed(body.terminal_id)
        registration = Registration(
            locker_id=body.locker_id,
            size=body.size,
            recipient_par=body.recipient_par,
            pickup_code=body.pickup_code,
            cod_amount=body.cod_amount,
            currency=body.currency,
            reference=body.reference,
        )
        return answer_response(
            service.register(body.terminal_id, idempotency_key(key), registration)
        )

    @router.post("/v1/parcels/pickups", response_model=PickupResponseBody, responses=_POST_ERRORS)
    def pickup(allowed: LockerTerminal, body: PickupBody, key: IdempotencyKeyHeader) -> Response:
        """A recipient at the locker: a verified tap (amount 0) or a pickup code.

        ``open``: open the listed compartments. ``pay``: run a sale for ``amount_due`` and
        post it to ``/v1/parcels/{parcel_id}/payments``. ``refused``: show ``message``.
        """
        allowed(body.terminal_id)
        release_all = body.release == "all"
        parsed = idempotency_key(key)
        if body.pickup_code is not None:
            outcome = service.pickup_by_code(
                body.terminal_id, parsed, body.pickup_code, release_all
            )
        else:
            emv = _hex(body.emv_data or "", "emv_data")
            outcome = service.pickup_by_card(
                body.terminal_id, parsed, emv, body.currency, release_all
            )
        return answer_response(outcome)

    @router.post(
        "/v1/parcels/{parcel_id}/payments",
        response_model=PickupResponseBody,
        responses=_POST_ERRORS,
    )
    def pay(
        allowed: LockerTerminal,
        parcel_id: ParcelId,
        body: ParcelPaymentBody,
        key: IdempotencyKeyHeader,
    ) -> Response:
        """Pay exactly what the parcel owes (after a pickup answered ``pay``): a sale.

        Approved: ``open``. Declined: ``refused`` with the authorization's reason.
        ``409 amount_due_mismatch`` for any other amount.
        """
        allowed(body.terminal_id)
        emv = _hex(body.emv_data, "emv_data")
        return answer_response(
            service.pay(
                body.terminal_id, idempotency_key(key), parcel_id, body.amount, body.currency, emv
            )
        )

    @router.post(
        "/v1/parcels/{parcel_id}/door-events",
        response_model=DoorEventResponseBody,
        responses=_POST_ERRORS,
    )
    def door_event(
        allowed: LockerTerminal, parcel_id: ParcelId, body: DoorEventBody, key: IdempotencyKeyHeader
    ) -> Response:
        """The compartment door reported an event; ``opened`` then ``closed`` collects."""
        allowed(body.terminal_id)
        return answer_response(
            service.door_event(
                body.terminal_id, idempotency_key(key), parcel_id, body.event, body.at
            )
        )

    @router.get("/v1/parcels", response_model=ParcelPageBody, responses=_GET_ERRORS)
    def list_parcels(
        allowed: AnyTerminal,
        terminal_id: TerminalQuery,
        state: ParcelState | None = None,
        locker_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9]{1,16}$")] = None,
        cursor: Cursor = None,
        limit: Limit = 100,
    ) -> Response:
        """Parcels at the lockers of the terminal's merchant (e.g. ``state=waiting``), by id."""
        allowed(terminal_id)
        page = service.list(
            terminal_id, state=state, locker_id=locker_id, cursor=cursor, limit=limit
        )
        return _json(page)

    @router.get("/v1/parcels/{parcel_id}", response_model=ParcelBody, responses=_GET_ERRORS)
    def get_parcel(
        allowed: AnyTerminal, parcel_id: ParcelId, terminal_id: TerminalQuery
    ) -> Response:
        """A parcel, for its locker's operator or the courier terminal that registered it."""
        allowed(terminal_id)
        return _json(service.get(terminal_id, parcel_id))

    @router.get("/v1/parcels/{parcel_id}/audit", response_model=AuditBody, responses=_GET_ERRORS)
    def audit(allowed: AnyTerminal, parcel_id: ParcelId, terminal_id: TerminalQuery) -> Response:
        """Every action on the parcel: registration, pickups, payments, door events."""
        allowed(terminal_id)
        return _json(service.audit(terminal_id, parcel_id))

    return router


def parcel_reversals_router(service: ParcelReversals) -> APIRouter:
    """The reversal of parcel payments, bound to ``service``."""
    router = APIRouter(tags=["parcels"])

    @router.post(
        "/v1/parcels/{parcel_id}/payments/reversals",
        response_model=ParcelReversalResponseBody,
        responses=_POST_ERRORS,
    )
    def reverse_payment(
        allowed: LockerTerminal,
        parcel_id: ParcelId,
        body: ParcelReversalBody,
        key: IdempotencyKeyHeader,
    ) -> Response:
        """Undo the parcel's payment sent under ``original_idempotency_key``: the card
        rejected the issuer's answer (EMV Book 3 6.5.4) or the answer was lost.

        The sale is reversed, the storage fee moved back and the parcel is ``waiting``
        again (the next pickup asks for the payment again), in one transaction.
        ``404 payment_unknown``: no approved payment of the parcel under that key.
        ``409 parcel_state_conflict``: the door already opened, or already reversed.
        """
        allowed(body.terminal_id)
        return answer_response(
            service.reverse(
                body.terminal_id, idempotency_key(key), parcel_id, body.original_idempotency_key
            )
        )

    return router
