"""``tap-acquirer settlement`` and ``tap-acquirer risk``: the operator's end of day and controls.

::

    tap-acquirer settlement close --terminal SHOP0001      (or --merchant BIKES1)
    tap-acquirer settlement list
    tap-acquirer settlement export BATCH_ID --out batch.csv
    tap-acquirer risk deny PAR --reason "unpaid rental"     tap-acquirer risk allow PAR
    tap-acquirer risk limit --mcc 7999 --max 5000           (--max none lifts it)
    tap-acquirer payments list [--terminal T] [--reference R] [--json]
    tap-acquirer payments show PAYMENT_ID [--terminal T] [--reference R] [--json]
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from acquirer.clock import utc_now
from acquirer.console import (
    DatabaseUrl,
    DataDir,
    cli_settings,
    command_store,
    err,
    opened_store,
    out,
    reported_errors,
)
from acquirer.errors import BatchNotFoundError, PaymentNotFoundError, RegistryError
from acquirer.payments.lifecycle import payment_json
from acquirer.payments.rows import BatchRow, BatchScope
from acquirer.payments.settlement import SettlementService, lines_csv
from acquirer.payments.sql import SqlPaymentStore

settlement_app = typer.Typer(help="Close settlement batches and export them.", no_args_is_help=True)
risk_app = typer.Typer(
    help="Deny list and amount limits per merchant category.", no_args_is_help=True
)


payments_app = typer.Typer(
    help="List and show payments, by terminal and merchant reference.", no_args_is_help=True
)


@payments_app.command("list")
def list_payments(
    terminal: Annotated[str | None, typer.Option(help="Only this terminal's payments")] = None,
    reference: Annotated[
        str | None, typer.Option(help="Only payments with this merchant reference")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many")] = 500,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Payments in id order: amounts in minor units, masked tokens only."""
    settings = cli_settings(data_dir, database_url)
    with reported_errors(), opened_store(settings, SqlPaymentStore) as store:
        rows = store.list_payments(terminal_id=terminal, reference=reference, limit=limit)
    if as_json:
        typer.echo(json.dumps([payment_json(row) for row in rows], indent=2))
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for header in ("id", "terminal", "reference", "intent", "status", "currency", "captured"):
        table.add_column(header, justify="right" if header == "captured" else "left")
    for p in rows:
        table.add_row(p.id, p.terminal_id, p.reference or "", p.intent.value, p.status.value,
                      p.currency, str(p.captured))  # fmt: skip
    out.print(table)


@payments_app.command("show")
def show_payment(
    payment_id: Annotated[str, typer.Argument(help="The payment (authorization) id")],
    terminal: Annotated[
        str | None, typer.Option(help="Refuse unless it is this terminal's")
    ] = None,
    reference: Annotated[
        str | None, typer.Option(help="Refuse unless it has this reference")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="As JSON")] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """One payment."""
    settings = cli_settings(data_dir, database_url)
    with reported_errors(), opened_store(settings, SqlPaymentStore) as store:
        row = store.get_payment(payment_id)
        if (
            row is None
            or (terminal is not None and row.terminal_id != terminal)
            or (reference is not None and row.reference != reference)
        ):
            raise PaymentNotFoundError(f"no payment {payment_id} matches")
    body = payment_json(row)
    if as_json:
        typer.echo(json.dumps(body, indent=2))
        return
    for name, value in body.items():
        out.print(f"{name:>12}  {value}")


def _print_batch(batch: BatchRow) -> None:
    table = Table(
        title=f"batch {batch.id} ({batch.scope.value} {batch.scope_id})",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for header in ("kind", "currency", "count", "gross", "fees", "net"):
        table.add_column(
            header, justify="right" if header in ("count", "gross", "fees", "net") else "left"
        )
    for t in batch.totals:
        table.add_row(t.kind, t.currency, str(t.count), str(t.gross), str(t.fees), str(t.net))
    out.print(table)


@settlement_app.command("close")
def close(
    terminal: Annotated[str | None, typer.Option(help="Close this terminal's batch")] = None,
    merchant: Annotated[
        str | None, typer.Option(help="Close the batch of all this merchant's terminals")
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Close a batch: every unsettled sale, capture, cancel and refund; print its totals."""
    settings = cli_settings(data_dir, database_url)
    with reported_errors():
        if (terminal is None) == (merchant is None):
            raise RegistryError("give exactly one of --terminal and --merchant")
        scope = BatchScope.TERMINAL if terminal is not None else BatchScope.MERCHANT
        scope_id = terminal or merchant or ""
        with opened_store(settings, SqlPaymentStore) as store:
            batch, _ = SettlementService(store).close(
                scope, scope_id, f"cli-{secrets.token_hex(8)}"
            )
    _print_batch(batch)


@settlement_app.command("list")
def list_batches(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """List the closed batches."""
    with command_store(data_dir, database_url, SqlPaymentStore) as store:
        batches = store.list_batches()
    for batch in batches:
        _print_batch(batch)
    if not batches:
        out.print("no batches closed yet")


@settlement_app.command("export")
def export(
    batch_id: Annotated[str, typer.Argument(help="The batch id")],
    out_file: Annotated[Path, typer.Option("--out", help="CSV file to write", dir_okay=False)],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Write a batch's journals as CSV (amounts in minor units)."""
    with command_store(data_dir, database_url, SqlPaymentStore) as store:
        batch = store.get_batch(batch_id)
        if batch is None:
            raise BatchNotFoundError(f"no settlement batch {batch_id}")
        out_file.write_text(lines_csv(store.batch_lines(batch_id)), encoding="utf-8")
    err.print(f"batch {batch_id} written to {out_file}", highlight=False)


@risk_app.command("deny")
def deny(
    par: Annotated[str, typer.Argument(help="Payment Account Reference (29 characters)")],
    reason: Annotated[str, typer.Option(help="Why, e.g. unpaid bike rental")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Refuse every token and card of an account from now on."""
    with command_store(data_dir, database_url, SqlPaymentStore) as store:
        store.deny_par(par, reason, utc_now())
    err.print(f"PAR {par} is on the deny list", highlight=False)


@risk_app.command("allow")
def allow(
    par: Annotated[str, typer.Argument(help="Payment Account Reference")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Take an account off the deny list."""
    with command_store(data_dir, database_url, SqlPaymentStore) as store:
        removed = store.allow_par(par)
    err.print(
        f"PAR {par} {'removed from' if removed else 'was not on'} the deny list", highlight=False
    )


@risk_app.command("limit")
def limit(
    mcc: Annotated[str, typer.Option(help="Merchant category code (4 digits)")],
    max_amount: Annotated[
        str, typer.Option("--max", help="Largest amount in minor units, or none")
    ],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Set the largest amount approved at merchants of a category."""
    settings = cli_settings(data_dir, database_url)
    with reported_errors():
        if not (len(mcc) == 4 and mcc.isdigit()):
            raise RegistryError("the merchant category code must be 4 digits (ISO 18245)")
        value = None if max_amount.strip().lower() == "none" else max_amount.strip()
        if value is not None and not value.isdigit():
            raise RegistryError("--max must be an amount in minor units, or none")
        with opened_store(settings, SqlPaymentStore) as store:
            store.set_mcc_limit(mcc, None if value is None else int(value))
    err.print(f"MCC {mcc} limit: {max_amount}", highlight=False)
