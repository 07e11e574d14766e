"""``tap-acquirer``: set up, provision tokens for, and run the acquirer.

::

    tap-acquirer init [--data-dir DIR] [--force]
    tap-acquirer tokens provision --scheme visa --funding-pan-file pan.txt [--out token.json]
    tap-acquirer tokens list
    tap-acquirer serve [--host 127.0.0.1] [--port 8080]

The data directory defaults to ``$TAP_ACQUIRER_HOME`` or ``~/.local/share/tap/acquirer``.
A funding PAN is read from a file or standard input, never from the command line, where it
would be kept in shell history and shown by ``ps``. Errors are one line on standard error,
exit status 1 (2 for a mistyped command).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from acquirer.errors import AcquirerError, ConfigurationError
from acquirer.keys import initialize, load_key_material
from acquirer.settings import HOME_ENV, Settings, default_data_dir
from acquirer.store.sqlite import SqliteStore
from acquirer.vault import TokenVault
from emvcore.errors import EmvError
from emvcore.keyfile import write_private_file
from emvcore.pan import mask_pan

app = typer.Typer(
    name="tap-acquirer",
    help="The Tap acquirer: token vault and online authorization of contactless payments.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
tokens_app = typer.Typer(
    help="Issue and list payment tokens (DPANs).", no_args_is_help=True, rich_markup_mode="markdown"
)
app.add_typer(tokens_app, name="tokens")

out = Console()
err = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help=f"Data directory (default: ${HOME_ENV}, else ~/.local/share/tap/acquirer)",
        file_okay=False,
        show_default=False,
    ),
]


def _settings(data_dir: Path | None) -> Settings:
    return Settings(data_dir=data_dir if data_dir is not None else default_data_dir())


@contextmanager
def _reported_errors() -> Iterator[None]:
    """Turn expected failures into one red line on stderr and exit status 1."""
    try:
        yield
    except (AcquirerError, EmvError, OSError) as exc:
        err.print(Text.assemble(("error: ", "bold red"), str(exc)))
        raise typer.Exit(1) from None


@app.command()
def init(
    data_dir: DataDir = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Replace existing keys (tokens issued under them stop working)"
        ),
    ] = False,
) -> None:
    """Create test keys and the database in the data directory.

    Writes issuer-keys.json (issuer master keys for the test token ranges) and
    vault-key.json (the token vault key), both readable by you only, and creates the
    database. Prints key check values (KCVs), never keys.
    """
    settings = _settings(data_dir)
    with _reported_errors():
        checks = initialize(settings, force=force)
    out.print(f"Initialized {settings.data_dir} with [bold]test keys[/] (development only).")
    table = Table("key", "KCV", title="Key check values")
    for check in checks:
        table.add_row(check.label, check.kcv)
    out.print(table)


def _read_funding_pan(source: str) -> str:
    if source == "-":
        text = sys.stdin.read()
    else:
        text = Path(source).read_text(encoding="utf-8")
    return "".join(text.split())


@tokens_app.command("provision")
def provision(
    scheme: Annotated[str, typer.Option(help="Card scheme: visa or mastercard")],
    funding_pan_file: Annotated[
        str,
        typer.Option(
            "--funding-pan-file",
            help="File holding the funding PAN, or - for standard input (never on the command line)",
        ),
    ],
    data_dir: DataDir = None,
    expiry: Annotated[
        str | None,
        typer.Option(help="Token expiry YYMM (default: three years from now)", show_default=False),
    ] = None,
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Write the token record here instead of printing it", dir_okay=False
        ),
    ] = None,
) -> None:
    """Issue a token for a funding card and print its token record (JSON).

    The record (token, expiry, PSN, PAR) is what `tap-card personalize` turns into a card;
    it never contains the funding PAN.
    """
    settings = _settings(data_dir)
    with _reported_errors():
        funding_pan = _read_funding_pan(funding_pan_file)
        keys = load_key_material(settings)
        store = SqliteStore(settings.database)
        try:
            store.migrate()
            vault = TokenVault(
                store,
                keys.issuer_keys,
                keys.vault_key,
                bin_controller_id=settings.bin_controller_id,
            )
            record = vault.provision(funding_pan, scheme.lower(), expiry)
        finally:
            store.close()
        if out_file is not None:
            write_private_file(out_file, (record.to_json() + "\n").encode())
            err.print(f"token {mask_pan(record.token)} written to {out_file}")
        else:
            sys.stdout.write(record.to_json() + "\n")


@tokens_app.command("list")
def list_tokens(data_dir: DataDir = None) -> None:
    """List the tokens in the vault (masked)."""
    settings = _settings(data_dir)
    with _reported_errors():
        if not settings.database.exists():
            raise ConfigurationError(
                f"no database in {settings.data_dir} (run `tap-acquirer init` first)"
            )
        store = SqliteStore(settings.database)
        try:
            store.migrate()
            rows = store.list_tokens()
        finally:
            store.close()
    table = Table(title=f"{len(rows)} token(s)", box=box.SIMPLE_HEAD, pad_edge=False)
    for header in ("token", "PAR", "scheme", "expiry", "status"):
        table.add_column(header, no_wrap=True)
    for row in rows:
        table.add_row(
            mask_pan(row.token),
            row.par,
            row.scheme,
            f"{row.expiry[2:]}/{row.expiry[:2]}",
            row.status.value,
        )
    out.print(table)


class _AnnouncingServer(uvicorn.Server):
    """A uvicorn server that prints its address once it accepts connections."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self.servers:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            display = f"[{host}]" if ":" in host else host
            out.print(f"tap-acquirer listening on http://{display}:{port}", highlight=False)
            out.file.flush()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command()
def serve(
    data_dir: DataDir = None,
    host: Annotated[str, typer.Option(help="Address to listen on (loopback only for now)")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="TCP port (0: any free port)", min=0, max=65535)] = 8080,
) -> None:
    """Run the acquirer's HTTP API.

    Plain HTTP on a loopback address only, for development: terminals authenticate with
    mutual TLS, which arrives with the acquirer issue.
    """
    from acquirer.app import create_app

    if not _is_loopback(host):
        err.print(
            Text.assemble(
                ("error: ", "bold red"),
                f"refusing to listen on {host}: plain HTTP is for loopback addresses only; "
                "serving terminals over the network needs mutual TLS, which comes with the "
                "acquirer issue",
            )
        )
        raise typer.Exit(2)
    settings = _settings(data_dir)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    with _reported_errors():
        api = create_app(settings)
    err.print(
        Text(
            "warning: plain HTTP, development only (no TLS, no terminal authentication)",
            style="bold yellow",
        )
    )
    config = uvicorn.Config(
        api, host=host, port=port, log_level="info", access_log=False, server_header=False
    )
    _AnnouncingServer(config).run()


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
