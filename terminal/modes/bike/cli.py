"""``tap-terminal bike``: a bike dock, for kiosks and scripts (see :mod:`terminal.cli.station`).

Exit status of every command: 0 done (unlocked, returned, or queued while offline), 1 refused,
declined or not completed, 2 usage or set-up error, 3 the lock did not open, 130/143 a tap
ended by SIGINT/SIGTERM (cancelled, or its outcome unknown).
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
from terminal.errors import SettingsError
from terminal.interrupt import run_interruptible
from terminal.modes.bike.dock import BikeDock
from terminal.modes.bike.queue import DenyCache, RideQueue, TariffCache, migrate_legacy_queue
from terminal.online.bikes import BikeApi

bike_app = typer.Typer(help="Bike dock: rent and return bikes with a tap.", no_args_is_help=True)


def _dock(st: Station, json_out: bool) -> BikeDock:
    """The dock of the settings; its rides in the terminal's one outbox (``[terminal] outbox``),
    with whatever the former ``bike.queue`` file still held moved there first."""
    bike = st.settings.bike
    queue = RideQueue(st.books.outbox)
    migrate_legacy_queue(bike.queue, queue)
    return BikeDock(BikeApi(st.client, st.settings.terminal_id), st.actuator, bike,
                    currency=st.settings.currency, queue=queue,
                    deny=DenyCache(bike.deny_list), tariff=TariffCache(bike.tariff),
                    kernel=st.kernel,
                    show=None if json_out else partial(show_ui, err))  # fmt: skip


@bike_app.command("tap")
def bike_tap(
    dock: Annotated[str, typer.Option("--dock", "-d", help="The dock tapped at")],
    bike: Annotated[
        str | None, typer.Option("--bike", "-b", help="The bike in that dock: a tap-on rents it")
    ] = None,
    reader: ReaderOption = None,
    settings_file: SettingsOption = None,
    acquirer_url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """One tap at a dock: with --bike a tap-on (deposit hold, unlock), without a tap-off.

    Exit status: 0 unlocked or returned, 1 refused or no ride, 2 set-up error, 3 the lock
    did not open (rental cancelled, hold released).
    """
    with station("bike", settings_file, reader, acquirer_url) as st:
        dock_ = _dock(st, as_json)
        try:
            if bike is None:
                ended = run_interruptible(st.reader, lambda: dock_.tap_off(
                    st.reader, dock, wait=st.settings.wait))  # fmt: skip
            else:
                ended = run_interruptible(st.reader, lambda: dock_.tap_on(
                    st.reader, dock, bike, wait=st.settings.wait))  # fmt: skip
            result = finished(ended, as_json)
        except SettingsError as exc:
            raise fail(str(exc), 2) from None
        finally:
            dock_.queue.close()
    print_result(result, as_json)
    raise typer.Exit(exit_status(result))


@bike_app.command("sync")
def bike_sync(settings_file: SettingsOption = None, acquirer_url: UrlOption = None) -> None:
    """Send queued offline rides and returns, refresh the deny list.

    Exit status: 0 online with nothing left to send, 1 still offline or entries refused.
    """
    with station("bike", settings_file, "emulated:visa", acquirer_url) as st:
        dock = _dock(st, True)
        online = dock.sync()
        left, rejected = len(dock.queue.pending()), len(dock.queue.rejected())
        dock.queue.close()
    err.print(f"{'online' if online else 'offline'}: {left} waiting, {rejected} refused, "
              f"{len(dock.deny)} accounts on the deny list")  # fmt: skip
    raise typer.Exit(0 if online and not left and not rejected else 1)


@bike_app.command("run")
def bike_run(
    reader: ReaderOption = None,
    settings_file: SettingsOption = None,
    acquirer_url: UrlOption = None,
    as_json: JsonOption = False,
    taps: Annotated[int, typer.Option(help="Stop after this many taps (0: never)")] = 0,
) -> None:
    """Serve the docks: taps (tap-on at a dock holding a bike, else tap-off) and the locks'
    events (a docked bike ends its ride), until interrupted. Exit status 0, or 2."""
    with station("bike", settings_file, reader, acquirer_url) as st:
        dock = _dock(st, as_json)
        try:
            dock.start()  # the deposit: bike.deposit, the acquirer's tariff, or the cached one
        except SettingsError as exc:
            dock.queue.close()
            raise fail(str(exc), 2) from None
        dock.sync()
        stop = threading.Event()
        watcher = threading.Thread(target=dock.watch, args=(stop, partial(print_result, json_out=as_json)),
                                   daemon=True)  # fmt: skip
        watcher.start()
        try:
            serve(lambda: dock.tap(st.reader, wait=st.settings.wait), as_json, taps, dock.sync,
                  after=st.books.flush)
        finally:
            stop.set()
            watcher.join(timeout=2)
            dock.queue.close()
