"""The store as the parcels' authorizations see it: a parcel step bound to the authorization.

A pickup by card or a parcel payment records an authorization through the ordinary
:class:`~acquirer.payments.service.AuthorizationService`; :class:`ParcelBoundStore` makes the parcel's
own step (its state, operation, audit events and storage-fee journal) run in the same
database transaction (:meth:`~acquirer.parcels.rows.ParcelStore.record_parcel_authorization`). The
authorization is recorded under ``parcel/<key>`` (:func:`authorization_key`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, cast

from acquirer.parcels.rows import (
    ParcelOperationRequest,
    ParcelStore,
    ParcelTx,
)
from acquirer.payments.ledger import Journal
from acquirer.payments.rows import (
    AtcClaim,
    AuthorizationRow,
    PaymentRow,
    RecordResult,
    VelocityCheck,
)
from acquirer.payments.service import AuthorizationResult


@dataclass(frozen=True, slots=True)
class _Pending:
    request: ParcelOperationRequest
    work: Callable[[ParcelTx, AuthorizationRow], str]


class ParcelBoundStore:
    """The store as the parcels' :class:`AuthorizationService` sees it.

    Everything is the real store's, except that while :meth:`binding` is active in this
    thread (a context variable), :meth:`record_authorization` also runs the parcel step, in
    the same database transaction (:meth:`Store.record_parcel_authorization`).
    """

    def __init__(self, store: ParcelStore) -> None:
        self._store = store
        self._pending: ContextVar[_Pending | None] = ContextVar("parcel_step", default=None)

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
        """The real store's, with the bound parcel step in the same transaction."""
        pending = self._pending.get()
        if pending is None:
            return self._store.record_authorization(row, claim, payment, journals, velocity)
        return self._store.record_parcel_authorization(
            row,
            claim,
            payment,
            journals,
            pending.request,
            lambda ptx: pending.work(ptx, row),
            velocity,
        )

    @contextmanager
    def binding(
        self, request: ParcelOperationRequest, work: Callable[[ParcelTx, AuthorizationRow], str]
    ) -> Iterator[None]:
        """Bind a parcel step to the authorizations recorded in this context."""
        token = self._pending.set(_Pending(request, work))
        try:
            yield
        finally:
            self._pending.reset(token)


def authorization_key(idempotency_key: str) -> str:
    """The key a parcel request's authorization is recorded under, for its terminal.

    >>> authorization_key("k-1")
    'parcel/k-1'
    """
    return f"parcel/{idempotency_key}"


def authorization_fields(row: AuthorizationRow | None) -> dict[str, Any]:
    """The authorization's part of a pickup or payment answer (tag 91 for the card)."""
    if row is None:
        return {"authorization_id": None, "issuer_authentication_data": None, "par": None}
    return {
        "authorization_id": row.id,
        "issuer_authentication_data": AuthorizationResult.from_json(row.response_json).tag_91,
        "par": row.par,
    }


def bound_store(store: ParcelStore) -> tuple[ParcelBoundStore, ParcelStore]:
    """A :class:`ParcelBoundStore` over ``store``, and the same object typed as a ParcelStore."""
    bound = ParcelBoundStore(store)
    return bound, cast(ParcelStore, bound)
