"""``tap-terminal outbox``: what the terminal still owes the acquirer, and sending it now.

``outbox [--json]`` shows what is pending per kind, the money at risk per currency, and the
items parked because the acquirer refused them (they need the operator); ``outbox flush``
forwards what is due now (``--recover``: after the journal's recovery, for a terminal that is
not running). Exit status: 0 nothing left owed (flush: everything due was
delivered), 1 items still pending or parked, 2 the outbox or the settings cannot be used.

``flush`` runs journal recovery only with ``--recover``: it belongs to the terminal's own
start, since a running terminal's transactions in progress are not interrupted ones.
"""

from __future__ import annotations

import json
from contextlib import closing
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.table import Table

from emvcore.currency import format_minor_units
from terminal.cli.common import acquirer_client, err, fail
from terminal.errors import JournalError, SettingsError
from terminal.outbox.followups import cancel_abandoned_rental
from terminal.outbox.forwarder import FlushReport, Forwarder, OnDone, http_sender
from terminal.outbox.items import ItemState
from terminal.outbox.store import Backlog, Outbox
from terminal.settings import TerminalSettings, load_settings

__all__ = ["default_outbox_path", "outbox_app"]

outbox_app = typer.Typer(help="What the terminal owes the acquirer: reversals, offline payments, "
                         "rides, door events.", invoke_without_command=True)  # fmt: skip

OutboxOption = Annotated[
    Path | None, typer.Option("--outbox", help="Outbox file (default: the terminal's)", dir_okay=False)
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print as JSON")]


def default_outbox_path() -> Path:
    """Where the terminal keeps its outbox unless told otherwise: the settings' (``[terminal]
    outbox``, see :mod:`terminal.settings`), else ``~/.local/state/tap/outbox.sqlite3``."""
    try:
        return load_settings().outbox
    except SettingsError:
        return TerminalSettings().outbox


def _open(path: Path | None) -> Outbox:
    try:
        return Outbox(path or default_outbox_path())
    except JournalError as exc:
        raise fail(str(exc), 2) from None


def _money(amounts: dict[str, int]) -> str:
    return ", ".join(format_minor_units(v, c) for c, v in sorted(amounts.items())) or "none"


def render(console: Console, backlog: Backlog, outbox: Outbox) -> None:
    """Draw the backlog: pending per kind, money at risk, the parked items and their problem."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim")
    grid.add_column()
    grid.add_row("Pending", str(backlog.count))
    for kind, n in sorted(backlog.by_kind.items()):
        grid.add_row(f"  {kind}", str(n))
    grid.add_row("At risk", _money(backlog.at_risk))
    count, amounts, _ = outbox.deferred_owed()
    grid.add_row("  approved offline", f"{count}: {_money(amounts)}" if count else "none")
    grid.add_row("Refused (parked)", str(backlog.failed))
    if backlog.failed:
        grid.add_row("Refused at risk", _money(backlog.failed_at_risk))
    console.print(grid)
    parked = outbox.items([ItemState.FAILED])
    if parked:
        table = Table("Seq", "Kind", "Request", "Amount", "Problem", title="Refused by the acquirer")
        for item in parked:
            amount = format_minor_units(item.amount, item.currency) if item.currency else "-"
            table.add_row(str(item.seq), item.kind, f"{item.method} {item.path}", amount,
                          item.last_error or "")  # fmt: skip
        console.print(table)


@outbox_app.callback()
def _outbox(ctx: typer.Context, outbox: OutboxOption = None, as_json: JsonOption = False) -> None:
    """Show what is pending: the count per kind and the money at risk per currency."""
    if ctx.invoked_subcommand is not None:
        return
    with _open(outbox) as box:
        backlog = box.pending()
        count, amounts, _ = box.deferred_owed()
        if as_json:
            typer.echo(json.dumps({**backlog.to_dict(),
                                   "offline": {"count": count, "at_risk": amounts}}))  # fmt: skip
        else:
            render(Console(), backlog, box)
    raise typer.Exit(0 if backlog.count == 0 and backlog.failed == 0 else 1)


def report(box: Outbox, done: FlushReport) -> int:
    """Print what a flush did and what is still owed; the exit status (0: nothing owed)."""
    backlog = box.pending()
    err.print(f"{done.delivered} delivered, {done.deferred} to retry, {done.failed} refused; "
              f"{backlog.count} pending, at risk {_money(backlog.at_risk)}")  # fmt: skip
    for line in done.errors:
        err.print(f"  {line}")
    return 0 if backlog.count == 0 and backlog.failed == 0 else 1


def flush(box: Outbox, http: httpx.Client, on_done: OnDone | None = None) -> int:
    """Forward what is due over ``http``; the exit status (0: nothing left owed)."""
    done = Forwarder(box, http_sender(http), on_done=on_done,
                     follow_ups={"abandon": cancel_abandoned_rental}).flush()  # fmt: skip
    return report(box, done)


@outbox_app.command("flush")
def flush_command(
    outbox: OutboxOption = None,
    settings_file: Annotated[
        Path | None, typer.Option("--settings", help="Settings file (TOML)", dir_okay=False)
    ] = None,
    acquirer_url: Annotated[
        str | None, typer.Option("--acquirer-url", help="Acquirer base URL (overrides settings)")
    ] = None,
    recover: Annotated[
        bool,
        typer.Option("--recover", help="First resolve what the journal shows unfinished (only "
                     "while the terminal is not running: what a kill or a power cut left)"),
    ] = False,
) -> None:
    """Forward everything due now, in order per kind (the journal kept up with what lands)."""
    from terminal.journal.books import Books

    try:
        settings = load_settings(settings_file)
        client = acquirer_client(settings, acquirer_url)
    except SettingsError as exc:
        raise fail(str(exc), 2) from None
    try:
        books = Books.open(settings.journal, outbox or settings.outbox, client,
                           settings.terminal_id, lease=settings.outbox_lease)  # fmt: skip
    except JournalError as exc:
        client.close()
        raise fail(str(exc), 2) from None
    with closing(client), books:
        if recover:
            started = books.start()
            err.print(f"{len(started.recovered)} unfinished transactions resolved")
            done = started.flushed
        else:
            done = books.flush()
        status = report(books.outbox, done)
    raise typer.Exit(status)
