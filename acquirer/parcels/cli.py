"""``tap-acquirer lockers``: compartments of parcel lockers, storage fees, parcels waiting.

::

    tap-acquirer lockers compartments add LOCKER01 --size M --count 4
    tap-acquirer lockers compartments list LOCKER01
    tap-acquirer lockers fees set LOCKOP --free-hours 48 --fee-per-started-day 150 --currency EUR
    tap-acquirer lockers fees show LOCKOP
    tap-acquirer lockers parcels [--locker LOCKER01] [--state waiting]

A locker is a terminal registered with the action ``locker`` (``terminals add --actions
locker``); its operator is the terminal's merchant, whose storage fees apply to parcels
registered from then on.
"""

from __future__ import annotations

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
from acquirer.errors import RegistryError
from acquirer.parcels.rows import CompartmentSize, ParcelState, StorageFeeRow
from acquirer.parcels.rules import amount_due
from acquirer.parcels.sql import SqlParcelStore
from emvcore.currency import currency as currency_of
from emvcore.errors import EncodingError

lockers_app = typer.Typer(
    help="Parcel lockers: compartments, storage fees, parcels.", no_args_is_help=True
)
compartments_app = typer.Typer(help="Add and list a locker's compartments.", no_args_is_help=True)
fees_app = typer.Typer(help="Storage fees of a locker operator.", no_args_is_help=True)
lockers_app.add_typer(compartments_app, name="compartments")
lockers_app.add_typer(fees_app, name="fees")

Locker = Annotated[str, typer.Argument(help="The locker's terminal id")]
Merchant = Annotated[str, typer.Argument(help="The locker operator's merchant id")]


@compartments_app.command("add")
def add_compartments(
    locker: Locker,
    size: Annotated[CompartmentSize, typer.Option(help="S, M or L")],
    count: Annotated[int, typer.Option(help="How many", min=1, max=500)] = 1,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Add compartments of one size, numbered after the locker's last one."""
    with command_store(data_dir, database_url, SqlParcelStore) as store:
        rows = store.add_compartments(locker, size, count, utc_now())
    numbers = ", ".join(row.compartment_id for row in rows)
    out.print(f"locker {locker}: added {count} {size.value} compartment(s): {numbers}")


@compartments_app.command("list")
def list_compartments(
    locker: Locker, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """List a locker's compartments with their size and status."""
    with command_store(data_dir, database_url, SqlParcelStore) as store:
        rows = store.list_compartments(locker)
    out.print(f"locker {locker}: {len(rows)} compartment(s)", highlight=False)
    table = Table(box=box.SIMPLE_HEAD)
    for header in ("compartment", "size", "status"):
        table.add_column(header, no_wrap=True)
    for row in rows:
        table.add_row(row.compartment_id, row.size.value, row.status.value)
    out.print(table)


@fees_app.command("set")
def set_fees(
    merchant: Merchant,
    free_hours: Annotated[int, typer.Option(help="Hours of free storage", min=0, max=10_000)],
    fee_per_started_day: Annotated[
        int, typer.Option(help="Minor units per started day after that", min=0)
    ],
    currency_code: Annotated[str, typer.Option("--currency", help="ISO 4217 code")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Set a locker operator's storage fee (applies to parcels registered from now on)."""
    settings = cli_settings(data_dir, database_url)
    with reported_errors():
        try:
            currency_of(currency_code)
        except EncodingError:
            raise RegistryError(f"unknown ISO 4217 currency {currency_code!r}") from None
        with opened_store(settings, SqlParcelStore) as store:
            if store.get_merchant(merchant) is None:
                raise RegistryError(f"no merchant {merchant!r} is registered")
            row = StorageFeeRow(merchant, currency_code, free_hours, fee_per_started_day, utc_now())
            store.set_storage_fees(row)
    out.print(
        f"merchant {merchant}: {free_hours} h free, then {fee_per_started_day} "
        f"{currency_code} (minor units) per started day",
        highlight=False,
    )


@fees_app.command("show")
def show_fees(
    merchant: Merchant, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """Show a locker operator's storage fee."""
    with command_store(data_dir, database_url, SqlParcelStore) as store:
        row = store.get_storage_fees(merchant)
    if row is None:
        err.print(f"merchant {merchant}: no storage fee set", highlight=False)
        return
    out.print(
        f"merchant {merchant}: {row.free_hours} h free, then {row.fee_per_started_day} "
        f"{row.currency} (minor units) per started day",
        highlight=False,
    )


@lockers_app.command("parcels")
def list_parcels(
    locker: Annotated[str | None, typer.Option(help="Only this locker")] = None,
    state: Annotated[ParcelState, typer.Option(help="waiting, released, opened, collected")] = (
        ParcelState.WAITING
    ),
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Parcels in a state (waiting by default), with counts per locker."""
    with command_store(data_dir, database_url, SqlParcelStore) as store:
        counts = store.count_parcels_by_locker(state)
        rows = store.list_parcels(state=state, locker_id=locker, limit=1000)
    now = utc_now()
    out.print(f"{len(rows)} parcel(s) {state.value}", highlight=False)
    table = Table(box=box.SIMPLE_HEAD)
    for header in ("parcel", "locker", "compartment", "reference", "registered", "due"):
        table.add_column(header, no_wrap=True)
    for row in rows:
        due = amount_due(row, now)
        table.add_row(
            row.id,
            row.locker_id,
            row.compartment_id,
            row.reference,
            row.registered_at.strftime("%Y-%m-%d %H:%M"),
            f"{due.total} {due.currency}",
        )
    out.print(table)
    for locker_id, count in counts.items():
        if locker is None or locker_id == locker:
            out.print(f"{locker_id}: {count} {state.value}", highlight=False)
