"""``tap-acquirer``: set up, provision tokens for, and run the acquirer.

::

    tap-acquirer init [--data-dir DIR] [--force]
    tap-acquirer tokens provision --scheme visa --funding-pan-file pan.txt [--out token.json]
    tap-acquirer tokens list
    tap-acquirer tokens status TOKEN suspended|active|deleted
    tap-acquirer tokens restrict TOKEN --mcc 5411,5812      (--mcc any: lift the restriction)
    tap-acquirer merchants add|list ...   tap-acquirer terminals add|reissue|revoke|list ...
    tap-acquirer settlement close|list|export ...   tap-acquirer risk deny|allow|limit ...
    tap-acquirer bikes tariff set|show ...   tap-acquirer bikes rentals|debts
    tap-acquirer keys list|encrypt|import|kek new ...
    tap-acquirer lockers compartments add|list ...  lockers fees set|show ...  lockers parcels
    tap-acquirer serve [--host 127.0.0.1] [--port 8080] [--tls [--tls-cert C --tls-key K]]
                       [--production] [--health-port 8081]

The data directory defaults to ``$TAP_ACQUIRER_HOME`` or ``~/.local/share/tap/acquirer``.
A funding PAN is read from a file or standard input, never from the command line, where it
would be kept in shell history and shown by ``ps``. Errors are one line on standard error,
exit status 1 (2 for a mistyped command).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import os
import socket
import ssl
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from rich.table import Table
from rich.text import Text

from acquirer.cli.keys import keys_app
from acquirer.cli.registry import load_or_create_ca, merchants_app, terminals_app
from acquirer.cli.tokens import tokens_app
from acquirer.console import (
    DatabaseUrl,
    DataDir,
    cli_settings,
    err,
    opened_store,
    out,
    reported_errors,
    use_migrations,
)
from acquirer.domains import DOMAINS, MIGRATIONS
from acquirer.errors import ConfigurationError, ProductionRefusedError
from acquirer.keys import initialize, load_key_material
from acquirer.registry import SqlRegistryStore
from acquirer.serving import (
    HardenedConfig,
    HardenedServer,
    ReusePortWorkers,
    ServerLimits,
    bind_reuseport,
    raise_open_files,
)
from acquirer.serving import limits as limits_defaults
from acquirer.settings import (
    DATABASE_URL_ENV,
    HOME_ENV,
    LOG_FORMAT,
    PRODUCTION_ENV,
    REQUIRE_CLIENT_CERTIFICATES_ENV,
    Settings,
)
from emvcore.keyfile import write_private_file

app = typer.Typer(
    name="tap-acquirer",
    help="The Tap acquirer: token vault, authorization of contactless payments, the payment "
    "lifecycle, ledger and settlement, terminals over mutual TLS.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
app.add_typer(tokens_app, name="tokens")
app.add_typer(merchants_app, name="merchants")
app.add_typer(terminals_app, name="terminals")
app.add_typer(keys_app, name="keys")
for domain in DOMAINS:
    for name, commands in domain.commands:
        app.add_typer(commands, name=name)
use_migrations(MIGRATIONS)


@app.command()
def init(
    data_dir: DataDir = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Replace existing keys (tokens issued under them stop working)"
        ),
    ] = False,
    production: Annotated[
        bool,
        typer.Option(
            "--production",
            help="A production data directory: no test keys, key files sealed under the "
            "key-encryption key (TAP_ACQUIRER_KEK_FILE); import real keys with `keys import`",
        ),
    ] = False,
) -> None:
    """Create test keys (or, with --production, no keys) and the database.

    Writes issuer-keys.json (issuer master keys for the test token ranges), vault-key.json
    (the token vault key) and keyring.json (a test DUKPT BDK), all readable by you only,
    sealed under the key-encryption key when TAP_ACQUIRER_KEK_FILE names one, and creates
    the database. Prints key check values (KCVs), never keys.
    """
    settings = cli_settings(data_dir)
    with reported_errors():
        checks = initialize(settings, force=force, migrations=MIGRATIONS, production=production)
    if production:
        out.print(
            f"Initialized {settings.data_dir} for [bold]production[/]: no keys yet; import "
            "them with `tap-acquirer keys import` (test keys are refused here)."
        )
        return
    out.print(f"Initialized {settings.data_dir} with [bold]test keys[/] (development only).")
    table = Table("key", "KCV", title="Key check values")
    for check in checks:
        table.add_row(check.label, check.kcv)
    out.print(table)


class _AnnouncingServer(HardenedServer):
    """A uvicorn server that prints its address once it accepts connections."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self.servers:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            display = f"[{host}]" if ":" in host else host
            scheme = "https" if self.config.is_ssl else "http"
            out.print(f"tap-acquirer listening on {scheme}://{display}:{port}", highlight=False)
            out.file.flush()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _tls_options(
    settings: Settings, host: str, cert: Path | None = None, key: Path | None = None
) -> dict[str, Any]:
    """uvicorn's TLS options for mutual TLS: a server certificate, client certs required.

    The server certificate is the operator's own (``cert``/``key``, e.g. from their public
    or corporate CA) or, for development, one the acquirer's terminal CA issues for ``host``.
    """
    ca = load_or_create_ca(settings)
    if cert is None or key is None:
        issued = ca.issue_server(host)
        write_private_file(settings.server_key, issued.key_pem)
        settings.server_cert.write_bytes(issued.cert_pem)
        cert, key = settings.server_cert, settings.server_key
    return {
        "ssl_certfile": str(cert),
        "ssl_keyfile": str(key),
        "ssl_ca_certs": str(settings.ca_cert),
        "ssl_cert_reqs": ssl.CERT_REQUIRED,
    }


