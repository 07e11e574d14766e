"""The acquirer's key material: made by ``init``, loaded and checked at start-up.

Three key files live in the data directory (:class:`~acquirer.settings.Settings`): the issuer
master keys (:mod:`emvcore.keyfile`), the token vault key (:mod:`acquirer.vault`) and the
keyring (:mod:`acquirer.keystore.keyring`: TR-31 key-encryption keys, the DUKPT BDK). Each
is sealed under the key-encryption key when one is configured
(:mod:`acquirer.keystore.sealed`). All record whether they hold test keys; production mode
(the settings' flag, or a data directory made by ``init --production``) refuses test keys
and key files in clear, so keys made by ``tap-acquirer init`` can never verify a real card's
cryptogram by accident.

emvcore's :class:`~emvcore.errors.KeyFileError` is mapped here into
:class:`~acquirer.errors.KeyMaterialError`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from acquirer.errors import (
    AlreadyInitializedError,
    KeyEncryptionKeyError,
    KeyMaterialError,
    TestKeysRefusedError,
)
from acquirer.keystore.keyring import BDK, Keyring, NamedKey, new_bdk_id
from acquirer.keystore.sealed import (
    KEK_ENV,
    KEK_FILE_ENV,
    Kek,
    KeyFileBytes,
    load_kek,
    read_key_file,
    refuse_clear,
    write_key_file,
)
from acquirer.settings import Settings
from acquirer.store import Migration, open_engine
from acquirer.vault import VaultKey
from emvcore.errors import KeyFileError
from emvcore.keyfile import (
    IssuerKeySet,
    encode_issuer_keys,
    generate_test_issuer_keys,
    parse_issuer_keys,
)
from emvcore.keys import KeyAlgorithm

#: The purpose each key file is sealed for (its associated data).
ISSUER_KEYS, VAULT_KEY, KEYRING = "issuer-keys", "vault-key", "keyring"


@dataclass(frozen=True, slots=True)
class KeyMaterial:
    """The loaded, checked keys of one data directory."""

    issuer_keys: IssuerKeySet
    vault_key: VaultKey
    keyring: Keyring = field(default_factory=Keyring)

    @property
    def test_keys(self) -> bool:
        """Whether any of the keys is a test key."""
        return self.issuer_keys.test_keys or self.vault_key.test_key or self.keyring.test_keys

    @property
    def production(self) -> bool:
        """Whether the data directory was made for production (``init --production``)."""
        return self.keyring.production


@dataclass(frozen=True, slots=True)
class KeyCheck:
    """A key's label, type and key check value, safe to print."""

    label: str
    kcv: str
    kind: str = ""
    test_key: bool = False


def key_files(settings: Settings) -> tuple[tuple[Path, str], ...]:
    """Each key file of the data directory and the purpose it is sealed for."""
    return (
        (settings.issuer_keys, ISSUER_KEYS),
        (settings.vault_key, VAULT_KEY),
        (settings.keyring, KEYRING),
    )


def _required(contents: KeyFileBytes | None, path: Path, what: str) -> KeyFileBytes:
    if contents is None:
        raise KeyMaterialError(
            f"{what} file {path} not found (make one with `tap-acquirer init`, or import "
            "real keys with `tap-acquirer keys import`)"
        )
    return contents


def load_keyring(settings: Settings, kek: Kek | None) -> tuple[Keyring, bool]:
    """The keyring (empty if there is none) and whether it was sealed on disk."""
    contents = read_key_file(settings.keyring, KEYRING, kek)
    if contents is None:
        return Keyring(), True
    return Keyring.parse(contents.data, settings.keyring), contents.sealed


def load_issuer_key_set(settings: Settings, kek: Kek | None) -> tuple[IssuerKeySet, bool] | None:
    """The issuer key set and whether it was sealed; ``None`` when there is no file yet."""
    contents = read_key_file(settings.issuer_keys, ISSUER_KEYS, kek)
    if contents is None:
        return None
    try:
        text = contents.data.decode("utf-8")
        return parse_issuer_keys(text, settings.issuer_keys), contents.sealed
    except UnicodeDecodeError:
        raise KeyMaterialError(f"issuer key file {settings.issuer_keys} is not UTF-8") from None
    except KeyFileError as exc:
        raise KeyMaterialError(str(exc)) from exc


