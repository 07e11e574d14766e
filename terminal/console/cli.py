"""``tap-terminal console``: the shopkeeper's all-day screen, a client of the running daemon."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from terminal.cli.common import fail
from terminal.errors import SettingsError, TerminalError

__all__ = ["console_command"]

#: Where ``tap-terminal run`` listens by default (its ``[daemon]`` settings table).
DEFAULT_URL = "http://127.0.0.1:8765"


def _token(token_file: Path | None) -> str:
    if token_file is not None:
        try:
            return token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SettingsError(f"the token file {token_file} cannot be read: "
                                f"{exc.strerror}") from None  # fmt: skip
    token = os.environ.get("TAP_TERMINAL_TOKEN", "").strip()
    if not token:
        raise SettingsError("no API token: give --token-file FILE (the daemon's token_file) "
                            "or set TAP_TERMINAL_TOKEN")  # fmt: skip
    return token


def console_command(
    url: Annotated[str, typer.Option(help="The daemon's local API", envvar="TAP_TERMINAL_URL")]
    = DEFAULT_URL,
    token_file: Annotated[Path | None, typer.Option(
        help="File holding the daemon's bearer token (else $TAP_TERMINAL_TOKEN)")] = None,
    locale: Annotated[str, typer.Option(
        help="The shop's locale: its decimal separator is the one amounts are keyed with "
             "(fr_FR: 12,50; en_GB: 12.50)", envvar="TAP_TERMINAL_LOCALE")] = "en_GB",
    settings: Annotated[Path | None, typer.Option(
        help="Terminal settings file (currency, contactless limits, merchant name)")] = None,
) -> None:
    """The shop's console: key amounts, watch the customer's display, refund, reprint,
    totals and the batch close, all through the running terminal daemon (tap-terminal run)."""
    from emvcore.amount import decimal_separator_for
    from emvcore.errors import AmountError
    from terminal.console.amount import contactless_limit
    from terminal.console.app import ConsoleApp
    from terminal.console.client import DaemonClient
    from terminal.settings import load_settings

    try:
        terminal = load_settings(settings)
        decimal_separator_for(locale)
        client = DaemonClient(url, _token(token_file))
    except (TerminalError, AmountError) as exc:
        raise fail(str(exc)) from None
    app = ConsoleApp(client, currency=terminal.currency, locale=locale,
                     limit=contactless_limit(terminal), merchant=terminal.merchant_name)
    try:
        app.run()
    finally:
        client.close()
