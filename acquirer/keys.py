"""The acquirer's key material: made by ``init``, loaded and checked at start-up.

Two key files live in the data directory (:class:`~acquirer.settings.Settings`): the issuer
master keys (:mod:`emvcore.keyfile`) and the token vault key (:mod:`acquirer.vault`). Both
record whether they hold test keys; production mode refuses test keys, so keys made by
``tap-acquirer init`` can never verify a real card's cryptogram by accident.

emvcore's :class:`~emvcore.errors.KeyFileError` is mapped here into
:class:`~acquirer.errors.KeyMaterialError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from acquirer.errors import AlreadyInitializedError, KeyMaterialError, TestKeysRefusedError
from acquirer.settings import Settings
from acquirer.store import Migration, open_engine
from acquirer.vault import VaultKey
from emvcore.errors import KeyFileError
from emvcore.keyfile import (
    IssuerKeySet,
    generate_test_issuer_keys,
    load_issuer_keys,
    save_issuer_keys,
)


@dataclass(frozen=True, slots=True)
class KeyMaterial:
    """The loaded, checked keys of one data directory."""

    issuer_keys: IssuerKeySet
    vault_key: VaultKey

    @property
    def test_keys(self) -> bool:
        """Whether any of the keys is a test key."""
        return self.issuer_keys.test_keys or self.vault_key.test_key


@dataclass(frozen=True, slots=True)
class KeyCheck:
    """A key's label and key check value, safe to print."""

    label: str
    kcv: str


def load_key_material(settings: Settings) -> KeyMaterial:
    """Load both key files; refuse test keys when ``settings.production``."""
    try:
        issuer_keys = load_issuer_keys(settings.issuer_keys)
    except KeyFileError as exc:
        raise KeyMaterialError(str(exc)) from exc
    vault_key = VaultKey.load(settings.vault_key)
    material = KeyMaterial(issuer_keys, vault_key)
    if settings.production and material.test_keys:
        which = [
            path.name
            for path, test in (
                (settings.issuer_keys, issuer_keys.test_keys),
                (settings.vault_key, vault_key.test_key),
            )
            if test
        ]
        raise TestKeysRefusedError(
            f"production mode refuses test keys ({', '.join(which)} in {settings.data_dir} "
            "were made by `tap-acquirer init` for development); install production key files"
        )
    return material


def initialize(
    settings: Settings, *, force: bool = False, migrations: Sequence[Migration] = ()
) -> list[KeyCheck]:
    """Create test key files and the database in ``settings.data_dir``.

    Refuses (:class:`AlreadyInitializedError`) to replace existing key files unless
    ``force``: new keys make every token issued so far unverifiable and every stored funding
    PAN undecryptable. An existing database is kept and migrated with ``migrations`` (the
    domains' schema steps; the root CLI passes them all). Returns the key check values to
    show the operator; the keys themselves are never returned.
    """
    existing = [p for p in (settings.issuer_keys, settings.vault_key) if p.exists()]
    if existing and not force:
        names = ", ".join(p.name for p in existing)
        raise AlreadyInitializedError(
            f"{settings.data_dir} already holds {names}; use --force to replace them "
            "(tokens issued under the old keys will stop working)"
        )
    if settings.production:
        raise TestKeysRefusedError("init makes test keys, which production mode refuses")
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    issuer_keys = generate_test_issuer_keys()
    vault_key = VaultKey.generate(test_key=True)
    try:
        save_issuer_keys(issuer_keys, settings.issuer_keys)
    except (KeyFileError, OSError) as exc:
        raise KeyMaterialError(f"cannot write {settings.issuer_keys}: {exc}") from exc
    try:
        vault_key.save(settings.vault_key)
    except OSError as exc:
        raise KeyMaterialError(f"cannot write {settings.vault_key}: {exc}") from exc
    engine = open_engine(settings, migrations)
    try:
        engine.migrate()
    finally:
        engine.close()
    checks = [
        KeyCheck(
            f"issuer {key.label} ({key.bin_low}-{key.bin_high}, {key.cvn})", key.kcv.hex().upper()
        )
        for key in issuer_keys.keys
    ]
    checks.append(KeyCheck("token vault", vault_key.kcv.hex().upper()))
    return checks
