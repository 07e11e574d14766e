"""``tap-terminal bike`` and ``tap-terminal locker``: a dock or a locker, for kiosks and scripts.

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
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from terminal.actuators import Actuator, open_actuator
from terminal.bike import BikeDock, RideResult
from terminal.bike_queue import DenyCache, RideQueue, TariffCache
from terminal.cli_common import acquirer_client, err, exit_interrupted, fail
from terminal.display import show_pickup, show_ride, show_ui
from terminal.errors import ActuatorError, ReaderError, SettingsError
from terminal.interrupt import Interrupted, run_interruptible
from terminal.kernel import Kernel
from terminal.locker import Locker, PickupResult
from terminal.online import AcquirerClient
from terminal.online_bikes import BikeApi
from terminal.online_parcels import ParcelApi
from terminal.readers import open_reader
from terminal.readers.base import Reader
from terminal.settings import TerminalSettings, kernel_config, load_settings

bike_app = typer.Typer(help="Bike dock: rent and return bikes with a tap.", no_args_is_help=True)
locker_app = typer.Typer(help="Parcel locker: collect parcels with a tap or a code.",
                         no_args_is_help=True)  # fmt: skip

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


@contextmanager
def station(mode: str, settings_file: Path | None, reader: str | None,
            url: str | None) -> Iterator[Station]:  # fmt: skip
    """Open the reader, the acquirer client and the actuator of a ``mode`` terminal."""
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
            yield Station(settings, card_reader, kernel, client, actuator)
    except (SettingsError, ReaderError, ActuatorError) as exc:
        raise fail(str(exc), 2) from None


def _dock(st: Station, json_out: bool) -> BikeDock:
    bike = st.settings.bike
    return BikeDock(BikeApi(st.client, st.settings.terminal_id), st.actuator, bike,
                    currency=st.settings.currency, queue=RideQueue(bike.queue),
                    deny=DenyCache(bike.deny_list), tariff=TariffCache(bike.tariff),
                    kernel=st.kernel,
                    show=None if json_out else partial(show_ui, err))  # fmt: skip


def _locker(st: Station, json_out: bool) -> Locker:
    return Locker(ParcelApi(st.client, st.settings.terminal_id), st.actuator,
                  st.settings.locker, currency=st.settings.currency, kernel=st.kernel,
                  show=None if json_out else partial(show_ui, err))  # fmt: skip


def _finished(ended: ResultT | Interrupted[ResultT], as_json: bool) -> ResultT:
    """The tap's result; a tap a signal ended is reported and exits 130/143 (SIGINT/SIGTERM)."""
    if not isinstance(ended, Interrupted):
        return ended
    if ended.result is None:
        exit_interrupted(ended, as_json)
    err.print(f"{ended.signal_name} came after the outcome was known: it stands")
    return ended.result


def _status(result: RideResult | PickupResult) -> int:
    if result.ok:
        return 0
    return 3 if result.outcome in ACTUATOR_FAILED or result.reason in ACTUATOR_FAILED else 1


def _print(result: RideResult | PickupResult, json_out: bool) -> None:
    if json_out:
        typer.echo(json.dumps(result.to_dict()))
    elif isinstance(result, RideResult):
        show_ride(Console(), result)
    else:
        show_pickup(Console(), result)


# -- bike ---------------------------------------------------------------------------------------


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
            result = _finished(ended, as_json)
        except SettingsError as exc:
            raise fail(str(exc), 2) from None
        finally:
            dock_.queue.close()
    _print(result, as_json)
    raise typer.Exit(_status(result))


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
        watcher = threading.Thread(target=dock.watch, args=(stop, partial(_print, json_out=as_json)),
                                   daemon=True)  # fmt: skip
        watcher.start()
        try:
            _serve(lambda: dock.tap(st.reader, wait=st.settings.wait), as_json, taps, dock.sync)
        finally:
            stop.set()
            watcher.join(timeout=2)
            dock.queue.close()


# -- locker -------------------------------------------------------------------------------------


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
                pickup_code, st.reader, wait=st.settings.wait))  # fmt: skip
        else:
            ended = run_interruptible(st.reader, lambda: locker.pickup_by_card(
                st.reader, wait=st.settings.wait))  # fmt: skip
        result = _finished(ended, as_json)
        _print(result, as_json)
        follow = st.settings.locker.left_open_after if watch is None else watch
        if result.doors and follow > 0:
            locker.settle(follow)
    raise typer.Exit(_status(result))


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
            _serve(lambda: locker.pickup_by_card(st.reader, wait=st.settings.wait), as_json, taps)
        finally:
            stop.set()
            watcher.join(timeout=2)


def _serve(
    one: Callable[[], RideResult | PickupResult],
    as_json: bool,
    taps: int,
    between: Callable[[], object] | None = None,
) -> None:
    """Serve taps with ``one()`` until interrupted (or ``taps`` served); no card: wait again."""
    served = 0
    try:
        while taps == 0 or served < taps:
            result = one()
            if result.outcome == "not_read" and result.reason == "no_card":
                if between is not None:
                    between()  # an idle dock catches up with the acquirer
                continue
            served += 1
            _print(result, as_json)
    except KeyboardInterrupt:
        err.print("stopped")
