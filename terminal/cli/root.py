"""``tap-terminal``: the shopkeeper's command line.

The root application: ``pay`` (:mod:`terminal.modes.pay.cli`), ``run`` (the daemon,
:mod:`terminal.daemon.cli`), ``doctor``, the ``bike`` and ``locker`` sub-commands
(:mod:`terminal.modes.bike.cli`, :mod:`terminal.modes.locker.cli`), ``tag`` (Tap! mode,
:mod:`terminal.modes.tag.cli`), ``journal`` (:mod:`terminal.journal.cli`) and ``outbox``
(:mod:`terminal.outbox.cli`).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

from terminal.console.cli import console_command
from terminal.daemon.cli import run_command
from terminal.journal.cli import journal_app
from terminal.modes.bike.cli import bike_app
from terminal.modes.locker.cli import locker_app
from terminal.modes.pay.cli import pay_command
from terminal.modes.tag.cli import tag_app
from terminal.outbox.cli import outbox_app

app = typer.Typer(
    help="Tap terminal: take contactless payments with a USB NFC reader or an emulated card.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Tap terminal: take contactless payments with a USB NFC reader or an emulated card."""


app.command("pay")(pay_command)
app.command("console")(console_command)
app.command("run")(run_command)


@app.command("doctor")
def doctor_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON")] = False,
) -> None:
    """Check readers, pcscd, USB permissions and kernel drivers; print the fix for each problem.

    Exit status: 0 when nothing blocks a payment, 1 when something does.
    """
    from terminal.doctor import diagnose, render

    report = diagnose()
    if as_json:
        typer.echo(json.dumps(report.to_dict()))
    else:
        render(report, Console())
    raise typer.Exit(0 if report.healthy else 1)


app.add_typer(bike_app, name="bike")
app.add_typer(locker_app, name="locker")
app.add_typer(tag_app, name="tag")
app.add_typer(journal_app, name="journal")
app.add_typer(outbox_app, name="outbox")
