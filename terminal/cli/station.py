"""What ``tap-terminal bike`` and ``tap-terminal locker`` share: a dock or a locker station.

The terminal's settings must be in that mode (``[terminal] mode = "bike"`` or ``"locker"``).
``run`` serves taps and the actuator's events until interrupted (a kiosk's main loop); the
other commands do one thing and exit, with ``--json`` for scripts.

Exit status of every command: 0 done (unlocked, returned, opened, or queued while offline),
1 refused, declined or not completed (no card, no ride, nothing waiting), 2 usage or set-up
error (settings, reader, actuator, wrong mode), 3 the lock or door did not open (jammed,
not confirmed, controller silent): the hold is released and the parcel stays retriable;
130 (SIGINT) or 143 (SIGTERM) during ``bike tap`` or ``locker pickup``: cancelled, or the
outcome unknown when a request may already have been sent (see :mod:`terminal.interrupt`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from terminal.actuators import Actuator, open_actuator
from terminal.cli.common import acquirer_client, err, exit_interrupted, fail
from terminal.cli.display import show_pickup, show_ride
from terminal.errors import ActuatorError, JournalError, ReaderError, SettingsError
from terminal.interrupt import Interrupted
from terminal.journal.books import Books
from terminal.kernel import Kernel
from terminal.modes.bike.dock import RideResult
from terminal.modes.locker.locker import PickupResult
from terminal.online.client import AcquirerClient
from terminal.readers import open_reader
from terminal.readers.base import Reader
from terminal.settings import TerminalSettings, kernel_config, load_settings

SettingsOption = Annotated[
    Path | None, typer.Option("--settings", help="Settings file (TOML)", dir_okay=False)
]
ReaderOption = Annotated[
    str | None, typer.Option("--reader", "-r", help="Reader (default: from settings)")
]
UrlOption = Annotated[
    str | None, typer.Option("--acquirer-url", help="Acquirer base URL (overrides settings)")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON")]
ResultT = TypeVar("ResultT", RideResult, PickupResult)
#: Outcomes where the lock or door failed (exit status 3).
ACTUATOR_FAILED = frozenset({"jammed", "out_of_order", "lock_timeout", "actuator_error"})


@dataclass
class Station:
    """What a dock or locker command runs on."""

    settings: TerminalSettings
    reader: Reader
    kernel: Kernel
    client: AcquirerClient
    actuator: Actuator
    #: The terminal's journal and outbox, recovered and flushed when the station opened.
    books: Books


@contextmanager
def station(mode: str, settings_file: Path | None, reader: str | None,
            url: str | None) -> Iterator[Station]:  # fmt: skip
    """Open the reader, the acquirer client, the actuator and the books (journal and outbox,
    recovered and flushed) of a ``mode`` terminal."""
    try:
        settings = load_settings(settings_file)
        if settings.mode != mode:
            raise SettingsError(
                f"this terminal is in mode {settings.mode!r} ({settings.source}): set "
                f'[terminal] mode = "{mode}" to use it as a {mode} terminal'
            )
        spec = settings.bike.actuator if mode == "bike" else settings.locker.actuator
        kernel = Kernel(kernel_config(settings))
        with ExitStack() as stack:
            card_reader = stack.enter_context(
                open_reader(reader or settings.reader, card_timeout=settings.card_timeout)
            )
            client = acquirer_client(settings, url)
            stack.callback(client.close)
            actuator = stack.enter_context(open_actuator(spec))
            books = stack.enter_context(Books.open(settings.journal, settings.outbox, client,
                                                   settings.terminal_id,
                                                   lease=settings.outbox_lease))  # fmt: skip
            books.start()  # what a kill left unfinished, then what is owed
            yield Station(settings, card_reader, kernel, client, actuator, books)
            books.flush()  # after the command's transactions
    except (SettingsError, ReaderError, ActuatorError, JournalError) as exc:
        raise fail(str(exc), 2) from None


def finished(ended: ResultT | Interrupted[ResultT], as_json: bool) -> ResultT:
    """The tap's result; a tap a signal ended is reported and exits 130/143 (SIGINT/SIGTERM)."""
    if not isinstance(ended, Interrupted):
        return ended
    if ended.result is None:
        exit_interrupted(ended, as_json)
    err.print(f"{ended.signal_name} came after the outcome was known: it stands")
    return ended.result


def exit_status(result: RideResult | PickupResult) -> int:
    """0 done, 3 the lock or door failed, 1 any other refusal."""
    if result.ok:
        return 0
    return 3 if result.outcome in ACTUATOR_FAILED or result.reason in ACTUATOR_FAILED else 1


def print_result(result: RideResult | PickupResult, json_out: bool) -> None:
    """One ride or pickup: a JSON line, or a panel for a person."""
    if json_out:
        typer.echo(json.dumps(result.to_dict()))
    elif isinstance(result, RideResult):
        show_ride(Console(), result)
    else:
        show_pickup(Console(), result)


def serve(
    one: Callable[[], RideResult | PickupResult],
    as_json: bool,
    taps: int,
    between: Callable[[], object] | None = None,
    after: Callable[[], object] | None = None,
) -> None:
    """Serve taps with ``one()`` until interrupted (or ``taps`` served); no card: wait again.
    ``after`` runs after each served tap (the outbox's flush)."""
    served = 0
    try:
        while taps == 0 or served < taps:
            result = one()
            if result.outcome == "not_read" and result.reason == "no_card":
                if between is not None:
                    between()  # an idle dock catches up with the acquirer
                continue
            served += 1
            print_result(result, as_json)
            if after is not None:
                after()
    except KeyboardInterrupt:
        err.print("stopped")
