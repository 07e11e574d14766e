"""``tap-terminal tag pay``: one Tap! payment at a till (registered by :mod:`terminal.cli.root`).

A thin command over :func:`terminal.modes.tag.tag_pay`: the ``[tag]`` settings name the
transport the tag is served by, the wallet package and the acquirer's Tap! base URL; the
journal is the daemon's (``[daemon] state_dir``). Before the new payment, Tap! payments an
earlier run left unsettled are settled (:func:`terminal.modes.tag.resume`).
"""

from __future__ import annotations

import json
import signal
import threading
from contextlib import closing
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console

from emvcore.currency import format_minor_units, to_minor_units
from emvcore.errors import EncodingError
from terminal.cli.common import acquirer_client, err, fail
from terminal.errors import JournalError, SettingsError
from terminal.interrupt import EXIT_SIGINT, EXIT_SIGTERM
from terminal.journal import Journal
from terminal.modes.tag.payment import Checkout, TagResult, resume, tag_pay
from terminal.modes.tag.provider import open_tag
from terminal.settings import load_settings

tag_app = typer.Typer(help="Tap! mode: the terminal is the tag, the customer's phone pays.",
                      no_args_is_help=True)  # fmt: skip

#: Exit status when the acquirer could not be reached for the result: the journal keeps the
#: payment, and the next ``tag pay`` (or the daemon) settles it.
EXIT_UNKNOWN = 3
#: Seconds of one long poll: a signal's cancel is seen within this.
POLL = 2


class _Signals:
    """SIGINT/SIGTERM while the tag waits for a wallet: cancel the session, remember which."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self.event = threading.Event()

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        self.event.set()

    @property
    def exit_code(self) -> int:
        return EXIT_SIGTERM if self.received[0] == signal.SIGTERM else EXIT_SIGINT


def _show(console: Console, result: TagResult) -> None:
    style = "bold green" if result.approved else "bold yellow"
    console.print(f"[{style}]{result.message}[/]")
    if result.authorization_id:
        console.print(f"authorization {result.authorization_id}, journal entry {result.journal_id}")


@tag_app.command("pay")
def tag_pay_command(
    amount: Annotated[str, typer.Argument(help="Amount to charge, e.g. 12.50")],
    reference: Annotated[
        str, typer.Option("--reference", help="The till's reference (order number)")
    ] = "",
    currency: Annotated[
        str | None, typer.Option("--currency", "-c", help="ISO 4217 code (default: from settings)")
    ] = None,
    transport: Annotated[
        str | None,
        typer.Option("--transport", help="memory, vpcd[:PORT] or nfc:PATH (default: tag.transport)"),
    ] = None,
    settings_file: Annotated[
        Path | None, typer.Option("--settings", help="Settings file (TOML)", dir_okay=False)
    ] = None,
    acquirer_url: Annotated[
        str | None, typer.Option("--acquirer-url", help="Acquirer base URL (overrides settings)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON")] = False,
) -> None:
    """Present the tag for one payment: the customer taps a phone and its wallet pays online.

    Exit status: 0 paid, 1 not paid (refused, expired or cancelled), 2 usage or setup
    error, 3 result unknown (the acquirer went away; the journal keeps it and the next run
    settles it), 130 (SIGINT) or 143 (SIGTERM): the session was cancelled, nothing paid.
    """
    try:
        settings = load_settings(settings_file)
        cur = (currency or settings.currency).upper()
        minor = to_minor_units(amount, cur)
        if minor <= 0:
            raise SettingsError("the amount must be more than zero")
        client = acquirer_client(settings, acquirer_url)
    except (SettingsError, EncodingError) as exc:
        raise fail(str(exc), 2) from None
    try:
        tag = open_tag(transport or settings.tag.transport)
    except (SettingsError, OSError) as exc:
        client.close()
        raise fail(f"the tag cannot be presented: {exc}", 2) from None
    checkout = Checkout(client, settings.terminal_id, base_url=settings.tag.base_url)
    signals = _Signals()
    previous = {sig: signal.signal(sig, signals) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with closing(client), closing(tag), Journal(settings.daemon.journal) as journal:
            for earlier in resume(checkout, journal):
                err.print(f"an earlier Tap! payment is settled: {earlier.message}")
            if not as_json:
                err.print(f"Tap a phone on the tag for [bold]{format_minor_units(minor, cur)}[/] ...")
            result = tag_pay(
                checkout, tag, journal, minor, cur, reference=reference,
                package=settings.tag.package, timeout=settings.tag.timeout, poll=POLL,
                cancelled=signals.event.is_set,
            )  # fmt: skip
    except JournalError as exc:
        raise fail(str(exc), 2) from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if as_json:
        typer.echo(json.dumps(result.to_dict()))
    else:
        _show(Console(), result)
    if result.approved:
        if signals.received:
            err.print("the payment came before the cancel: it stands")
        raise typer.Exit(0)
    if result.state == "unknown":
        raise typer.Exit(EXIT_UNKNOWN)
    raise typer.Exit(signals.exit_code if signals.received else 1)
