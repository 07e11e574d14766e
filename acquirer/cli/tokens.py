"""``tap-acquirer tokens``: provision payment tokens (DPANs) and manage their status and domain.

A funding PAN is read from a file or standard input, never from the command line, where it
would be kept in shell history and shown by ``ps``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from acquirer.console import (
    DatabaseUrl,
    DataDir,
    cli_settings,
    command_store,
    err,
    opened_store,
    out,
    reported_errors,
)
from acquirer.errors import ConfigurationError, RegistryError
from acquirer.keys import load_key_material
from acquirer.registry import SqlRegistryStore, TokenStatus
from acquirer.vault import TokenVault
from emvcore.keyfile import write_private_file
from emvcore.pan import mask_pan

tokens_app = typer.Typer(
    help="Issue and list payment tokens (DPANs).", no_args_is_help=True, rich_markup_mode="markdown"
)


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
    database_url: DatabaseUrl = None,
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
    settings = cli_settings(data_dir, database_url)
    with reported_errors():
        funding_pan = _read_funding_pan(funding_pan_file)
        keys = load_key_material(settings)
        with opened_store(settings, SqlRegistryStore) as store:
            vault = TokenVault(
                store,
                keys.issuer_keys,
                keys.vault_key,
                bin_controller_id=settings.bin_controller_id,
            )
            record = vault.provision(funding_pan, scheme.lower(), expiry)
        if out_file is not None:
            write_private_file(out_file, (record.to_json() + "\n").encode())
            err.print(f"token {mask_pan(record.token)} written to {out_file}")
        else:
            sys.stdout.write(record.to_json() + "\n")


@tokens_app.command("list")
def list_tokens(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """List the tokens in the vault (masked)."""
    settings = cli_settings(data_dir, database_url)
    with reported_errors():
        if settings.database_url is None and not settings.database.exists():
            raise ConfigurationError(
                f"no database in {settings.data_dir} (run `tap-acquirer init` first)"
            )
        with opened_store(settings, SqlRegistryStore) as store:
            rows = store.list_tokens()
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


@tokens_app.command("status")
def token_status(
    token: Annotated[str, typer.Argument(help="The token (DPAN)")],
    status: Annotated[TokenStatus, typer.Argument(help="active, suspended or deleted")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Suspend, resume or delete a token; taps with a token that is not active are declined."""
    with command_store(data_dir, database_url, SqlRegistryStore) as store:
        store.set_token_status(token, status)
    err.print(f"token {mask_pan(token)} is {status.value}", highlight=False)


@tokens_app.command("restrict")
def token_restrict(
    token: Annotated[str, typer.Argument(help="The token (DPAN)")],
    mcc: Annotated[
        str,
        typer.Option(help="Merchant category codes the token may pay at, comma-separated, or any"),
    ],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Token domain restriction: the merchant categories a token may be used at."""
    settings = cli_settings(data_dir, database_url)
    with reported_errors():
        codes = None if mcc.strip().lower() == "any" else tuple(c.strip() for c in mcc.split(","))
        if codes is not None and not all(len(c) == 4 and c.isdigit() for c in codes):
            raise RegistryError("merchant category codes are 4 digits (ISO 18245)")
        with opened_store(settings, SqlRegistryStore) as store:
            store.set_token_domain(token, codes)
    err.print(f"token {mask_pan(token)} restricted to MCC {mcc}", highlight=False)
