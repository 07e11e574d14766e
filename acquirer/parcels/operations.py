"""The machinery shared by the parcel requests of :mod:`acquirer.parcels.service`.

Every state-changing parcel request is a *parcel operation*: kept with its idempotency key,
answered once and replayed byte for byte, audited, and refused while the same key runs
(:meth:`ParcelCore.operate`). This module holds that machinery and the answer bodies; the
business rules are in :mod:`acquirer.parcels.rules`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from acquirer.clock import format_timestamp, utc_now
from acquirer.errors import (
    LockerNotFoundError,
    StoreError,
)
from acquirer.idempotency import InFlight, StoredAnswer, check_same_request
from acquirer.ids import new_id
from acquirer.parcels.binding import ParcelBoundStore, authorization_fields, authorization_key
from acquirer.parcels.rows import (
    ParcelOperationRequest,
    ParcelOperationRow,
    ParcelRow,
    ParcelState,
    ParcelStore,
    ParcelTx,
)
from acquirer.parcels.rules import (
    Due,
    PickupAction,
    PickupCodes,
    message,
)
from acquirer.payments.rows import AuthorizationRow, Intent
from acquirer.payments.service import AuthorizationRequest, AuthorizationService
from acquirer.registry import TerminalRow, TerminalStatus

log = logging.getLogger("acquirer.parcels.service")


#: Stands for the pickup code in a stored registration answer; the code is derived again.
CODE_PLACEHOLDER = '"pickup_code":"******"'
#: States a pickup finds (a released parcel whose door jammed is opened again).
PICKABLE = (ParcelState.WAITING, ParcelState.RELEASED)


def dumps(body: dict[str, Any]) -> str:
    """A response body as stored and sent: compact JSON."""
    return json.dumps(body, separators=(",", ":"))


class ParcelCore:
    """The machinery every parcel request shares: idempotent operations, audit, answers.

    :class:`~acquirer.parcels.service.ParcelService` is this plus its requests (registration, reads,
    door events here and pickups and payments in :class:`~acquirer.parcels.pickups.ParcelPickups`).
    """

    def __init__(
        self,
        store: ParcelStore,
        bound: ParcelBoundStore,
        authorizer: AuthorizationService,
        codes: PickupCodes,
        *,
        clock: Callable[[], datetime] = utc_now,
        in_flight: InFlight | None = None,
    ) -> None:
        self._store = store
        self._bound = bound
        self._authorizer = authorizer
        self._codes = codes
        self._clock = clock
        self._in_flight = in_flight or InFlight()

    # -- the common machinery -------------------------------------------------------------

    def _locker(self, terminal_id: str) -> TerminalRow:
        return active_locker(self._store.get_terminal(terminal_id), terminal_id)

    def _operation(
        self, kind: str, terminal_id: str, key: str, parcel_id: str | None
    ) -> ParcelOperationRequest:
        now = self._clock()
        return ParcelOperationRequest(
            new_id("pop_", now), terminal_id, key, kind, parcel_id, "", now
        )

    def operate(
        self,
        kind: str,
        terminal_id: str,
        key: str,
        parcel_id: str | None,
        fields: dict[str, Any],
        work: Callable[[ParcelTx, ParcelOperationRequest], str],
    ) -> StoredAnswer:
        """Run ``work`` as one idempotent parcel operation of ``kind`` (one transaction,
        answer stored under the key and replayed); for steps built outside this class."""
        return self._operate(kind, terminal_id, key, parcel_id, fields, work)

    def _operate(
        self,
        kind: str,
        terminal_id: str,
        key: str,
        parcel_id: str | None,
        fields: dict[str, Any],
        work: Callable[[ParcelTx, ParcelOperationRequest], str],
    ) -> StoredAnswer:
        request_hash = self._codes.request_hash(kind, fields)
        op = dataclasses.replace(
            self._operation(kind, terminal_id, key, parcel_id), request_hash=request_hash
        )
        with self._in_flight.claim("parcel", terminal_id, key):
            result = self._store.run_parcel_operation(op, lambda ptx: work(ptx, op))
        return self._outcome(result.row, request_hash, op)

    def _with_card(
        self,
        kind: str,
        terminal_id: str,
        key: str,
        parcel_id: str | None,
        fields: dict[str, Any],
        amount: int,
        currency: str,
        emv_data: bytes,
        intent: Intent,
        work: Callable[[ParcelTx, ParcelOperationRequest, AuthorizationRow], str],
    ) -> StoredAnswer:
        request_hash = self._codes.request_hash(kind, fields)
        op = dataclasses.replace(
            self._operation(kind, terminal_id, key, parcel_id), request_hash=request_hash
        )
        with self._in_flight.claim("parcel", terminal_id, key):
            prior = self._store.find_parcel_operation(terminal_id, key)
            if prior is None:
                with self._bound.binding(op, lambda ptx, row: work(ptx, op, row)):
                    self._authorizer.authorize(
                        AuthorizationRequest(
                            terminal_id=terminal_id,
                            idempotency_key=authorization_key(key),
                            amount=amount,
                            currency=currency,
                            emv_data=emv_data,
                            intent=intent,
                        )
                    )
                prior = self._store.find_parcel_operation(terminal_id, key)
                if prior is None:
                    raise StoreError("the parcel operation was not recorded with its authorization")
        return self._outcome(prior, request_hash, op)

    def _outcome(
        self, row: ParcelOperationRow, request_hash: str, op: ParcelOperationRequest
    ) -> StoredAnswer:
        check_same_request(row.request_hash, request_hash)
        replayed = row.id != op.id
        log.info(
            "parcel %s %s parcel=%s terminal=%s%s",
            row.kind,
            row.id,
            row.parcel_id,
            row.terminal_id,
            " (replayed)" if replayed else "",
        )
        body = row.response_json
        if row.parcel_id is not None and CODE_PLACEHOLDER in body:
            code = self._codes.code_for(row.parcel_id)
            body = body.replace(CODE_PLACEHOLDER, f'"pickup_code":"{code}"')
        return StoredAnswer(body, replayed)

    def _audit(
        self,
        ptx: ParcelTx,
        op: ParcelOperationRequest,
        action: str,
        locker_id: str,
        parcel_id: str | None,
        detail: dict[str, Any],
    ) -> None:
        text = dumps({"operation_id": op.id, **detail})
        ptx.audit(op.terminal_id, action, locker_id, parcel_id, text)

    def _refused(
        self, op: ParcelOperationRequest, reason: str, row: AuthorizationRow | None
    ) -> str:
        return self._answer(op, PickupAction.REFUSED, reason, row)

    @staticmethod
    def _answer(
        op: ParcelOperationRequest,
        action: PickupAction,
        reason: str,
        row: AuthorizationRow | None,
        *,
        opened: Sequence[ParcelRow] = (),
        parcel_id: str | None = None,
        due: Due | None = None,
    ) -> str:
        body: dict[str, Any] = {
            "operation_id": op.id,
            "action": action.value,
            "reason": reason,
            "message": message(reason),
            "parcels": [{"parcel_id": p.id, "compartment": p.compartment_id} for p in opened],
            "parcel_id": parcel_id,
            "amount_due": None if due is None else due.total,
            "cod_amount": None if due is None else due.cod_amount,
            "storage_fee": None if due is None else due.storage_fee,
            "currency": None if due is None else due.currency,
            **authorization_fields(row),
            "created_at": format_timestamp(op.created_at),
        }
        return dumps(body)


def active_locker(terminal: TerminalRow | None, locker_id: str) -> TerminalRow:
    """The terminal, if it is an active locker; else :class:`~acquirer.errors.LockerNotFoundError`."""
    if (
        terminal is None
        or terminal.status is not TerminalStatus.ACTIVE
        or "locker" not in terminal.actions
    ):
        raise LockerNotFoundError(f"no active terminal {locker_id} with the action locker")
    return terminal
