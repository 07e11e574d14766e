"""HTTP routes of settlement: a terminal closes its batch and reads its report.

- ``POST /v1/settlement/batches`` (``Idempotency-Key`` required): close the terminal's batch.
- ``GET  /v1/settlement/batches/{id}?terminal_id=``: the batch report (totals by kind).
- ``GET  /v1/settlement/batches/{id}/lines.csv?terminal_id=``: the batch's journals as CSV.

Merchant-wide batches are closed by the operator (``tap-acquirer settlement close``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from acquirer.auth import TerminalCheck, terminal_for
from acquirer.idempotency import IdempotencyKeyHeader, idempotency_key
from acquirer.payments.rows import BatchScope
from acquirer.payments.schemas import TerminalId
from acquirer.payments.settlement import SettlementService, batch_json, lines_csv
from acquirer.problems import problem_responses

if TYPE_CHECKING:
    from acquirer.payments.services import PaymentServices

#: The calling terminal, checked for the action of the route (acquirer.auth.terminal_for).
AnyTerminal = Annotated[TerminalCheck, Depends(terminal_for(None))]
BatchId = Annotated[str, Path(pattern=r"^batch_[0-9A-HJKMNP-TV-Z]{26}$")]
TerminalQuery = Annotated[str, Query(pattern=r"^[A-Za-z0-9]{1,16}$")]


class CloseBatchBody(BaseModel):
    """``POST /v1/settlement/batches``: who closes its batch."""

    model_config = ConfigDict(strict=True, extra="forbid")

    terminal_id: TerminalId


class BatchTotalBody(BaseModel):
    """Totals of one journal kind in one currency, minor units."""

    kind: str = Field(description="sale, capture, cancel or refund")
    currency: str
    count: int
    gross: int = Field(description="Change in what the schemes owe (refunds negative)")
    fees: int
    net: int = Field(description="What the merchant is paid: gross - fees")


class BatchBody(BaseModel):
    """A closed settlement batch."""

    batch_id: str
    scope: BatchScope
    scope_id: str
    closed_at: str
    totals: list[BatchTotalBody]


def _settlement(request: Request) -> SettlementService:
    services: PaymentServices = request.app.state.payments
    return services.settlement


Settlement = Annotated[SettlementService, Depends(_settlement)]


router = APIRouter(tags=["settlement"])


@router.post(
    "/v1/settlement/batches",
    response_model=BatchBody,
    responses=problem_responses(400, 401, 403, 404, 409, 422, 503),
)
def close_batch(
    allowed: AnyTerminal, body: CloseBatchBody, key: IdempotencyKeyHeader, service: Settlement
) -> Response:
    """Close the terminal's batch: every unsettled sale, capture, cancel and refund."""
    allowed(body.terminal_id)
    batch, replayed = service.close(BatchScope.TERMINAL, body.terminal_id, idempotency_key(key))
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return Response(batch_json(batch), media_type="application/json", headers=headers)


@router.get(
    "/v1/settlement/batches/{batch_id}",
    response_model=BatchBody,
    responses=problem_responses(401, 403, 404, 422),
)
def get_batch(
    allowed: AnyTerminal, batch_id: BatchId, terminal_id: TerminalQuery, service: Settlement
) -> Response:
    """The report of one of the terminal's batches."""
    allowed(terminal_id)
    return Response(batch_json(service.get(batch_id, terminal_id)), media_type="application/json")


@router.get(
    "/v1/settlement/batches/{batch_id}/lines.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **problem_responses(401, 403, 404, 422)},
)
def batch_lines(
    allowed: AnyTerminal, batch_id: BatchId, terminal_id: TerminalQuery, service: Settlement
) -> Response:
    """The batch's journals as CSV: one line per sale, capture, cancel or refund."""
    allowed(terminal_id)
    batch = service.get(batch_id, terminal_id)
    return Response(lines_csv(service.lines(batch)), media_type="text/csv; charset=utf-8")
