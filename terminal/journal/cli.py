"""``tap-terminal journal``: what the terminal did with every transaction, and why.

``journal [--json]`` (or ``journal list``) lists the latest transactions; ``journal show ID``
shows one with the history of its states. The journal holds masked tokens only, so nothing
printed here is card data. Exit status: 0, or 2 when the journal cannot be read or has no
such transaction.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from emvcore.currency import format_minor_units
from terminal.cli.common import fail
from terminal.errors import JournalError
from terminal.journal.store import Journal, JournalEntry

__all__ = ["default_journal_path", "journal_app"]

journal_app = typer.Typer(help="The transaction journal: every payment, ride and pickup.",
                          invoke_without_command=True)  # fmt: skip

JournalOption = Annotated[
    Path | None, typer.Option("--journal", help="Journal file (default: the terminal's)", dir_okay=False)
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print as JSON")]
LimitOption = Annotated[int, typer.Option("--limit", "-n", help="How many, newest first")]
_STYLE = {"approved": "green", "declined": "red", "cancelled": "yellow"}


def default_journal_path() -> Path:
    """Where the terminal keeps its journal unless told otherwise: the settings' (``[terminal]
    journal``, see :mod:`terminal.settings`), else ``~/.local/state/tap/journal.sqlite3``."""
    from terminal.errors import SettingsError
    from terminal.settings import TerminalSettings, load_settings

    try:
        return load_settings().journal
    except SettingsError:
        return TerminalSettings().journal


def _open(path: Path | None) -> Journal:
    try:
        return Journal(path or default_journal_path())
    except JournalError as exc:
        raise fail(str(exc), 2) from None


def _amount(entry: JournalEntry) -> str:
    try:
        return format_minor_units(entry.amount, entry.currency)
    except Exception:  # an unknown currency still shows its minor units
        return f"{entry.amount} {entry.currency}"


@journal_app.callback()
def _journal(
    ctx: typer.Context, journal: JournalOption = None, as_json: JsonOption = False,
    limit: LimitOption = 20,
) -> None:  # fmt: skip
    """The transaction journal: every payment, ride and pickup (lists the latest)."""
    if ctx.invoked_subcommand is None:
        list_command(journal, as_json, limit)


@journal_app.command("list")
def list_command(
    journal: JournalOption = None, as_json: JsonOption = False, limit: LimitOption = 20
) -> None:
    """List the latest transactions, newest first."""
    with _open(journal) as records:
        entries = records.entries(limit=limit)
    if as_json:
        typer.echo(json.dumps([e.to_dict() for e in entries]))
        return
    table = Table(title="Journal", show_lines=False)
    for column in ("ID", "When", "Kind", "Amount", "Reference", "State", "Outcome", "Card"):
        table.add_column(column)
    for e in entries:
        style = _STYLE.get(e.outcome or "", "")
        table.add_row(str(e.id), e.created_at[:19], e.kind.value, _amount(e), e.reference or "",
                      e.state.value, f"[{style}]{e.outcome}[/]" if style else (e.outcome or "-"),
                      e.token_masked or "")  # fmt: skip
    Console().print(table)


@journal_app.command("show")
def show_command(
    id: Annotated[int, typer.Argument(help="The transaction's journal id")],
    journal: JournalOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one transaction and the history of its states."""
    with _open(journal) as records:
        try:
            entry, events = records.get(id), records.events(id)
        except JournalError as exc:
            raise fail(str(exc), 2) from None
    if as_json:
        doc = entry.to_dict()
        doc["events"] = [{"at": ev.at, "from": ev.from_state, "to": ev.to_state,
                          "detail": ev.detail} for ev in events]  # fmt: skip
        typer.echo(json.dumps(doc))
        return
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim")
    grid.add_column()
    rows = [("Kind", entry.kind.value), ("Amount", _amount(entry)),
            ("Reference", entry.reference), ("State", entry.state.value),
            ("Outcome", entry.outcome), ("Reason", entry.reason),
            ("Resolution", entry.resolution), ("Authorization", entry.authorization_id),
            ("Card", entry.token_masked), ("PAR", entry.par),
            ("ARPC", {True: "verified", False: "FAILED", None: None}[entry.arpc_verified]),
            ("Idempotency key", entry.idempotency_key)]  # fmt: skip
    for name, value in rows:
        if value:
            grid.add_row(name, str(value))
    history = Table("When", "From", "To", "Detail", title="History")
    for ev in events:
        detail = ", ".join(f"{k}={v}" for k, v in ev.detail.items())
        history.add_row(ev.at[:19], ev.from_state or "", ev.to_state.value, detail)
    console = Console()
    style = _STYLE.get(entry.outcome or "", "bold")
    console.print(Panel(grid, title=f"[{style}]Transaction {entry.id}[/]", expand=False))
    console.print(history)
