"""``tap-terminal run``: the terminal as a service, serving its local API until stopped."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated

import typer

from terminal.cli.common import acquirer_client, fail
from terminal.errors import SettingsError, TerminalError
from terminal.kernel import Kernel
from terminal.readers import open_reader
from terminal.settings import kernel_config, load_settings

__all__ = ["run_command"]


def run_command(
    settings_file: Annotated[
        Path | None, typer.Option("--settings", help="Settings file (TOML)", dir_okay=False)
    ] = None,
    reader: Annotated[
        str | None, typer.Option("--reader", "-r", help="Reader (default: from settings)")
    ] = None,
    port: Annotated[int | None, typer.Option(help="TCP port (default: daemon.port)")] = None,
) -> None:
    """Run the terminal: own the reader, the journal and the outbox; serve the local API.

    Kiosk apps and scripts drive it over HTTP with the bearer token named in the settings
    (the daemon table: listen, port or socket, token_file). Exit status: 0 stopped, 2 set-up
    error.
    """
    from terminal.daemon.api import create_app
    from terminal.daemon.server import bind, server
    from terminal.daemon.service import Daemon
    from terminal.daemon.settings import read_token
    from terminal.daemon.wiring import acquirer_http

    try:
        settings = load_settings(settings_file)
        token = read_token(settings.daemon)
        kernel = Kernel(kernel_config(settings))
        spec = reader or settings.reader
        daemon = Daemon(settings, open_reader=lambda: open_reader(
            spec, card_timeout=settings.card_timeout), kernel=kernel,
            client=acquirer_client(settings), http=acquirer_http(settings))  # fmt: skip
        sock = bind(settings.daemon.listen, settings.daemon.port if port is None else port,
                    settings.daemon.socket)  # fmt: skip
    except (SettingsError, TerminalError, OSError) as exc:
        raise fail(str(exc), 2) from None
    daemon.start()
    srv = server(create_app(daemon, token))
    where = settings.daemon.socket or "http://{}:{}".format(*sock.getsockname()[:2])
    typer.echo(f"tap-terminal run: listening on {where} (reader {spec})", err=True)
    signal.signal(signal.SIGTERM, lambda *_: setattr(srv, "should_exit", True))
    try:
        srv.run(sockets=[sock])
    finally:
        daemon.stop()
        sock.close()

