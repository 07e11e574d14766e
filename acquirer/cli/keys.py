"""``tap-acquirer keys``: list, encrypt and import the acquirer's keys (KCVs shown, never keys).

::

    tap-acquirer keys kek new --out /etc/tap/acquirer.kek     a key-encryption key (0600)
    tap-acquirer keys list                                    names, types and KCVs
    tap-acquirer keys encrypt                                 seal clear key files under the KEK
    tap-acquirer keys import kek:zmk1 --components 3 --algorithm aes --kcv 0A1B2C
    tap-acquirer keys import bdk --tr31 bdk.tr31 --kek kek:zmk1 [--kcv ...]
    tap-acquirer keys import imk:48953700-48953799 --components 2 --kcv ... --scheme visa

The key-encryption key comes from ``TAP_ACQUIRER_KEK_FILE`` (a file of mode 0600) or
``TAP_ACQUIRER_KEK``. Components are typed at a hidden prompt, each followed by its KCV, or
read from ``--component-file`` files (the component's hex digits, then its KCV).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from acquirer.console import DataDir, cli_settings, err, out, reported_errors
from acquirer.errors import KeyEncryptionKeyError, KeyMaterialError
from acquirer.keys import encrypt_key_files, key_checks
from acquirer.keystore.imports import (
    IssuerKeyOptions,
    import_key,
    kbpk,
    parse_key_name,
    unwrap_for,
)
from acquirer.keystore.sealed import KEK_ENV, KEK_FILE_ENV, Kek, load_kek
from emvcore.keyfile import write_private_file
from emvcore.keys import KeyAlgorithm, KeyComponent, combine_components

keys_app = typer.Typer(
    help="List, encrypt and import keys (key check values only, never keys).",
    no_args_is_help=True,
)
kek_app = typer.Typer(help="The key-encryption key of the key files.", no_args_is_help=True)
keys_app.add_typer(kek_app, name="kek")


def _hex(text: str, what: str) -> bytes:
    try:
        return bytes.fromhex("".join(text.split()))
    except ValueError:
        raise KeyMaterialError(f"{what} is not hexadecimal") from None


@kek_app.command("new")
def new_kek(
    out_file: Annotated[Path, typer.Option("--out", help="Where to write it (mode 0600)")],
) -> None:
    """Make a random AES-256 key-encryption key file; keep it apart from the data directory."""
    with reported_errors():
        if out_file.exists():
            raise KeyEncryptionKeyError(f"{out_file} exists; a KEK file is never overwritten")
        kek = Kek.generate(str(out_file))
        write_private_file(out_file, (kek.hex() + "\n").encode())
    out.print(
        f"key-encryption key written to {out_file} (KCV {kek.kcv.hex().upper()}); "
        f"point {KEK_FILE_ENV} at it",
        highlight=False,
    )


@keys_app.command("list")
def list_keys(data_dir: DataDir = None) -> None:
    """Every key's name, type and key check value."""
    settings = cli_settings(data_dir)
    with reported_errors():
        checks = key_checks(settings)
    out.print(f"{len(checks)} key(s): name (type), KCV, test key, label", highlight=False)
    for check in checks:
        test = "test" if check.test_key else "real"
        out.print(f"  {check.kind}  KCV {check.kcv}  {test}  {check.label}", highlight=False)


@keys_app.command("encrypt")
def encrypt(data_dir: DataDir = None) -> None:
    """Seal the data directory's clear key files under the key-encryption key."""
    settings = cli_settings(data_dir)
    with reported_errors():
        kek = load_kek()
        if kek is None:
            raise KeyEncryptionKeyError(f"set {KEK_FILE_ENV} (or {KEK_ENV}) to the KEK first")
        sealed = encrypt_key_files(settings, kek)
    if sealed:
        names = ", ".join(path.name for path in sealed)
        out.print(f"sealed under KEK {kek.kcv.hex().upper()}: {names}", highlight=False)
    else:
        out.print("no clear key file to seal", highlight=False)


