"""The token vault: tokens, PARs, encryption of the funding PAN, key files."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

import pytest

from acquirer import (
    FundingPanError,
    KeyMaterialError,
    ProvisioningError,
    Settings,
    TestKeysRefusedError,
    TokenNotFoundError,
    create_app,
)
from acquirer.keys import KeyMaterial, load_key_material
from acquirer.payments.sql import SqlPaymentStore
from acquirer.vault import TokenVault, VaultKey
from emvcore.pan import is_luhn_valid
from emvcore.provisioning import TokenRecord

VISA_PAN = "4111111111111111"
MC_PAN = "5555555555554444"


def test_token_is_a_luhn_valid_dpan_in_the_scheme_range(
    vault: TokenVault, keys: KeyMaterial
) -> None:
    for scheme, pan in (("visa", VISA_PAN), ("mastercard", MC_PAN)):
        record = vault.provision(pan, scheme)
        key = keys.issuer_keys.for_scheme(scheme)
        assert len(record.token) == 16 and is_luhn_valid(record.token)
        assert key.covers(record.token)
        assert record.token != pan
        assert (record.psn, record.scheme, record.test) == ("00", scheme, True)
        assert TokenRecord.from_json(record.to_json()) == record


def test_detokenize_round_trip(vault: TokenVault) -> None:
    record = vault.provision(VISA_PAN, "visa")
    assert vault.detokenize(record.token) == VISA_PAN
    with pytest.raises(TokenNotFoundError):
        vault.detokenize("4895370000000005")


def test_same_account_same_par_different_ciphertext(
    vault: TokenVault, store: SqlPaymentStore
) -> None:
    first, second = vault.provision(VISA_PAN, "visa"), vault.provision(VISA_PAN, "visa")
    other = vault.provision("4000056655665556", "visa")
    assert first.token != second.token
    assert first.par == second.par != other.par
    assert len(first.par) == 29 and first.par.startswith("T001") and first.par.isupper()
    row1, row2 = store.get_token(first.token), store.get_token(second.token)
    assert row1 is not None and row2 is not None
    assert row1.pan_enc != row2.pan_enc
    assert row1.pan_fingerprint == row2.pan_fingerprint
    assert row1.pan_masked == "411111******1111"


def test_ciphertext_is_bound_to_its_token(vault: TokenVault, settings: Settings) -> None:
    victim = vault.provision(VISA_PAN, "visa")
    attacker = vault.provision(MC_PAN, "mastercard")
    with sqlite3.connect(settings.database) as db:
        (stolen,) = db.execute(
            "SELECT pan_enc FROM tokens WHERE token = ?", [victim.token]
        ).fetchone()
        db.execute("UPDATE tokens SET pan_enc = ? WHERE token = ?", [stolen, attacker.token])
    with pytest.raises(KeyMaterialError):
        vault.detokenize(attacker.token)


def test_database_never_holds_a_clear_funding_pan(
    vault: TokenVault, settings: Settings, store: SqlPaymentStore
) -> None:
    for pan, scheme in ((VISA_PAN, "visa"), (MC_PAN, "mastercard")):
        vault.provision(pan, scheme)
    store.engine.close()  # checkpoint the WAL into the main file
    files = [p for p in settings.data_dir.iterdir() if p.name.startswith("acquirer.db")]
    raw = b"".join(p.read_bytes() for p in files)
    for pan in (VISA_PAN, MC_PAN):
        assert pan.encode() not in raw
        assert bytes.fromhex(pan) not in raw  # nor packed as BCD


@pytest.mark.parametrize(
    ("pan", "message"),
    [
        ("4111-1111-1111-1111", "digits only"),
        ("41111111111", "12 to 19 digits"),
        ("4111111111111112", "Luhn"),
        ("", "digits only"),
    ],
)
def test_funding_pan_errors_never_echo_it(vault: TokenVault, pan: str, message: str) -> None:
    with pytest.raises(FundingPanError) as caught:
        vault.provision(pan, "visa")
    assert message in str(caught.value)
    if pan:
        assert pan not in str(caught.value)


def test_provisioning_rules(vault: TokenVault) -> None:
    with pytest.raises(ProvisioningError, match="scheme"):
        vault.provision(VISA_PAN, "amex")
    with pytest.raises(ProvisioningError, match="in the past"):
        vault.provision(VISA_PAN, "visa", "2001")
    with pytest.raises(ProvisioningError, match="YYMM"):
        vault.provision(VISA_PAN, "visa", "2913")
    assert vault.provision(VISA_PAN, "visa", "4012").expiry == "4012"


# -- key files --------------------------------------------------------------------------------


def test_vault_key_file_round_trip_and_repr(tmp_path: Path) -> None:
    key = VaultKey.generate()
    key.save(tmp_path / "k.json")
    assert (tmp_path / "k.json").stat().st_mode & 0o777 == 0o600
    assert VaultKey.load(tmp_path / "k.json") == key
    assert key.key.hex() not in repr(key) and key.key.hex().upper() not in repr(key)


def test_vault_key_file_errors(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    with pytest.raises(KeyMaterialError, match="tap-acquirer init"):
        VaultKey.load(path)
    path.write_text("{")
    with pytest.raises(KeyMaterialError, match="not JSON"):
        VaultKey.load(path)
    VaultKey.generate().save(path)
    document = json.loads(path.read_text())
    document["kcv"] = "0000000000"
    path.write_text(json.dumps(document))
    with pytest.raises(KeyMaterialError, match="key check value"):
        VaultKey.load(path)


def test_production_mode_refuses_test_keys(settings: Settings) -> None:
    production = dataclasses.replace(settings, production=True)
    with pytest.raises(TestKeysRefusedError, match="production mode refuses test keys"):
        load_key_material(production)
    with pytest.raises(TestKeysRefusedError):
        create_app(production)


def test_missing_issuer_key_file_is_a_clear_error(settings: Settings) -> None:
    settings.issuer_keys.unlink()
    with pytest.raises(KeyMaterialError, match="tap-acquirer init"):
        create_app(settings)
