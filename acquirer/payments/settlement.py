"""Settlement: closing batches of captured money, their totals, report and CSV export.

At the end of a day a terminal (or the operator, for a whole merchant) *closes a batch*:
every money journal not yet settled (sales and captures, cancels, refunds; holds are not
money) goes into it, and the batch's totals by kind say what the schemes owe, what the
acquirer keeps as fees, and what the merchant is paid. A closed batch never changes (the
database refuses it, see :mod:`acquirer.payments.sql.settlement`); a void or reversal of a
payment whose capture is settled is refused, and a refund settles in a later batch.
Closing is idempotent: the same key returns the same batch.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from datetime import datetime

from acquirer.clock import format_timestamp, utc_now
from acquirer.errors import BatchNotFoundError, SettlementScopeNotFoundError
from acquirer.ids import new_id
from acquirer.payments.rows import BatchLine, BatchRow, BatchScope
from acquirer.payments.store import PaymentStore

CSV_COLUMNS = (
    "journal_id",
    "payment_id",
    "terminal_id",
    "kind",
    "currency",
    "gross",
    "fee",
    "net",
    "created_at",
)


def batch_json(batch: BatchRow) -> str:
    """The batch report: scope, closing time, and totals by kind and currency."""
    return json.dumps(
        {
            "batch_id": batch.id,
            "scope": batch.scope.value,
            "scope_id": batch.scope_id,
            "closed_at": format_timestamp(batch.closed_at),
            "totals": [
                {
                    "kind": t.kind,
                    "currency": t.currency,
                    "count": t.count,
                    "gross": t.gross,
                    "fees": t.fees,
                    "net": t.net,
                }
                for t in batch.totals
            ],
        },
        separators=(",", ":"),
    )


def lines_csv(lines: Sequence[BatchLine]) -> str:
    """The batch's journals as CSV (RFC 4180), amounts in minor units.

    >>> print(lines_csv([]).strip())
    journal_id,payment_id,terminal_id,kind,currency,gross,fee,net,created_at
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for line in lines:
        writer.writerow(
            [
                line.journal_id,
                line.payment_id,
                line.terminal_id,
                line.kind,
                line.currency,
                line.gross,
                line.fee,
                line.gross - line.fee,
                format_timestamp(line.created_at),
            ]
        )
    return buffer.getvalue()


class SettlementService:
    """Closes and reports batches."""

    def __init__(self, store: PaymentStore, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._store = store
        self._clock = clock

    def close(
        self, scope: BatchScope, scope_id: str, idempotency_key: str
    ) -> tuple[BatchRow, bool]:
        """Close the scope's batch; ``(batch, replayed)``.

        A terminal or merchant the registry does not know has nobody to pay: it is refused
        (:class:`~acquirer.errors.SettlementScopeNotFoundError`), not closed as an empty batch.
        """
        known = (
            self._store.get_terminal(scope_id)
            if scope is BatchScope.TERMINAL
            else self._store.get_merchant(scope_id)
        )
        if known is None:
            raise SettlementScopeNotFoundError(
                f"no {scope.value} {scope_id!r} is registered: nothing to settle"
            )
        now = self._clock()
        batch, created = self._store.close_batch(
            new_id("batch_", now), scope, scope_id, idempotency_key, now
        )
        return batch, not created

    def get(self, batch_id: str, terminal_id: str | None = None) -> BatchRow:
        """A batch; with ``terminal_id``, only that terminal's own batches are visible."""
        batch = self._store.get_batch(batch_id)
        if batch is None or (
            terminal_id is not None
            and (batch.scope is not BatchScope.TERMINAL or batch.scope_id != terminal_id)
        ):
            raise BatchNotFoundError("no such settlement batch for this terminal")
        return batch

    def lines(self, batch: BatchRow) -> Sequence[BatchLine]:
        """The journals of a batch."""
        return self._store.batch_lines(batch.id)
