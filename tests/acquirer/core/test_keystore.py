"""Keys at rest: the key-encryption key, sealed key files, ``keys list|encrypt|import``."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import algorithms
from typer.testing import CliRunner

from acquirer.cli import app
from acquirer.errors import (
    KeyEncryptionKeyError,
    KeyMaterialError,
    ProductionRefusedError,
    TestKeysRefusedError,
)
from acquirer.keys import (
    initialize,
    load_key_material,
    load_keyring,
    load_vault_key,
    save_issuer_key_set,
    save_keyring,
    save_vault_key,
)
from acquirer.keystore import Kek, load_kek
from acquirer.keystore.sealed import KEK_ENV, KEK_FILE_ENV
from acquirer.settings import Settings
from emvcore.crypto.tdes import adjust_parity, xor
from emvcore.crypto.tdes import kcv as tdes_kcv
from emvcore.keys import KeyAlgorithm, Tr31Usage, wrap_key_block

runner = CliRunner()
VECTORS = Path(__file__).parents[2] / "vectors" / "tr31_key_blocks.json"


def _vector(prefix: str) -> dict[str, str]:
    blocks = json.loads(VECTORS.read_text())["key_blocks"]
    found: dict[str, str] = next(b for b in blocks if b["key_block"].startswith(prefix))
    return found


def _aes_kcv(key: bytes, length: int = 3) -> str:
    mac = cmac.CMAC(algorithms.AES(key))
    mac.update(bytes(16))
    return mac.finalize()[:length].hex().upper()


@pytest.fixture
def kek_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "secrets" / "acquirer.kek"
    result = runner.invoke(app, ["keys", "kek", "new", "--out", str(path)])
    assert result.exit_code == 0, result.output
    monkeypatch.setenv(KEK_FILE_ENV, str(path))
    monkeypatch.delenv(KEK_ENV, raising=False)
    return path


def _invoke(*args: str, data_dir: Path, input: str | None = None) -> str:
    result = runner.invoke(app, [*args, "--data-dir", str(data_dir)], input=input)
    assert result.exit_code == 0, result.output
    return result.output


def test_kek_file_readable_by_others_is_refused(kek_file: Path) -> None:
    assert kek_file.stat().st_mode & 0o777 == 0o600
    assert load_kek() is not None
    kek_file.chmod(0o640)
    with pytest.raises(KeyEncryptionKeyError, match=r"mode 0640.*chmod 600"):
        load_kek()


def test_kek_from_environment_and_not_both(monkeypatch: pytest.MonkeyPatch) -> None:
    kek = Kek.generate()
    assert load_kek({KEK_ENV: kek.hex()}) == kek
    with pytest.raises(KeyEncryptionKeyError, match="not both"):
        load_kek({KEK_ENV: kek.hex(), KEK_FILE_ENV: "/x"})
    with pytest.raises(KeyEncryptionKeyError, match="64 hex digits"):
        load_kek({KEK_ENV: "00" * 16})


def test_encrypt_seals_clear_key_files_and_list_shows_kcvs_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "acq"
    monkeypatch.delenv(KEK_FILE_ENV, raising=False)
    _invoke("init", data_dir=data_dir)
    clear = load_key_material(Settings(data_dir))
    kek_path = tmp_path / "kek"
    assert runner.invoke(app, ["keys", "kek", "new", "--out", str(kek_path)]).exit_code == 0
    monkeypatch.setenv(KEK_FILE_ENV, str(kek_path))
    output = _invoke("keys", "encrypt", data_dir=data_dir)
    assert "issuer-keys.json" in output and "vault-key.json" in output and "keyring.json" in output
    for name in ("issuer-keys.json", "vault-key.json", "keyring.json"):
        text = (data_dir / name).read_text()
        assert json.loads(text)["format"] == "tap-sealed-key-file/1"
        assert clear.vault_key.key.hex().upper() not in text
        assert all(k.imk_ac.hex().upper() not in text for k in clear.issuer_keys.keys)
    assert load_key_material(Settings(data_dir)) == clear  # same keys, now sealed
    listing = _invoke("keys", "list", data_dir=data_dir)
    assert clear.vault_key.kcv.hex().upper() in listing
    assert "bdk" in listing and "imk:48953700-48953799" in listing
    bdk = clear.keyring.bdk
    assert bdk is not None and bdk.kcv.hex().upper() in listing
    for secret in (clear.vault_key.key, bdk.key, *(k.imk_ac for k in clear.issuer_keys.keys)):
        assert secret.hex().upper() not in listing and secret.hex() not in listing
    monkeypatch.delenv(KEK_FILE_ENV)
    with pytest.raises(KeyEncryptionKeyError, match="is encrypted"):
        load_key_material(Settings(data_dir))
    with pytest.raises(KeyEncryptionKeyError, match="sealed under the key-encryption key"):
        load_key_material(Settings(data_dir), Kek.generate("another"))


def test_key_file_readable_by_others_is_refused(settings: Settings) -> None:
    settings.vault_key.chmod(0o644)
    with pytest.raises(KeyEncryptionKeyError, match=r"vault-key\.json has mode 0644"):
        load_key_material(settings)


def test_production_init_needs_a_kek_and_makes_no_test_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEK_FILE_ENV, raising=False)
    monkeypatch.delenv(KEK_ENV, raising=False)
    result = runner.invoke(app, ["init", "--production", "--data-dir", str(tmp_path / "p")])
    assert result.exit_code == 1 and "key-encryption key" in result.output
    monkeypatch.setenv(KEK_ENV, Kek.generate().hex())
    output = _invoke("init", "--production", data_dir=tmp_path / "p")
    assert "production" in output
    settings = Settings(tmp_path / "p")
    assert not settings.issuer_keys.exists() and not settings.vault_key.exists()
    with pytest.raises(KeyMaterialError, match="keys import"):
        load_key_material(settings)


def test_production_refuses_clear_key_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real (non-test) keys kept in clear are refused in production; sealed they load."""
    monkeypatch.delenv(KEK_FILE_ENV, raising=False)
    kek = Kek.generate()
    settings = Settings(tmp_path / "acq")
    initialize(settings, kek=kek)
    material = load_key_material(settings, kek)
    real_issuers = dataclasses.replace(material.issuer_keys, test_keys=False)
    real_vault = dataclasses.replace(material.vault_key, test_key=False)
    save_issuer_key_set(settings, real_issuers, None)  # in clear
    save_vault_key(settings, real_vault, kek)
    save_keyring(settings, dataclasses.replace(material.keyring, keys=()), kek)
    production = dataclasses.replace(settings, production=True)
    with pytest.raises(ProductionRefusedError, match=r"in clear \(.*issuer-keys.json\)"):
        load_key_material(production, kek)
    save_issuer_key_set(settings, real_issuers, kek)
    assert not load_key_material(production, kek).test_keys


