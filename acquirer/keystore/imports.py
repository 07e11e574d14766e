"""Real keys entering the acquirer: from key components or a TR-31 key block, by name.

Names say where a key goes and what it must be:

=========================  ======================================  ===========  ===========
name                       what                                    algorithm    TR-31 usage
=========================  ======================================  ===========  ===========
``imk:LOW-HIGH``           issuer master key (AC) for a BIN range  TDES 2-key   ``E0``
``vault``                  the token vault's master key            AES-256      ``D0``
``bdk``                    the AES DUKPT base derivation key       AES          ``B0``
``kek:NAME``               a key-encryption key (TR-31 KBPK)       TDES or AES  ``K0``
=========================  ======================================  ===========  ===========

A key from components is checked component by component and as a whole against the KCVs of
the custodians' forms (:func:`emvcore.keys.combine_components`); a key from a key block is
checked by its MAC under the named KEK, its header's usage and algorithm
(:func:`emvcore.keys.unwrap_key_block`) and, when given, the KCV on the sender's form.
Imported keys are production keys (``test_key`` false) and are only ever written sealed
under the key-encryption key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from hmac import compare_digest

from acquirer.errors import KeyMaterialError
from acquirer.keys import (
    load_issuer_key_set,
    load_keyring,
    load_vault_key,
    save_issuer_key_set,
    save_keyring,
    save_vault_key,
)
from acquirer.keystore.keyring import BDK, KEK_PREFIX, NamedKey, new_bdk_id
from acquirer.keystore.sealed import KEK_ENV, KEK_FILE_ENV, Kek
from acquirer.settings import Settings
from acquirer.vault import VaultKey
from emvcore.crypto.cvn import cryptogram_version
from emvcore.errors import CryptoError
from emvcore.keyfile import IssuerKey, IssuerKeySet
from emvcore.keys import KeyAlgorithm, Tr31Usage, key_check_value, unwrap_key_block

__all__ = ["IssuerKeyOptions", "KeyName", "import_key", "parse_key_name", "unwrap_for"]

_IMK = re.compile(r"imk:([0-9]{6,12})-([0-9]{6,12})")
_KEK = re.compile(r"kek:[A-Za-z0-9_.-]{1,32}")


@dataclass(frozen=True, slots=True)
class KeyName:
    """A parsed key name: its kind, what its key must be, and its TR-31 key usage."""

    name: str
    kind: str
    algorithms: tuple[KeyAlgorithm, ...]
    usage: Tr31Usage
    bin_low: str = ""
    bin_high: str = ""


def parse_key_name(name: str) -> KeyName:
    """The kind of key ``name`` names (see the table above).

    >>> parse_key_name("imk:48953700-48953799").usage.value
    'E0'
    >>> parse_key_name("pin")
    Traceback (most recent call last):
    ...
    acquirer.errors.KeyMaterialError: unknown key name 'pin': use imk:LOW-HIGH, vault, bdk or kek:NAME
    """
    if name == "vault":
        return KeyName(name, "vault", (KeyAlgorithm.AES,), Tr31Usage.DATA_ENCRYPTION)
    if name == BDK:
        return KeyName(name, "bdk", (KeyAlgorithm.AES,), Tr31Usage.BDK)
    if _KEK.fullmatch(name):
        return KeyName(name, "kek", (KeyAlgorithm.AES, KeyAlgorithm.TDES), Tr31Usage.KEY_ENCRYPTION)
    match = _IMK.fullmatch(name)
    if match:
        low, high = match.groups()
        if len(low) != len(high) or low > high:
            raise KeyMaterialError(f"{name}: LOW and HIGH are BINs of one length, LOW <= HIGH")
        return KeyName(name, "imk", (KeyAlgorithm.TDES,), Tr31Usage.EMV_MASTER_KEY_AC, low, high)
    raise KeyMaterialError(f"unknown key name {name!r}: use imk:LOW-HIGH, vault, bdk or kek:NAME")


@dataclass(frozen=True, slots=True)
class IssuerKeyOptions:
    """What an issuer master key needs beside the key: scheme, cryptogram version, DKI."""

    scheme: str = "visa"
    cvn: str = "visa-cvn18"
    dki: int = 1
    label: str = ""


def unwrap_for(target: KeyName, kbpk: NamedKey, block: str) -> tuple[bytes, KeyAlgorithm]:
    """The key of a TR-31 block for ``target``, its usage and algorithm checked."""
    try:
        algorithm = KeyAlgorithm(block[7:8])  # header byte 8: the key's algorithm (A.5.3)
    except ValueError:
        raise KeyMaterialError("the key block's header names no TDES (T) or AES (A) key") from None
    if algorithm not in target.algorithms:
        allowed = "/".join(a.name for a in target.algorithms)
        raise KeyMaterialError(
            f"{target.name} must be a {allowed} key, the block holds {algorithm.name}"
        )
    unwrapped = unwrap_key_block(kbpk.key, block, key_usage=target.usage, algorithm=algorithm)
    return unwrapped.key, algorithm


def _check_length(target: KeyName, key: bytes, algorithm: KeyAlgorithm) -> None:
    if algorithm not in target.algorithms:
        allowed = "/".join(a.name for a in target.algorithms)
        raise KeyMaterialError(f"{target.name} must be a {allowed} key, not {algorithm.name}")
    if target.kind == "vault" and len(key) != 32:
        raise KeyMaterialError("the vault key must be AES-256 (32 bytes)")
    if target.kind == "imk" and len(key) != 16:
        raise KeyMaterialError("an issuer master key must be a double-length TDES key (16 bytes)")
    if len(key) not in algorithm.key_lengths:
        raise KeyMaterialError(f"a {len(key)}-byte key is not a {algorithm.name} key")


def import_key(
    settings: Settings,
    target: KeyName,
    key: bytes,
    algorithm: KeyAlgorithm,
    kek: Kek | None,
    *,
    expected_kcv: bytes | None = None,
    issuer: IssuerKeyOptions = IssuerKeyOptions(),
    bdk_id: bytes | None = None,
) -> str:
    """Store ``key`` under ``target``'s name, sealed under ``kek``; a line saying what changed.

    ``expected_kcv`` (the KCV on the sender's form) is compared first. An issuer key joins
    the issuer key file, replacing a key of the same range; a key file of test keys is
    replaced as a whole (real and test keys never share a file). The vault key replaces the
    test vault key only: a real vault key is never overwritten (the PANs under it would be
    lost). The BDK gets ``bdk_id`` (default: random).
    """
    if kek is None:
        raise KeyMaterialError(
            f"importing a real key needs the key-encryption key in {KEK_FILE_ENV} or {KEK_ENV}: "
            "keys at rest are never kept in clear"
        )
    _check_length(target, key, algorithm)
    kcv = key_check_value(key, algorithm)
    if expected_kcv is not None and not compare_digest(
        key_check_value(key, algorithm, len(expected_kcv)), expected_kcv
    ):
        raise KeyMaterialError(f"the key for {target.name} does not match the KCV given")
    shown = f"{target.name} imported, KCV {kcv.hex().upper()}"
    if target.kind == "imk":
        return _import_issuer_key(settings, target, key, kek, issuer, shown)
    if target.kind == "vault":
        current = load_vault_key(settings, kek)
        if current is not None and not current[0].test_key:
            raise KeyMaterialError(
                "a production vault key is already installed; replacing it would make every "
                "stored funding PAN undecryptable"
            )
        save_vault_key(settings, VaultKey(key, test_key=False), kek)
        return shown
    keyring, _ = load_keyring(settings, kek)
    named = NamedKey(target.name, algorithm, key, False, None)
    if target.kind == "bdk":
        named = replace(named, bdk_id=bdk_id or new_bdk_id())
        shown += f", BDK ID {named.bdk_id.hex().upper() if named.bdk_id else ''}"
    save_keyring(settings, keyring.with_key(named), kek)
    return shown


def _import_issuer_key(
    settings: Settings,
    target: KeyName,
    key: bytes,
    kek: Kek,
    options: IssuerKeyOptions,
    shown: str,
) -> str:
    try:
        cryptogram_version(options.cvn)
    except CryptoError as exc:
        raise KeyMaterialError(str(exc)) from None
    if not 0 <= options.dki <= 255:
        raise KeyMaterialError("the derivation key index is 0..255")
    label = options.label or f"{options.scheme} {target.bin_low}-{target.bin_high}"
    new = IssuerKey(
        label, options.scheme, target.bin_low, target.bin_high, options.cvn, options.dki, key
    )
    current = load_issuer_key_set(settings, kek)
    kept: tuple[IssuerKey, ...] = ()
    if current is not None and not current[0].test_keys:
        kept = tuple(
            k
            for k in current[0].keys
            if (k.bin_low, k.bin_high) != (target.bin_low, target.bin_high)
        )
    elif current is not None:
        shown += " (the test issuer keys it replaces are removed)"
    keys = IssuerKeySet(keys=(*kept, new), test_keys=False)
    save_issuer_key_set(settings, keys, kek)
    return shown


def kbpk(settings: Settings, name: str, kek: Kek | None) -> NamedKey:
    """The key-encryption key ``name`` of the keyring (``kek:NAME``) for a TR-31 import."""
    if not name.startswith(KEK_PREFIX):
        name = KEK_PREFIX + name
    keyring, _ = load_keyring(settings, kek)
    return keyring.require(name)
