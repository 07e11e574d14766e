"""What the shopkeeper sees: the UI request (message, four status indicators, tone) and the
outcome panel of each payment, ride and parcel pickup, drawn with rich.

The four indicators are drawn as ``●`` (on), ``◐`` (flashing) and ``○`` (off) in the
pattern Book A 9.2 gives each status; the tones are the terminal bell (one for success,
two for an alert) when the console is interactive.
"""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from emvcore.currency import format_minor_units
from terminal.kernel import Outcome
from terminal.kernel.ui import Tone, UiRequest
from terminal.modes.bike.dock import RideResult
from terminal.modes.locker.locker import PickupResult
from terminal.modes.pay.payment import PaymentResult

_LIGHT = {"on": "[green]●[/]", "flash": "[yellow]◐[/]", "off": "[dim]○[/]"}
_STYLE: dict[str, str] = {
    Outcome.APPROVED: "bold green",
    Outcome.DECLINED: "bold red",
    Outcome.TRY_AGAIN: "bold yellow",
}


def lights(ui: UiRequest) -> str:
    """The four status indicators as text."""
    return " ".join(_LIGHT[state] for state in ui.status.lights)


def show_ui(console: Console, ui: UiRequest) -> None:
    """Show one UI request as it happens (e.g. "See phone for instructions")."""
    console.print(f"{lights(ui)}  {ui.text}")
    if console.is_terminal and ui.tone is not Tone.NONE:
        console.bell()
        if ui.tone is Tone.ALERT:
            console.bell()


def _verified(value: bool | None) -> str:
    return {True: "verified", False: "FAILED", None: "-"}[value]


def show_payment(console: Console, result: PaymentResult) -> None:
    """Draw the outcome, the amount and the card's masked details."""
    summary = result.to_dict()
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim")
    grid.add_column()
    grid.add_row("Amount", summary["amount_text"])
    if summary["application"]:
        grid.add_row("Card", f"{summary['application']}  {summary['token_masked'] or ''}")
        grid.add_row("Verification", str(summary["cvm"]))
    if summary["authorization_id"]:
        grid.add_row(
            "Authorization", f"{summary['authorization_id']} (code {summary['response_code']})"
        )
        grid.add_row("ARQC", _verified(summary["arqc_verified"]))
        grid.add_row("ARPC", _verified(summary["arpc_verified"]))
    grid.add_row("Reason", result.reason)
    if summary["tvr_bits"]:
        grid.add_row("TVR", f"{summary['tvr']} ({', '.join(summary['tvr_bits'])})")
    if result.card_removed is False:
        grid.add_row("Card", "still in the field: remove it before the next payment")
    style = _STYLE.get(result.outcome, "bold")
    title = f"{lights(result.ui)}  [{style}]{result.message}[/]"
    console.print(Panel(grid, title=title, expand=False))


def _panel(console: Console, ok: bool, message: str, rows: list[tuple[str, str]]) -> None:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim")
    grid.add_column()
    for name, value in rows:
        grid.add_row(name, value)
    style = "bold green" if ok else "bold red"
    console.print(Panel(grid, title=f"[{style}]{message}[/]", expand=False))


def show_ride(console: Console, result: RideResult) -> None:
    """Draw a tap-on, tap-off or docking: the dock, the rental, the fare and any debt."""
    summary = result.to_dict()
    rows = [("Action", result.action), ("Outcome", result.outcome), ("Dock", result.dock)]
    if result.bike:
        rows.append(("Bike", result.bike))
    if summary["token_masked"]:
        rows.append(("Card", str(summary["token_masked"])))
    if result.rental_id:
        rows.append(("Rental", result.rental_id))
    if result.arpc_verified is not None:
        rows.append(("ARPC", _verified(result.arpc_verified)))
    if result.receipt is not None:
        r = result.receipt
        rows += [
            ("Minutes", str(r.minutes)),
            ("Fare", format_minor_units(r.fare, r.currency)),
            ("Captured", format_minor_units(r.captured, r.currency)),
            ("Debt", format_minor_units(r.debt, r.currency)),
        ]
    if result.offline:
        rows.append(("Offline", "yes: settled when the dock is back online"))
    rows.append(("Reason", result.reason))
    _panel(console, result.ok, result.message, rows)


def show_pickup(console: Console, result: PickupResult) -> None:
    """Draw a parcel pickup: the doors opened (or not) and what was paid."""
    rows = [("Outcome", result.outcome)]
    for door in result.doors:
        rows.append((f"Compartment {door.compartment}", f"{door.state}  {door.parcel_id}"))
    if result.paid and result.currency:
        rows.append(("Paid", format_minor_units(result.paid, result.currency)))
    if result.arpc_verified is not None:
        rows.append(("ARPC", _verified(result.arpc_verified)))
    rows.append(("Reason", result.reason))
    _panel(console, result.ok, result.message, rows)
