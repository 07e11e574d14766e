"""``tap-terminal pay``: one payment at a shop's terminal (registered by :mod:`terminal.cli.root`)."""

from __future__ import annotations

import json
from contextlib import closing
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from emvcore.currency import format_minor_units, to_minor_units
from emvcore.errors import EncodingError
from terminal.cli.common import acquirer_client, err, exit_interrupted
from terminal.cli.common import fail as _fail
from terminal.cli.display import show_payment, show_ui
from terminal.errors import JournalError, ReaderError, SettingsError
from terminal.interrupt import Interrupted, journal_interrupted, run_interruptible
from terminal.journal.books import Books
from terminal.kernel import Kernel, Outcome, Transaction
from terminal.modes.pay.payment import pay
from terminal.readers import open_reader
from terminal.settings import kernel_config, load_settings
from terminal.tap import TerminalOutcome


def pay_command(
    amount: Annotated[str, typer.Argument(help="Amount to charge, e.g. 12.50")],
    reader: Annotated[
        str | None,
        typer.Option(
            "--reader", "-r", help="Reader to use, e.g. emulated:visa (default: from settings)"
        ),
    ] = None,
    currency: Annotated[
        str | None, typer.Option("--currency", "-c", help="ISO 4217 code (default: from settings)")
    ] = None,
    settings_file: Annotated[
        Path | None, typer.Option("--settings", help="Settings file (TOML)", dir_okay=False)
    ] = None,
    acquirer_url: Annotated[
        str | None, typer.Option("--acquirer-url", help="Acquirer base URL (overrides settings)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON")] = False,
    reference: Annotated[
        str | None,
        typer.Option("--reference", help="The merchant's order id, sent with the authorization"),
    ] = None,
) -> None:
    """Take one payment: wait for a tap, read the card, authorize online, show the outcome.

    The payment is journalled (``tap-terminal journal``); what the terminal owes the acquirer
    waits in the outbox (``tap-terminal outbox``), which is flushed before and after the
    payment, after the journal's recovery of whatever a previous run left unfinished.

    Exit status: 0 approved, 1 declined or not completed, 2 usage or setup error, 130
    (SIGINT, Ctrl-C) or 143 (SIGTERM) interrupted: cancelled, or, when the authorization may
    already have been sent, outcome unknown and its reversal queued in the outbox (JSON
    ``"outcome": "unknown"`` with the idempotency key and ``"reversal": "queued"``).
    """
    try:
        settings = load_settings(settings_file)
        cur = (currency or settings.currency).upper()
        minor = to_minor_units(amount, cur)
        if reference is not None and not 0 < len(reference) <= 64:
            raise SettingsError("--reference must be 1 to 64 characters")
    except (SettingsError, EncodingError) as exc:
        raise _fail(str(exc), 2) from None
    try:
        card_reader = open_reader(reader or settings.reader, card_timeout=settings.card_timeout)
    except ReaderError as exc:
        raise _fail(str(exc), 2) from None
    try:
        kernel = Kernel(kernel_config(settings))
        client = acquirer_client(settings, acquirer_url)
    except SettingsError as exc:
        card_reader.close()
        raise _fail(str(exc), 2) from None
    try:
        books = Books.open(settings.journal, settings.outbox, client, settings.terminal_id,
                           lease=settings.outbox_lease)  # fmt: skip
    except JournalError as exc:
        card_reader.close()
        client.close()
        raise _fail(str(exc), 2) from None
    with card_reader, closing(client), books:
        books.start()
        if not as_json:
            err.print(
                f"Present card for [bold]{format_minor_units(minor, cur)}[/] on {card_reader.name} ..."
            )
        outcome = run_interruptible(card_reader, lambda: pay(
            card_reader,
            Transaction(minor, cur),
            terminal_id=settings.terminal_id,
            client=client,
            kernel=kernel,
            wait=settings.wait,
            on_ui=None if as_json else partial(show_ui, err),
            books=books,
            reference=reference,
            offline=settings.offline,
        ), after_send=partial(journal_interrupted, books))  # fmt: skip
    if isinstance(outcome, Interrupted):
        result = outcome.result
        if result is None or result.outcome is TerminalOutcome.CANCELLED:
            exit_interrupted(outcome, as_json)
        err.print(f"{outcome.signal_name} came after the outcome was known: it stands")
    else:
        result = outcome
    if as_json:
        typer.echo(json.dumps(result.to_dict()))
    else:
        show_payment(Console(), result)
    raise typer.Exit(0 if result.outcome is Outcome.APPROVED else 1)