def check_production(
    production: bool, *, tls: bool, tls_cert: Path | None, tls_key: Path | None
) -> None:
    """Production mode refuses plain HTTP and a server certificate the acquirer issued itself.

    (Test keys and key files in clear are refused when the keys load.)
    """
    if not production:
        return
    if not tls:
        raise ProductionRefusedError(
            "production mode refuses plain HTTP: serve with --tls (terminals over mutual TLS)"
        )
    if tls_cert is None or tls_key is None:
        raise ProductionRefusedError(
            "production mode refuses a server certificate issued by the acquirer's own test "
            "CA: give the operator's certificate with --tls-cert and --tls-key"
        )


def _health_server(host: str, port: int) -> uvicorn.Server:
    """A plain-HTTP listener for a load balancer's ``/v1/health``, in a thread of its own."""
    from acquirer.app import create_health_app

    config = uvicorn.Config(
        create_health_app(), host=host, port=port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, name="health", daemon=True).start()
    return server


@app.command()
def serve(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (0: any free port)", min=0, max=65535)] = 8080,
    workers: Annotated[
        int,
        typer.Option(help="Worker processes (each with its own database connections)", min=1),
    ] = 1,
    tls: Annotated[
        bool,
        typer.Option(
            "--tls",
            help="Mutual TLS: present a certificate of the acquirer's CA and accept only "
            "registered terminals' client certificates (required off loopback)",
        ),
    ] = False,
    handshake_timeout: Annotated[
        float, typer.Option(help="Seconds a TLS handshake may take before the connection is closed")
    ] = limits_defaults.HANDSHAKE_TIMEOUT,
    header_timeout: Annotated[
        float, typer.Option(help="Seconds a connection may wait before sending a request head")
    ] = limits_defaults.HEADER_TIMEOUT,
    body_timeout: Annotated[
        float, typer.Option(help="Seconds a request body may take to arrive (then 408)")
    ] = limits_defaults.BODY_TIMEOUT,
    max_connections: Annotated[
        int,
        typer.Option(
            help="Open connections per worker; beyond 3/4 of it, new ones close the oldest "
            "never-served idle connection",
            min=16,
        ),
    ] = limits_defaults.MAX_CONNECTIONS,
    tls_cert: Annotated[
        Path | None,
        typer.Option(help="The operator's server certificate (PEM; default: self-issued)"),
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option(help="The private key of --tls-cert (PEM)")
    ] = None,
    production: Annotated[
        bool,
        typer.Option(
            "--production",
            help="Refuse test keys, clear key files, plain HTTP and a self-issued server "
            "certificate (also TAP_ACQUIRER_PRODUCTION=1, or a data directory made by "
            "init --production)",
        ),
    ] = False,
    health_port: Annotated[
        int | None,
        typer.Option(
            help="Also answer GET /v1/health over plain HTTP on this port, without a client "
            "certificate, for a load balancer (it says nothing but ok)",
            min=0,
            max=65535,
        ),
    ] = None,
) -> None:
    """Run the acquirer's HTTP API.

    With `--tls`, terminals connect over mutual TLS with the certificates `terminals add`
    issued, and every request is checked against the registry. Without it, plain HTTP on a
    loopback address only, for development.
    """
    from acquirer.app import create_app

    if not tls and not _is_loopback(host):
        err.print(
            Text.assemble(
                ("error: ", "bold red"),
                f"refusing to listen on {host} without --tls: plain HTTP is for loopback "
                "addresses only; terminals on the network connect over mutual TLS",
            )
        )
        raise typer.Exit(2)
    settings = cli_settings(data_dir, database_url)
    if production:
        settings = dataclasses.replace(settings, production=True)
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    options: dict[str, Any] = {}
    with reported_errors():
        limits = ServerLimits(handshake_timeout, header_timeout, body_timeout, max_connections)
        raise_open_files(limits)
        if (tls_cert is None) != (tls_key is None):
            raise ConfigurationError("give --tls-cert and --tls-key together")
        if tls_cert is not None and not tls:
            raise ConfigurationError("--tls-cert needs --tls")
        material = load_key_material(settings)
        check_production(
            settings.production or material.production,
            tls=tls,
            tls_cert=tls_cert,
            tls_key=tls_key,
        )
        if material.production:
            settings = dataclasses.replace(settings, production=True)
        if tls:
            options = _tls_options(settings, host, tls_cert, tls_key)
            settings = dataclasses.replace(settings, require_client_certificates=True)
        if workers == 1:
            api = create_app(settings)
        else:  # each worker builds its own app; check the database here, once
            with opened_store(settings, SqlRegistryStore):
                pass
    if health_port is not None:
        _health_server(host, health_port)
    if not tls:
        err.print(
            Text(
                "warning: plain HTTP, development only (no TLS, no terminal authentication)",
                style="bold yellow",
            )
        )
    if workers == 1:
        config = HardenedConfig(
            api,
            limits=limits,
            host=host,
            port=port,
            log_level="info",
            access_log=False,
            server_header=False,
            proxy_headers=False,  # terminals connect directly; no proxy's headers to trust
            **options,
        )
        _AnnouncingServer(config).run()
        return
    _serve_workers(settings, host, port, workers, limits, options)