def _component_files(tmp_path: Path, key: bytes, algorithm: KeyAlgorithm) -> tuple[list[str], str]:
    """Two components of ``key`` in files (each: hex, then its KCV); the key's KCV."""
    first = (
        adjust_parity(os.urandom(len(key)))
        if algorithm is KeyAlgorithm.TDES
        else os.urandom(len(key))
    )
    second = xor(key, first)
    if algorithm is KeyAlgorithm.TDES:
        second = adjust_parity(second)

    def check(k: bytes) -> str:
        return tdes_kcv(k).hex().upper() if algorithm is KeyAlgorithm.TDES else _aes_kcv(k)

    args = []
    for number, part in enumerate((first, second), start=1):
        path = tmp_path / f"component{number}.txt"
        path.write_text(f"{part.hex().upper()}\n{check(part)}\n")
        args += ["--component-file", str(path)]
    return args, check(key)


def test_import_imk_from_components_with_published_kcvs(
    tmp_path: Path, kek_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """emvcore.keys.components' example: components D5D44F + 21BD36 -> key KCV 28C269."""
    data_dir = tmp_path / "acq"
    _invoke("init", data_dir=data_dir)
    one = "0123456789ABCDEF 0123456789ABCDEF\nD5D44F\n"
    two = "1F3E5D7C9BBAD9F8 102032435464768A\n21BD36\n"
    (tmp_path / "c1").write_text(one)
    (tmp_path / "c2").write_text(two)
    args = ["keys", "import", "imk:41111100-41111199", "--components", "2"]
    args += ["--component-file", str(tmp_path / "c1"), "--component-file", str(tmp_path / "c2")]
    bad = runner.invoke(app, [*args, "--kcv", "28C26A", "--data-dir", str(data_dir)])
    assert bad.exit_code == 1 and "does not match its KCV" in bad.output
    output = _invoke(*args, "--kcv", "28C269", data_dir=data_dir)
    assert "KCV 28C269" in output and "test issuer keys" in output
    keys = load_key_material(Settings(data_dir)).issuer_keys
    assert not keys.test_keys
    assert (
        keys.for_pan("4111110012345678").imk_ac.hex().upper() == "1F1C191A1310151610027625DCCEBA64"
    )


def test_import_components_at_a_hidden_prompt(tmp_path: Path, kek_file: Path) -> None:
    data_dir = tmp_path / "acq"
    key = os.urandom(16)
    first, second = os.urandom(16), None
    second = xor(key, first)
    typed = f"{first.hex()}\n{_aes_kcv(first)}\n{second.hex()}\n{_aes_kcv(second)}\n"
    args = ["keys", "import", "kek:zmk1", "--components", "2", "--algorithm", "aes"]
    output = _invoke(*args, "--kcv", _aes_kcv(key), data_dir=data_dir, input=typed)
    assert first.hex() not in output and second.hex() not in output  # hidden input
    assert f"kek:zmk1 imported, KCV {_aes_kcv(key)}" in output
    keyring, sealed = load_keyring(Settings(data_dir), load_kek())
    assert sealed and keyring.require("kek:zmk1").key == key


def test_import_from_published_tr31_blocks(tmp_path: Path, kek_file: Path) -> None:
    """The KBPK of a payShield 10k K0 block enters by components; the block's key by TR-31."""
    data_dir = tmp_path / "acq"
    vector = _vector("B0080K0TN00N0000")
    kbpk = bytes.fromhex(vector["kbpk"])
    args, kcv = _component_files(tmp_path, kbpk, KeyAlgorithm.TDES)
    _invoke("keys", "import", "kek:zmk1", "--components", "2", "--algorithm", "tdes",
            *args, "--kcv", kcv, data_dir=data_dir)  # fmt: skip
    block = tmp_path / "k0.tr31"
    block.write_text(vector["key_block"] + "\n")
    output = _invoke("keys", "import", "kek:zpk2", "--tr31", str(block), "--kek", "kek:zmk1",
                     "--kcv", vector["kcv"], data_dir=data_dir)  # fmt: skip
    assert f"KCV {vector['kcv']}" in output
    # X9.143 8.x: an AES KBPK's B0 block holds a TDES BDK: refused for the AES DUKPT BDK.
    aes = _vector("D0112B0TN00N0000")
    aes_args, aes_kcv = _component_files(tmp_path, bytes.fromhex(aes["kbpk"]), KeyAlgorithm.AES)
    _invoke("keys", "import", "kek:aes1", "--components", "2", "--algorithm", "aes",
            *aes_args, "--kcv", aes_kcv, data_dir=data_dir)  # fmt: skip
    block.write_text(aes["key_block"])
    refused = runner.invoke(app, ["keys", "import", "bdk", "--tr31", str(block), "--kek", "aes1",
                                  "--data-dir", str(data_dir)])  # fmt: skip
    assert refused.exit_code == 1 and "must be a AES key, the block holds TDES" in refused.output
    # A tampered block fails its MAC.
    tampered = vector["key_block"][:-1] + ("0" if vector["key_block"][-1] != "0" else "1")
    block.write_text(tampered)
    bad = runner.invoke(app, ["keys", "import", "kek:x", "--tr31", str(block), "--kek", "zmk1",
                              "--data-dir", str(data_dir)])  # fmt: skip
    assert bad.exit_code == 1 and "MAC" in bad.output


def test_import_aes_bdk_and_vault_key_from_tr31(tmp_path: Path, kek_file: Path) -> None:
    data_dir = tmp_path / "acq"
    _invoke("init", data_dir=data_dir)
    kbpk = os.urandom(32)
    args, kcv = _component_files(tmp_path, kbpk, KeyAlgorithm.AES)
    _invoke("keys", "import", "kek:aes1", "--components", "2", "--algorithm", "aes",
            *args, "--kcv", kcv, data_dir=data_dir)  # fmt: skip
    bdk, vault = os.urandom(16), os.urandom(32)
    for name, key, usage in (
        ("bdk", bdk, Tr31Usage.BDK),
        ("vault", vault, Tr31Usage.DATA_ENCRYPTION),
    ):
        path = tmp_path / f"{name}.tr31"
        path.write_text(wrap_key_block(kbpk, key, version_id="D", key_usage=usage,
                                       algorithm=KeyAlgorithm.AES, mode_of_use="X"))  # fmt: skip
        output = _invoke("keys", "import", name, "--tr31", str(path), "--kek", "aes1",
                         "--kcv", _aes_kcv(key), data_dir=data_dir)  # fmt: skip
        assert _aes_kcv(key) in output
    kek = load_kek()
    keyring, _ = load_keyring(Settings(data_dir), kek)
    assert keyring.bdk is not None and keyring.bdk.key == bdk and not keyring.bdk.test_key
    loaded = load_vault_key(Settings(data_dir), kek)
    assert loaded is not None and loaded[0].key == vault and not loaded[0].test_key
    again = runner.invoke(app, ["keys", "import", "vault", "--tr31", str(tmp_path / "vault.tr31"),
                                "--kek", "aes1", "--data-dir", str(data_dir)])  # fmt: skip
    assert again.exit_code == 1 and "already installed" in again.output
    # The test issuer keys are still there: production refuses the directory.
    with pytest.raises(TestKeysRefusedError, match=r"issuer-keys\.json"):
        load_key_material(dataclasses.replace(Settings(data_dir), production=True))
