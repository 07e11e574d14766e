"""What the shopkeeper sees: one outcome panel per payment, drawn with rich."""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from terminal.kernel import Outcome
from terminal.payment import PaymentResult

_STYLE = {
    Outcome.APPROVED: "bold green",
    Outcome.DECLINED: "bold red",
    Outcome.TRY_AGAIN: "bold yellow",
}


def _yes_no(value: bool | None) -> str:
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
    if summary["authorization_id"]:
        grid.add_row(
            "Authorization", f"{summary['authorization_id']} (code {summary['response_code']})"
        )
        grid.add_row("ARQC", _yes_no(summary["arqc_verified"]))
        grid.add_row("ARPC", _yes_no(summary["arpc_verified"]))
    grid.add_row("Reason", result.reason)
    style = _STYLE.get(result.outcome, "bold")
    console.print(Panel(grid, title=f"[{style}]{result.message}[/]", expand=False))
