"""Status instead of guessing: what became of the request a terminal sent under a key.

A terminal whose answer was lost (timed out, connection reset, the terminal killed) asks,
as Adyen's TransactionStatus lets a POS ask::

    GET /v1/status/{kind}/{idempotency_key}?terminal_id=T
    200 {"terminal_id": T, "kind": kind, "idempotency_key": K,
         "status": "processed" | "in_progress" | "not_found", "answer": {...} | null}

``kind`` is one of the idempotency scopes: ``authorizations``, ``operations`` (payment
operations and reversals), ``rentals`` (bike requests), ``parcels`` (parcel operations). The
``answer`` of a processed request is the stored answer, the same JSON content the first
response carried (a replay of the request would return it byte for byte); ``null`` otherwise.
The terminal's journal resolves against this contract (:mod:`terminal.journal.resolve`).

Where the status comes from:

- ``processed``: a committed row under (terminal, key) in the scope's table, with its answer;
- ``in_progress``: the key is held in this process's :class:`~acquirer.idempotency.InFlight`
  registry (the request is being decided), or its row is committed without an answer yet;
- ``not_found``: neither. On PostgreSQL with several acquirer processes a request running in
  *another* process is not visible before it commits (its row is inserted in the same
  transaction that writes the answer), so it reads ``not_found``; that is safe, because the
  terminal then reverses by key (``POST /v1/reversals``), which waits on the unique index for
  that transaction and reverses what it approved, or bars the key so a late original is
  declined (:meth:`~acquirer.payments.service.AuthorizationService.bar_key`).

Only the terminal itself may ask about its keys: with client certificates required, another
terminal gets 403 (:class:`~acquirer.auth.TerminalCheck`).

Each domain declares the scopes it answers for (:class:`StatusSource` on its
:class:`~acquirer.domain.Domain`); the core routes the lookup (:data:`router`, over ``app.state.status``).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, Field

from acquirer.auth import TerminalCheck, terminal_for
from acquirer.errors import StoreError
from acquirer.idempotency import IDEMPOTENCY_KEY, InFlight
from acquirer.problems import problem_responses
from acquirer.store import Engine

__all__ = ["RequestStatus", "StatusBody", "StatusLookup", "StatusSource", "router"]


@dataclass(frozen=True, slots=True)
class StatusSource:
    """One idempotency scope a domain answers for.

    ``kind`` is the path segment, ``scope`` the :class:`~acquirer.idempotency.InFlight`
    scope its requests claim, ``table`` the table whose ``UNIQUE(terminal_id,
    idempotency_key)`` row holds the stored answer in ``response_json``.
    """

    kind: str
    scope: str
    table: str


class RequestStatus(enum.StrEnum):
    """What became of a request, as far as this acquirer knows."""

    PROCESSED = "processed"
    IN_PROGRESS = "in_progress"
    NOT_FOUND = "not_found"


class StatusBody(BaseModel):
    """``GET /v1/status/{kind}/{idempotency_key}`` response."""

    terminal_id: str
    kind: str
    idempotency_key: str
    status: RequestStatus
    answer: dict[str, Any] | None = Field(
        description="The stored answer of a processed request (the first response's JSON); "
        "null otherwise"
    )


class StatusLookup:
    """Answers status lookups over the domains' :class:`StatusSource` declarations."""

    def __init__(self, engine: Engine, in_flight: InFlight, sources: Iterable[StatusSource]):
        self._engine = engine
        self.in_flight = in_flight
        by_kind: dict[str, StatusSource] = {}
        for source in sources:
            if source.kind in by_kind:
                raise StoreError(f"two domains answer status lookups for {source.kind!r}")
            by_kind[source.kind] = source
        self.sources: Mapping[str, StatusSource] = MappingProxyType(by_kind)

    def lookup(self, kind: str, terminal_id: str, idempotency_key: str) -> dict[str, Any]:
        """The status document of one request (``kind`` must be one of :attr:`sources`)."""
        source = self.sources[kind]
        status, answer = RequestStatus.NOT_FOUND, None
        if self.in_flight.holds(source.scope, terminal_id, idempotency_key):
            status = RequestStatus.IN_PROGRESS
        else:
            sql = (
                f"SELECT response_json FROM {source.table} "  # noqa: S608 (a declared table)
                "WHERE terminal_id = ? AND idempotency_key = ?"
            )
            row = self._engine.read(lambda tx: tx.one(sql, [terminal_id, idempotency_key]))
            if row is not None and row["response_json"]:
                status, answer = RequestStatus.PROCESSED, json.loads(row["response_json"])
            elif row is not None:
                status = RequestStatus.IN_PROGRESS
        return {
            "terminal_id": terminal_id,
            "kind": kind,
            "idempotency_key": idempotency_key,
            "status": status.value,
            "answer": answer,
        }


AnyTerminal = Annotated[TerminalCheck, Depends(terminal_for(None))]


def _lookup(request: Request) -> StatusLookup:
    lookup: StatusLookup = request.app.state.status
    return lookup


Lookup = Annotated[StatusLookup, Depends(_lookup)]

#: The kinds every domain of this release answers for (the path's pattern; a kind no
#: mounted domain declares is a 422 as well, see :meth:`StatusLookup.lookup`).
KIND_PATTERN = r"^[a-z_]{1,32}$"

router = APIRouter(tags=["status"])


@router.get(
    "/v1/status/{kind}/{idempotency_key}",
    response_model=StatusBody,
    responses=problem_responses(401, 403, 422),
)
def request_status(
    allowed: AnyTerminal,
    kind: Annotated[
        str,
        Path(
            pattern=KIND_PATTERN,
            description="authorizations, operations, rentals or parcels",
        ),
    ],
    idempotency_key: Annotated[
        str, Path(pattern=f"^{IDEMPOTENCY_KEY.pattern}$", description="The key it was sent under")
    ],
    terminal_id: Annotated[str, Query(pattern=r"^[A-Za-z0-9]{1,16}$")],
    lookup: Lookup,
) -> Response:
    """What became of the request this terminal sent under ``idempotency_key``."""
    if kind not in lookup.sources:
        raise RequestValidationError(
            [{"loc": ("path", "kind"), "msg": "unknown kind", "type": "value_error"}]
        )
    allowed(terminal_id)
    body = lookup.lookup(kind, terminal_id, idempotency_key)
    return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")