def _components(count: int, files: list[Path]) -> list[KeyComponent]:
    if files and len(files) != count:
        raise KeyMaterialError(f"--components {count} needs {count} --component-file options")
    components: list[KeyComponent] = []
    for number in range(1, count + 1):
        if files:
            fields = files[number - 1].read_text(encoding="ascii").split()
            if len(fields) < 2:
                raise KeyMaterialError(
                    f"{files[number - 1]} must hold the component's hex digits, then its KCV"
                )
            value, kcv = "".join(fields[:-1]), fields[-1]
        else:
            value = typer.prompt(f"component {number} of {count}", hide_input=True)
            kcv = typer.prompt(f"KCV of component {number}")
        components.append(KeyComponent(_hex(value, f"component {number}"), _hex(kcv, "a KCV")))
    return components


@keys_app.command("import")
def import_command(
    name: Annotated[str, typer.Argument(help="imk:LOW-HIGH, vault, bdk or kek:NAME")],
    components: Annotated[
        int | None, typer.Option("--components", help="Combine 2 or 3 components", min=2, max=3)
    ] = None,
    component_file: Annotated[
        list[Path] | None,
        typer.Option("--component-file", help="A component and its KCV (else: a hidden prompt)"),
    ] = None,
    tr31: Annotated[
        Path | None, typer.Option("--tr31", help="File holding a TR-31 key block", dir_okay=False)
    ] = None,
    kek_name: Annotated[
        str | None, typer.Option("--kek", help="The keyring's KEK the key block is under")
    ] = None,
    kcv: Annotated[
        str | None, typer.Option(help="KCV of the whole key (required with --components)")
    ] = None,
    algorithm: Annotated[str, typer.Option(help="aes or tdes (a kek: from components)")] = "",
    scheme: Annotated[str, typer.Option(help="imk: card scheme")] = "visa",
    cvn: Annotated[str, typer.Option(help="imk: cryptogram version")] = "visa-cvn18",
    dki: Annotated[int, typer.Option(help="imk: derivation key index")] = 1,
    bdk_id: Annotated[str | None, typer.Option(help="bdk: the 4-byte BDK ID (hex)")] = None,
    data_dir: DataDir = None,
) -> None:
    """Import a real key from 2 or 3 components or a TR-31 key block, checked by KCV."""
    settings = cli_settings(data_dir)
    with reported_errors():
        target = parse_key_name(name)
        kek = load_kek()
        expected = _hex(kcv, "--kcv") if kcv else None
        if (components is None) == (tr31 is None):
            raise KeyMaterialError("give --components 2|3 or --tr31 BLOCK_FILE (one of them)")
        if components is not None:
            if expected is None:
                raise KeyMaterialError("--components needs --kcv, the whole key's KCV")
            chosen = _algorithm(algorithm, target.algorithms)
            parts = _components(components, component_file or [])
            key = combine_components(parts, chosen, expected_kcv=expected)
        else:
            assert tr31 is not None
            if kek_name is None:
                raise KeyMaterialError("--tr31 needs --kek NAME, the key block protection key")
            block = "".join(tr31.read_text(encoding="ascii").split())
            key, chosen = unwrap_for(target, kbpk(settings, kek_name, kek), block)
        line = import_key(
            settings,
            target,
            key,
            chosen,
            kek,
            expected_kcv=expected,
            issuer=IssuerKeyOptions(scheme, cvn, dki),
            bdk_id=_hex(bdk_id, "--bdk-id") if bdk_id else None,
        )
    err.print(line, highlight=False)


def _algorithm(text: str, allowed: tuple[KeyAlgorithm, ...]) -> KeyAlgorithm:
    if not text:
        if len(allowed) > 1:
            raise KeyMaterialError("give --algorithm aes or tdes for this key")
        return allowed[0]
    try:
        return KeyAlgorithm[text.strip().upper()]
    except KeyError:
        raise KeyMaterialError("--algorithm is aes or tdes") from None
