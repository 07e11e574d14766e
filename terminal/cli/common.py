"""What every ``tap-terminal`` command shares: the error console, failing with an exit
status, reporting a tap a signal ended, and the acquirer client the settings describe."""

from __future__ import annotations

import json
from typing import Any, NoReturn

import typer
from rich.console import Console

from terminal.interrupt import Interrupted
from terminal.online.client import AcquirerClient, tls_context
from terminal.online.dukpt import DukptDevice
from terminal.settings import TerminalSettings

err = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` as an error; the exit to raise."""
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def acquirer_client(settings: TerminalSettings, url: str | None = None) -> AcquirerClient:
    """The client for the acquirer the settings name (mutual TLS for an https URL; the card's
    sensitive data sealed under AES DUKPT when ``acquirer.dukpt_state`` is set)."""
    url = url or settings.acquirer_url
    tls = None
    if url.startswith("https:"):
        tls = tls_context(
            settings.acquirer_ca, settings.acquirer_certificate, settings.acquirer_key
        )
    dukpt = None
    if settings.dukpt_state is not None:
        dukpt = DukptDevice(settings.dukpt_state, settings.dukpt_initial_key)
    return AcquirerClient(url, timeout=settings.acquirer_timeout, tls=tls, dukpt=dukpt)


def exit_interrupted(interrupted: Interrupted[Any], as_json: bool) -> NoReturn:
    """Report a tap a signal ended (cancelled, or its outcome unknown); exit 130 or 143."""
    summary = interrupted.to_dict()
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        err.print(f"[bold yellow]{summary['message']}[/] ({interrupted.signal_name})")
        if interrupted.outcome_unknown:
            err.print(f"idempotency key of the authorization: {interrupted.sent_key}")
    raise typer.Exit(interrupted.exit_code)