def load_vault_key(settings: Settings, kek: Kek | None) -> tuple[VaultKey, bool] | None:
    """The vault key and whether it was sealed; ``None`` when there is no file yet."""
    contents = read_key_file(settings.vault_key, VAULT_KEY, kek)
    if contents is None:
        return None
    try:
        text = contents.data.decode("utf-8")
    except UnicodeDecodeError:
        raise KeyMaterialError(f"vault key file {settings.vault_key} is not UTF-8") from None
    return VaultKey.parse(text, settings.vault_key), contents.sealed


def load_key_material(settings: Settings, kek: Kek | None = None) -> KeyMaterial:
    """Load the key files; in production refuse test keys, then key files in clear.

    ``kek`` defaults to the one the environment names (:func:`~acquirer.keystore.load_kek`).
    """
    kek = kek if kek is not None else load_kek()
    keyring, keyring_sealed = load_keyring(settings, kek)
    issuer = load_issuer_key_set(settings, kek)
    vault = load_vault_key(settings, kek)
    if issuer is None:
        _required(None, settings.issuer_keys, "issuer key")
    if vault is None:
        _required(None, settings.vault_key, "vault key")
    assert issuer is not None and vault is not None
    (issuer_keys, issuer_sealed), (vault_key, vault_sealed) = issuer, vault
    material = KeyMaterial(issuer_keys, vault_key, keyring)
    if (settings.production or keyring.production) and material.test_keys:
        which = [
            path.name
            for path, test in (
                (settings.issuer_keys, issuer_keys.test_keys),
                (settings.vault_key, vault_key.test_key),
                (settings.keyring, keyring.test_keys),
            )
            if test
        ]
        raise TestKeysRefusedError(
            f"production mode refuses test keys ({', '.join(which)} in {settings.data_dir} "
            "were made by `tap-acquirer init` for development); import production keys "
            "with `tap-acquirer keys import`"
        )
    if settings.production or keyring.production:
        refuse_clear(
            [
                path
                for path, sealed in (
                    (settings.issuer_keys, issuer_sealed),
                    (settings.vault_key, vault_sealed),
                    (settings.keyring, keyring_sealed),
                )
                if not sealed
            ]
        )
    return material


def save_keyring(settings: Settings, keyring: Keyring, kek: Kek | None) -> None:
    """Write the keyring, sealed under ``kek`` when given."""
    write_key_file(settings.keyring, KEYRING, keyring.to_bytes(), kek)


def save_issuer_key_set(settings: Settings, keys: IssuerKeySet, kek: Kek | None) -> None:
    """Write the issuer key file, sealed under ``kek`` when given."""
    write_key_file(settings.issuer_keys, ISSUER_KEYS, encode_issuer_keys(keys), kek)


def save_vault_key(settings: Settings, key: VaultKey, kek: Kek | None) -> None:
    """Write the vault key file, sealed under ``kek`` when given."""
    write_key_file(settings.vault_key, VAULT_KEY, key.to_bytes(), kek)


def generate_test_bdk() -> NamedKey:
    """A fresh random AES-128 DUKPT base derivation key, marked as a test key."""
    return NamedKey(BDK, KeyAlgorithm.AES, os.urandom(16), True, new_bdk_id())


