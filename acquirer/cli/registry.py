"""``tap-acquirer merchants`` and ``tap-acquirer terminals``: the registry, and terminal certificates.

::

    tap-acquirer merchants add --id BIKES1 --name "City Bikes" --mcc 7999 --currency EUR \\
        --settlement-account DE89370400440532013000
    tap-acquirer terminals add --id DOCK0001 --merchant BIKES1 --actions bike,pay --out-dir certs/
    tap-acquirer terminals reissue --id DOCK0001 --out-dir certs/
    tap-acquirer terminals revoke --id DOCK0001

``terminals add`` creates the acquirer's terminal CA on first use (``ca-cert.pem`` and the
owner-only ``ca-key.pem`` in the data directory) and writes the terminal's certificate, its
private key (owner-only) and the CA certificate the terminal uses to check the acquirer.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from acquirer.ca import CertificateAuthority, IssuedCertificate
from acquirer.clock import utc_now
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
from acquirer.errors import RegistryError
from acquirer.registry import MerchantRow, SqlRegistryStore, TerminalRow, TerminalStatus
from acquirer.settings import Settings
from emvcore.currency import currency
from emvcore.errors import EncodingError
from emvcore.keyfile import write_private_file

merchants_app = typer.Typer(help="Register and list merchants.", no_args_is_help=True)
terminals_app = typer.Typer(
    help="Register terminals and issue their mutual-TLS certificates.", no_args_is_help=True
)

#: Terminal and merchant ids: what the API's terminal_id pattern allows.
_ID = re.compile(r"[A-Za-z0-9]{1,16}")
#: Actions a terminal can be allowed (DESIGN.md: pay, unlock a bike, open a parcel locker;
#: a courier's terminal registers parcels into lockers).
ACTIONS = ("pay", "bike", "locker", "courier")

TerminalIdOption = Annotated[str, typer.Option("--id", help="Terminal id (1-16 letters/digits)")]
OutDir = Annotated[
    Path,
    typer.Option(
        "--out-dir", help="Where to write the certificate, key and CA certificate", file_okay=False
    ),
]


def _check_id(value: str, what: str) -> str:
    if not _ID.fullmatch(value):
        raise RegistryError(f"{what} id must be 1-16 letters or digits")
    return value


def load_or_create_ca(settings: Settings) -> CertificateAuthority:
    """The data directory's terminal CA, created on first use."""
    if settings.ca_cert.exists() or settings.ca_key.exists():
        return CertificateAuthority.load(settings.ca_cert, settings.ca_key)
    ca = CertificateAuthority.create()
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca.save(settings.ca_cert, settings.ca_key)
    return ca


def _write_credentials(
    out_dir: Path, terminal_id: str, ca: CertificateAuthority, issued: IssuedCertificate
) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{terminal_id}-cert.pem").write_bytes(issued.cert_pem)
    write_private_file(out_dir / f"{terminal_id}-key.pem", issued.key_pem)
    (out_dir / "ca-cert.pem").write_bytes(ca.cert_pem)
    out.print(
        f"terminal {terminal_id}: certificate serial {issued.serial} written to {out_dir} "
        f"({terminal_id}-cert.pem, {terminal_id}-key.pem, ca-cert.pem)",
        highlight=False,
    )


