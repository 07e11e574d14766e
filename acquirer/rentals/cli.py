"""``tap-acquirer bikes``: an operator's bike tariff, its rentals and its riders' debts.

::

    tap-acquirer bikes tariff set BIKES --currency EUR --deposit 5000 --unlock-fee 100 \\
        --per-started-minute 20 --free-minutes 30 --daily-cap 1500 \\
        --max-duration-minutes 4320 --lost-bike-charge 50000      (amounts in minor units)
    tap-acquirer bikes tariff show BIKES
    tap-acquirer bikes rentals [--merchant BIKES] [--state active|unlocking|riding|ended|cancelled]
    tap-acquirer bikes debts [--merchant BIKES] [--status open|paid]
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
from acquirer.rentals.rows import ACTIVE_RENTAL_STATES, DebtStatus, RentalState
from acquirer.rentals.sql import SqlRentalStore
from acquirer.rentals.tariff import Tariff
from emvcore.currency import currency as iso_currency
from emvcore.currency import format_minor_units
from emvcore.errors import EncodingError

bikes_app = typer.Typer(
    help="Bike rentals: the operator's tariff, rentals and riders' debts.", no_args_is_help=True
)
tariff_app = typer.Typer(help="Set or show an operator's bike tariff.", no_args_is_help=True)
bikes_app.add_typer(tariff_app, name="tariff")

MinorUnits = Annotated[int, typer.Option(min=0, help="Minor units of the currency")]
#: How many rows the listing commands print at most.
LIST_LIMIT = 1000


@tariff_app.command("set")
def tariff_set(
    merchant: Annotated[str, typer.Argument(help="The operator (merchant id)")],
    currency: Annotated[str, typer.Option(help="ISO 4217 code, e.g. EUR")],
    deposit: Annotated[int, typer.Option(min=1, help="Hold taken at the unlock (minor units)")],
    unlock_fee: MinorUnits,
    per_started_minute: MinorUnits,
    max_duration_minutes: Annotated[
        int, typer.Option(min=1, help="Longer rides are priced as a lost bike")
    ],
    lost_bike_charge: MinorUnits,
    free_minutes: Annotated[int, typer.Option(min=0, help="Minutes free of charge")] = 0,
    daily_cap: Annotated[
        str, typer.Option(help="Most charged per started 24 hours (minor units), or none")
    ] = "none",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Set the operator's tariff; rides already under way keep the tariff they began with."""
    settings = cli_settings(data_dir, database_url)
    with reported_errors():
        try:
            iso_currency(currency)
        except EncodingError:
            raise RegistryError(f"unknown ISO 4217 currency {currency!r}") from None
        cap = None if daily_cap.strip().lower() == "none" else daily_cap.strip()
        if cap is not None and not cap.isdigit():
            raise RegistryError("--daily-cap is an amount in minor units, or none")
        tariff = Tariff(
            currency=currency,
            deposit=deposit,
            unlock_fee=unlock_fee,
            per_started_minute=per_started_minute,
            free_minutes=free_minutes,
            daily_cap=None if cap is None else int(cap),
            max_duration_minutes=max_duration_minutes,
            lost_bike_charge=lost_bike_charge,
        )
        with opened_store(settings, SqlRentalStore) as store:
            store.put_tariff(merchant, tariff, utc_now())
    err.print(f"tariff of {merchant} set", highlight=False)
    _print_tariff(merchant, tariff)


@tariff_app.command("show")
def tariff_show(
    merchant: Annotated[str, typer.Argument(help="The operator (merchant id)")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Show the operator's tariff."""
    with command_store(data_dir, database_url, SqlRentalStore) as store:
        tariff = store.get_tariff(merchant)
        if tariff is None:
            raise RegistryError(f"operator {merchant!r} has no bike tariff")
    _print_tariff(merchant, tariff)


def _print_tariff(merchant: str, tariff: Tariff) -> None:
    def money(amount: int | None) -> str:
        return "none" if amount is None else format_minor_units(amount, tariff.currency)

    table = Table("rule", "value", title=f"bike tariff of {merchant}", box=box.SIMPLE_HEAD)
    table.add_row("deposit (hold)", money(tariff.deposit))
    table.add_row("unlock fee", money(tariff.unlock_fee))
    table.add_row("per started minute", money(tariff.per_started_minute))
    table.add_row("free minutes", str(tariff.free_minutes))
    table.add_row("daily cap", money(tariff.daily_cap))
    table.add_row("max duration (minutes)", str(tariff.max_duration_minutes))
    table.add_row("lost bike charge", money(tariff.lost_bike_charge))
    out.print(table)


@bikes_app.command("rentals")
def rentals(
    merchant: Annotated[str | None, typer.Option(help="Only this operator's")] = None,
    state: Annotated[
        str | None, typer.Option(help="active, unlocking, riding, ended or cancelled")
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """List rentals, oldest first."""
    settings = cli_settings(data_dir, database_url)
    with reported_errors():
        if state is None:
            states: tuple[RentalState, ...] = ()
        elif state == "active":
            states = ACTIVE_RENTAL_STATES
        else:
            try:
                states = (RentalState(state),)
            except ValueError:
                raise RegistryError(f"unknown rental state {state!r}") from None
        with opened_store(settings, SqlRentalStore) as store:
            rows = store.list_rentals(merchant_id=merchant, states=states, limit=LIST_LIMIT)
    table = Table(title=f"{len(rows)} rental(s)", box=box.SIMPLE_HEAD, pad_edge=False)
    for header in ("rental", "operator", "bike", "state", "PAR", "started", "fare", "debt"):
        table.add_column(header, no_wrap=True)
    for r in rows:
        table.add_row(
            r.id,
            r.merchant_id,
            r.bike_id,
            r.state.value + (" (offline)" if r.offline else ""),
            r.par or "-",
            "-" if r.started_at is None else r.started_at.isoformat(timespec="seconds"),
            "-" if r.fare is None else format_minor_units(r.fare, r.currency),
            format_minor_units(r.debt, r.currency) if r.debt else "-",
        )
    out.print(table)


@bikes_app.command("debts")
def debts(
    merchant: Annotated[str | None, typer.Option(help="Only this operator's")] = None,
    status: Annotated[DebtStatus | None, typer.Option(help="open or paid")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """List riders' debts, oldest first."""
    with command_store(data_dir, database_url, SqlRentalStore) as store:
        rows = store.list_debts(merchant_id=merchant, status=status, limit=LIST_LIMIT)
    table = Table(title=f"{len(rows)} debt(s)", box=box.SIMPLE_HEAD, pad_edge=False)
    for header in ("debt", "rental", "operator", "PAR", "amount", "status"):
        table.add_column(header, no_wrap=True)
    for d in rows:
        table.add_row(
            d.id,
            d.rental_id,
            d.merchant_id,
            d.par or "-",
            format_minor_units(d.amount, d.currency),
            d.status.value,
        )
    out.print(table)