def initialize(
    settings: Settings,
    *,
    force: bool = False,
    migrations: Sequence[Migration] = (),
    production: bool = False,
    kek: Kek | None = None,
) -> list[KeyCheck]:
    """Create the key files and the database in ``settings.data_dir``.

    Development (the default): test issuer keys, a test vault key and a test DUKPT BDK,
    sealed under ``kek`` (default: the environment's) when there is one. Production
    (``production`` or ``settings.production``): no keys at all, only an empty keyring
    marked as production, sealed under the KEK, which is then required; real keys come in
    with ``tap-acquirer keys import``. Refuses (:class:`AlreadyInitializedError`) to replace
    existing key files unless ``force``: new keys make every token issued so far
    unverifiable and every stored funding PAN undecryptable. An existing database is kept
    and migrated with ``migrations``. Returns the key check values to show the operator.
    """
    production = production or settings.production
    kek = kek if kek is not None else load_kek()
    files = [settings.issuer_keys, settings.vault_key, settings.keyring]
    existing = [p for p in files if p.exists()]
    if existing and not force:
        names = ", ".join(p.name for p in existing)
        raise AlreadyInitializedError(
            f"{settings.data_dir} already holds {names}; use --force to replace them "
            "(tokens issued under the old keys will stop working)"
        )
    if production and kek is None:
        raise KeyEncryptionKeyError(
            f"production init needs a key-encryption key in {KEK_FILE_ENV} or {KEK_ENV}: "
            "keys at rest are never kept in clear"
        )
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        if production:
            for path in existing:
                path.unlink()
            save_keyring(settings, Keyring(production=True), kek)
        else:
            save_issuer_key_set(settings, generate_test_issuer_keys(), kek)
            save_vault_key(settings, VaultKey.generate(test_key=True), kek)
            save_keyring(settings, Keyring((generate_test_bdk(),)), kek)
    except OSError as exc:
        raise KeyMaterialError(f"cannot write the key files in {settings.data_dir}: {exc}") from exc
    engine = open_engine(settings, migrations)
    try:
        engine.migrate()
    finally:
        engine.close()
    return [] if production else key_checks(settings, kek)


def key_checks(settings: Settings, kek: Kek | None = None) -> list[KeyCheck]:
    """Every key of the data directory as label, type and KCV (never a key)."""
    kek = kek if kek is not None else load_kek()
    checks: list[KeyCheck] = []
    issuer = load_issuer_key_set(settings, kek)
    if issuer is not None:
        checks.extend(
            KeyCheck(
                f"issuer {key.label} ({key.bin_low}-{key.bin_high}, {key.cvn})",
                key.kcv.hex().upper(),
                f"imk:{key.bin_low}-{key.bin_high} (TDES)",
                issuer[0].test_keys,
            )
            for key in issuer[0].keys
        )
    vault = load_vault_key(settings, kek)
    if vault is not None:
        checks.append(
            KeyCheck(
                "token vault", vault[0].kcv.hex().upper(), "vault (AES-256)", vault[0].test_key
            )
        )
    keyring, _ = load_keyring(settings, kek)
    for key in keyring.keys:
        label = "DUKPT base derivation key" if key.name == BDK else "key-encryption key"
        if key.bdk_id is not None:
            label += f" (BDK ID {key.bdk_id.hex().upper()})"
        kind = f"{key.name} ({key.algorithm.name}-{len(key.key) * 8})"
        checks.append(KeyCheck(label, key.kcv.hex().upper(), kind, key.test_key))
    return checks


def encrypt_key_files(settings: Settings, kek: Kek) -> list[Path]:
    """Seal every clear key file of the data directory under ``kek``; the files sealed.

    Each is parsed (so its KCVs are checked) before it is rewritten, atomically.
    """
    sealed: list[Path] = []
    issuer = load_issuer_key_set(settings, kek)
    if issuer is not None and not issuer[1]:
        save_issuer_key_set(settings, issuer[0], kek)
        sealed.append(settings.issuer_keys)
    vault = load_vault_key(settings, kek)
    if vault is not None and not vault[1]:
        save_vault_key(settings, vault[0], kek)
        sealed.append(settings.vault_key)
    keyring, keyring_sealed = load_keyring(settings, kek)
    if settings.keyring.exists() and not keyring_sealed:
        save_keyring(settings, keyring, kek)
        sealed.append(settings.keyring)
    return sealed