@merchants_app.command("add")
def add_merchant(
    merchant_id: Annotated[str, typer.Option("--id", help="Merchant id (1-16 letters/digits)")],
    name: Annotated[str, typer.Option(help="Trading name")],
    mcc: Annotated[str, typer.Option(help="Merchant category code (ISO 18245, 4 digits)")],
    currency_code: Annotated[str, typer.Option("--currency", help="ISO 4217 code, e.g. EUR")],
    settlement_account: Annotated[str, typer.Option(help="Account the merchant is paid to")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Register a merchant."""
    settings = cli_settings(data_dir, database_url)
    with reported_errors():
        _check_id(merchant_id, "merchant")
        if not re.fullmatch(r"[0-9]{4}", mcc):
            raise RegistryError("the merchant category code must be 4 digits (ISO 18245)")
        try:
            currency(currency_code)
        except EncodingError:
            raise RegistryError(f"unknown ISO 4217 currency {currency_code!r}") from None
        if not settlement_account.strip():
            raise RegistryError("the settlement account must not be empty")
        row = MerchantRow(
            merchant_id, name, mcc, currency_code, settlement_account.strip(), utc_now()
        )
        with opened_store(settings, SqlRegistryStore) as store:
            if not store.put_merchant(row):
                raise RegistryError(f"merchant {merchant_id} is already registered")
    out.print(f"merchant {merchant_id} registered (MCC {mcc}, {currency_code})", highlight=False)


@merchants_app.command("list")
def list_merchants(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """List the registered merchants."""
    with command_store(data_dir, database_url, SqlRegistryStore) as store:
        rows = store.list_merchants()
    table = Table(title=f"{len(rows)} merchant(s)", box=box.SIMPLE_HEAD, pad_edge=False)
    for header in ("id", "name", "MCC", "currency"):
        table.add_column(header, no_wrap=True)
    for row in rows:
        table.add_row(row.id, row.name, row.mcc, row.currency)
    out.print(table)


@terminals_app.command("add")
def add_terminal(
    terminal_id: TerminalIdOption,
    merchant: Annotated[str, typer.Option(help="The merchant's id")],
    out_dir: OutDir,
    actions: Annotated[
        str, typer.Option(help="Allowed actions, comma-separated: pay, bike, locker, courier")
    ] = "pay",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Register a terminal and issue its client certificate and key."""
    settings = cli_settings(data_dir, database_url)
    with reported_errors():
        _check_id(terminal_id, "terminal")
        allowed = tuple(a.strip() for a in actions.split(",") if a.strip())
        unknown = [a for a in allowed if a not in ACTIONS]
        if unknown or not allowed:
            raise RegistryError(f"actions must be some of {', '.join(ACTIONS)}")
        ca = load_or_create_ca(settings)
        issued = ca.issue_terminal(terminal_id)
        row = TerminalRow(
            terminal_id, merchant, allowed, TerminalStatus.ACTIVE, issued.serial, utc_now()
        )
        with opened_store(settings, SqlRegistryStore) as store:
            if not store.put_terminal(row):
                raise RegistryError(f"terminal {terminal_id} is already registered (use reissue)")
        _write_credentials(out_dir, terminal_id, ca, issued)


@terminals_app.command("reissue")
def reissue_terminal(
    terminal_id: TerminalIdOption,
    out_dir: OutDir,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Issue a new certificate for a terminal; its previous certificate stops working."""
    settings = cli_settings(data_dir, database_url)
    with reported_errors():
        ca = load_or_create_ca(settings)
        issued = ca.issue_terminal(terminal_id)
        with opened_store(settings, SqlRegistryStore) as store:
            store.update_terminal(terminal_id, cert_serial=issued.serial)
        _write_credentials(out_dir, terminal_id, ca, issued)


@terminals_app.command("revoke")
def revoke_terminal(
    terminal_id: TerminalIdOption, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """Refuse a terminal from now on, whatever certificate it presents."""
    with command_store(data_dir, database_url, SqlRegistryStore) as store:
        store.update_terminal(terminal_id, status=TerminalStatus.REVOKED)
    err.print(f"terminal {terminal_id} revoked", highlight=False)


@terminals_app.command("list")
def list_terminals(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """List the registered terminals."""
    with command_store(data_dir, database_url, SqlRegistryStore) as store:
        rows = store.list_terminals()
    table = Table(title=f"{len(rows)} terminal(s)", box=box.SIMPLE_HEAD, pad_edge=False)
    for header in ("id", "merchant", "actions", "status"):
        table.add_column(header, no_wrap=True)
    table.add_column("certificate serial", overflow="fold")
    for row in rows:
        table.add_row(
            row.id, row.merchant_id, ",".join(row.actions), row.status.value, row.cert_serial or "-"
        )
    out.print(table)