def _serve_workers(
    settings: Settings,
    host: str,
    port: int,
    workers: int,
    limits: ServerLimits,
    options: dict[str, Any],
) -> None:
    """Several uvicorn worker processes, one ``SO_REUSEPORT`` socket each, each with its app."""
    os.environ[HOME_ENV] = str(settings.data_dir)
    if settings.database_url is not None:
        os.environ[DATABASE_URL_ENV] = settings.database_url
    if settings.require_client_certificates:
        os.environ[REQUIRE_CLIENT_CERTIFICATES_ENV] = "1"
    if settings.production:
        os.environ[PRODUCTION_ENV] = "1"
    config = HardenedConfig(
        "acquirer.app:app_from_environment",
        limits=limits,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=False,
        server_header=False,
        proxy_headers=False,  # terminals connect directly; no proxy's headers to trust
        **options,
    )
    sockets = bind_reuseport(host, port, workers, backlog=config.backlog)
    bound_host, bound_port = sockets[0].getsockname()[:2]
    scheme = "https" if config.is_ssl else "http"
    out.print(
        f"tap-acquirer listening on {scheme}://{bound_host}:{bound_port} ({workers} workers)",
        highlight=False,
    )
    out.file.flush()
    ReusePortWorkers(config, sockets).run()


def main() -> None:
    """Console-script entry point."""
    app()
