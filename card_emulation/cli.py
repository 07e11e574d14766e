"""``tap-card``: personalize and list emulated cards for testing without hardware."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from card_emulation.applet import EmvApplet
from card_emulation.errors import CardEmulationError
from card_emulation.image import Fault
from card_emulation.personalization import personalize
from card_emulation.profiles import PROFILES
from card_emulation.store import CardStore
from emvcore.errors import EmvError
from emvcore.keyfile import load_issuer_keys
from emvcore.pan import mask_pan
from emvcore.provisioning import TokenRecord

app = typer.Typer(
    help="Emulated contactless cards: personalize them from a token record, list them, tap them "
    "with `tap-terminal pay --reader emulated:NAME`.",
    no_args_is_help=True,
    add_completion=False,
)
err = Console(stderr=True)
HomeOption = Annotated[
    Path | None,
    typer.Option(
        "--home", help="Card store folder (default: $TAP_CARD_HOME or ~/.local/share/tap/cards)"
    ),
]


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


@app.command("list")
def list_command(home: HomeOption = None) -> None:
    """Show the card profiles and the personalized cards."""
    console = Console()
    profiles = Table(title="Profiles")
    for column in ("profile", "kernel", "AID", "cryptogram version", "description"):
        profiles.add_column(column)
    for prof in PROFILES.values():
        profiles.add_row(
            prof.name,
            f"C-{prof.kernel_id}",
            prof.aid.hex().upper(),
            prof.cryptogram_version,
            prof.description,
        )
    console.print(profiles)
    store = CardStore(home)
    cards = Table(title=f"Personalized cards in {store.root}")
    for column in ("name", "profile", "token", "expiry", "PAR", "ATC", "faults"):
        cards.add_column(column)
    for name in store.names():
        try:
            card = store.load(name)
        except CardEmulationError as exc:
            cards.add_row(name, "[red]unreadable[/]", str(exc), "", "", "", "")
            continue
        cards.add_row(card.name, card.profile, mask_pan(card.token), card.expiry, card.par,
                      str(card.atc), ", ".join(sorted(card.faults)) or "-")  # fmt: skip
    if not store.names():
        console.print(
            f"No personalized cards in {store.root} yet: see `tap-card personalize --help`."
        )
    else:
        console.print(cards)


@app.command("personalize")
def personalize_command(
    name: Annotated[str, typer.Argument(help="Name of the new card, e.g. alice-visa")],
    profile_name: Annotated[
        str, typer.Option("--profile", "-p", help=f"One of: {', '.join(PROFILES)}")
    ],
    record_path: Annotated[
        str,
        typer.Option(
            "--token",
            help="Token record from `tap-acquirer tokens provision` (file, or - for stdin)",
        ),
    ],
    issuer_keys: Annotated[
        Path,
        typer.Option(
            "--issuer-keys", help="Issuer key file from `tap-acquirer init`", dir_okay=False
        ),
    ],
    tamper: Annotated[
        bool,
        typer.Option(
            "--tamper", help="Corrupt every cryptogram this card makes (for tests and demos)"
        ),
    ] = False,
    fault: Annotated[
        list[Fault] | None,
        typer.Option(
            "--fault", help="Deliberate misbehaviour, repeatable (listed by `tap-card list`)"
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing card of that name")
    ] = False,
    home: HomeOption = None,
) -> None:
    """Make an emulated card from a token record and the issuer's keys."""
    store = CardStore(home)
    try:
        if record_path == "-":
            text = sys.stdin.read()
        else:
            text = Path(record_path).read_text(encoding="utf-8")
    except OSError as exc:
        raise _fail(f"cannot read token record {record_path}: {exc.strerror}", 2) from None
    except UnicodeDecodeError:
        raise _fail(f"cannot read token record {record_path}: it is not UTF-8 text", 2) from None
    try:
        if store.exists(name) and not force:
            raise _fail(
                f"a card named {name!r} exists in {store.root} (use --force to replace it)", 2
            )
        record = TokenRecord.from_json(text)
        keys = load_issuer_keys(issuer_keys)
        faults = frozenset(fault or ()) | ({Fault.TAMPER_CRYPTOGRAM} if tamper else set())
        card = personalize(name, profile_name, record, keys, faults=faults)
        store.save(card)
    except (CardEmulationError, EmvError) as exc:
        raise _fail(str(exc), 2) from None
    Console().print(
        f"Personalized [bold]{card.name}[/] ({card.profile}, token {mask_pan(card.token)}, PAR {card.par})"
        f"{' [red]with tampered cryptograms[/]' if tamper else ''} in {store.path(card.name)}"
    )


@app.command("serve")
def serve_command(
    name: Annotated[
        str | None, typer.Argument(help="Personalized card to serve (see `tap-card list`)")
    ] = None,
    profile_name: Annotated[
        str | None,
        typer.Option(
            "--profile",
            "-p",
            help="Serve a throwaway test card of this profile instead (its own test keys: "
            "readers see it, an acquirer declines it)",
        ),
    ] = None,
    vpcd: Annotated[
        str | None,
        typer.Option(
            "--vpcd",
            metavar="HOST:PORT",
            help="Put the card in pcscd's vsmartcard-vpcd reader listening there "
            "(Debian's default: 127.0.0.1:35963)",
        ),
    ] = None,
    nfc: Annotated[
        str | None,
        typer.Option(
            "--nfc",
            metavar="PATH",
            help="Listen as a Type 4A card on an nfcpy device, e.g. udp:127.0.0.1:54321",
        ),
    ] = None,
    home: HomeOption = None,
) -> None:
    """Put an emulated card into a real reader stack until Ctrl-C (the card leaves the field).

    With --vpcd every PC/SC program (tap-terminal --reader pcsc, pcsc_scan) sees the card in
    the vpcd reader; with --nfc an nfcpy reader on the same path (tap-terminal --reader
    nfc:udp:HOST:PORT) finds it by polling. The card's ATC is saved after every cryptogram.
    """
    from card_emulation.transports.serve import serve_nfc, serve_vpcd, throwaway_card

    if (vpcd is None) == (nfc is None):
        raise _fail("say where to serve the card: --vpcd HOST:PORT or --nfc PATH", 2)
    if (name is None) == (profile_name is None):
        raise _fail("name a personalized card, or give --profile for a throwaway test card", 2)
    store = CardStore(home)
    try:
        if name is not None:
            card = EmvApplet(store.load(name), on_atc=store.save)
            label = name
        else:
            assert profile_name is not None
            card, label = throwaway_card(profile_name), f"throwaway {profile_name} test card"
        if vpcd is not None:
            serve_vpcd(card, vpcd, label=label, console=err)
        else:
            assert nfc is not None
            serve_nfc(card, nfc, label=label, console=err)
    except (CardEmulationError, EmvError) as exc:
        raise _fail(str(exc), 2) from None


def main() -> None:
    """Console script entry point."""
    app()
