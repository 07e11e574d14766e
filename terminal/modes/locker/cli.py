"""``tap-terminal locker``: a parcel locker, for kiosks and scripts (see :mod:`terminal.cli.station`).

Exit status of every command: 0 opened, 1 refused, declined or nothing waiting, 2 usage or
set-up error, 3 a door did not open (the parcel stays retriable without paying twice),
130/143 a pickup ended by SIGINT/SIGTERM (cancelled, or its outcome unknown).
"""

from __future__ import annotations

import threading
from functools import partial
from typing import Annotated

import typer

from terminal.cli.common import err, fail
from terminal.cli.display import show_ui
from terminal.cli.station import (
    JsonOption,
    ReaderOption,
    SettingsOption,
    Station,
    UrlOption,
    exit_status,
    finished,
    print_result,
    serve,
    station,
)
from terminal.interrupt import journal_interrupted, run_interruptible
from terminal.modes.locker.locker import Locker
from terminal.online.parcels import ParcelApi

locker_app = typer.Typer(help="Parcel locker: collect parcels with a tap or a code.",
                         no_args_is_help=True)  # fmt: skip


def _locker(st: Station, json_out: bool) -> Locker:
    return Locker(ParcelApi(st.client, st.settings.terminal_id), st.actuator,
                  st.settings.locker, currency=st.settings.currency, kernel=st.kernel,
                  show=None if json_out else partial(show_ui, err), books=st.books)  # fmt: skip


@locker_app.command("pickup")
def locker_pickup(
    code: Annotated[bool, typer.Option("--code", help="Ask for the 6-digit pickup code")] = False,
    watch: Annotated[
        float | None,
        typer.Option(help="Seconds to follow the doors (default: locker.left_open_after)"),
    ] = None,
    reader: ReaderOption = None,
    settings_file: SettingsOption = None,
    acquirer_url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """One pickup: a tap (or --code, then a tap if something is due) opens the compartments.

    Exit status: 0 opened, 1 refused or declined, 2 set-up error, 3 a door did not open
    (the parcel stays retriable without paying twice).
    """
    pickup_code = None
    if code:
        pickup_code = typer.prompt("Pickup code", hide_input=True).strip()
        if not (len(pickup_code) == 6 and pickup_code.isdigit()):
            raise fail("a pickup code is 6 digits", 2)
    with station("locker", settings_file, reader, acquirer_url) as st:
        locker = _locker(st, as_json)
        if pickup_code is not None:
            ended = run_interruptible(st.reader, lambda: locker.pickup_by_code(
                pickup_code, st.reader, wait=st.settings.wait),
                after_send=partial(journal_interrupted, st.books))  # fmt: skip
        else:
            ended = run_interruptible(st.reader, lambda: locker.pickup_by_card(
                st.reader, wait=st.settings.wait),
                after_send=partial(journal_interrupted, st.books))  # fmt: skip
        result = finished(ended, as_json)
        print_result(result, as_json)
        follow = st.settings.locker.left_open_after if watch is None else watch
        if result.doors and follow > 0:
            locker.settle(follow)
    raise typer.Exit(exit_status(result))


@locker_app.command("run")
def locker_run(
    reader: ReaderOption = None,
    settings_file: SettingsOption = None,
    acquirer_url: UrlOption = None,
    as_json: JsonOption = False,
    taps: Annotated[int, typer.Option(help="Stop after this many taps (0: never)")] = 0,
) -> None:
    """Serve the locker: pickups by tap and the doors' events, until interrupted."""
    with station("locker", settings_file, reader, acquirer_url) as st:
        locker = _locker(st, as_json)
        stop = threading.Event()
        watcher = threading.Thread(target=locker.watch, args=(stop,), daemon=True)
        watcher.start()
        try:
            serve(lambda: locker.pickup_by_card(st.reader, wait=st.settings.wait), as_json, taps,
                  after=st.books.flush)
        finally:
            stop.set()
            watcher.join(timeout=2)
