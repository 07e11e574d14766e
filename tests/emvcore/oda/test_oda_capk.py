"""CA public key store: published check sums, the key file, lookups, the shipped test CA."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from emvcore.errors import KeyFileError, OdaError
from emvcore.oda.capk import (
    CaKeyStore,
    CaPublicKey,
    load_ca_keys,
    load_test_ca_private_keys,
    save_ca_keys,
    save_test_ca_private_keys,
)
from emvcore.oda.certificates import issuer_certificate, recover_issuer_key
from emvcore.oda.failures import OdaFailure
from emvcore.oda.rsa import generate_rsa_key, modulus_bytes
from tests.emvcore.oda.support import PAN, TODAY, Chain

pytestmark = pytest.mark.filterwarnings("error")

ROOT = Path(__file__).parents[3]
VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "vectors" / "emv_capk.json").read_text()
)
VISA = bytes.fromhex("A000000003")
MASTERCARD = bytes.fromhex("A000000004")


def published(vector: dict[str, Any], *, test: bool = True) -> CaPublicKey:
    return CaPublicKey(
        bytes.fromhex(vector["rid"]),
        int(vector["index"], 16),
        bytes.fromhex(vector["modulus"]),
        int(vector["exponent"], 16),
        None,
        test,
    )


@pytest.mark.parametrize(
    "vector", VECTORS["ca_public_keys"], ids=[v["name"] for v in VECTORS["ca_public_keys"]]
)
def test_published_check_sums(vector: dict[str, Any]) -> None:
    assert vector["source"].strip()
    assert published(vector).checksum().hex().upper() == vector["checksum"]


def store_of_published() -> CaKeyStore:
    return CaKeyStore(published(v) for v in VECTORS["ca_public_keys"])


def test_file_round_trip(tmp_path: Path) -> None:
    keys = [published(v) for v in VECTORS["ca_public_keys"]]
    keys[0] = CaPublicKey(keys[0].rid, keys[0].index, keys[0].modulus, 3, date(2031, 12, 31), True)
    store = CaKeyStore(keys, revoked=[(VISA, 0x51)])
    path = tmp_path / "capk.json"
    save_ca_keys(store, path)
    loaded = load_ca_keys(path)
    assert loaded.keys == store.keys and loaded.revoked == store.revoked
    document = json.loads(path.read_text())
    assert document["format"] == "tap-capk/1"
    assert document["keys"][0]["checksum"] == VECTORS["ca_public_keys"][0]["checksum"]
    assert document["keys"][0]["expiry"] == "2031-12-31" and document["keys"][1]["expiry"] is None
    assert (path.stat().st_mode & 0o777) == 0o644


def write(tmp_path: Path, document: dict[str, Any]) -> Path:
    path = tmp_path / "capk.json"
    path.write_text(json.dumps(document))
    return path


def good_document() -> dict[str, Any]:
    vector = VECTORS["ca_public_keys"][0]
    entry = {k: vector[k] for k in ("rid", "index", "modulus", "exponent", "checksum")}
    return {"format": "tap-capk/1", "keys": [{**entry, "expiry": None, "test": False}]}


def test_a_mistyped_modulus_fails_the_check_sum(tmp_path: Path) -> None:
    document = good_document()
    load_ca_keys(write(tmp_path, document), production=True)
    modulus = document["keys"][0]["modulus"]
    document["keys"][0]["modulus"] = (
        modulus[:10] + ("0" if modulus[10] != "0" else "1") + modulus[11:]
    )
    with pytest.raises(KeyFileError, match="does not match its check sum"):
        load_ca_keys(write(tmp_path, document))


@pytest.mark.parametrize(
    "change",
    [
        {"rid": "A0000003"},
        {"index": "9292"},
        {"exponent": "000003"},
        {"exponent": "05"},
        {"checksum": "00"},
        {"expiry": "31/12/2030"},
        {"test": "no"},
        {"modulus": "zz"},
        {"modulus": "00" + "99" * 100},
    ],
)
def test_malformed_entries(tmp_path: Path, change: dict[str, Any]) -> None:
    document = good_document()
    document["keys"][0].update(change)
    with pytest.raises(KeyFileError):
        load_ca_keys(write(tmp_path, document))


@pytest.mark.parametrize(
    "document",
    [
        {"format": "tap-capk/2", "keys": []},
        {"format": "tap-capk/1"},
        [],
        {"format": "tap-capk/1", "keys": {}},
    ],
)
def test_malformed_files(tmp_path: Path, document: Any) -> None:
    path = tmp_path / "capk.json"
    path.write_text(json.dumps(document))
    with pytest.raises(KeyFileError):
        load_ca_keys(path)


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="not found"):
        load_ca_keys(tmp_path / "absent.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(KeyFileError, match="not JSON"):
        load_ca_keys(tmp_path / "bad.json")


def test_duplicate_keys_are_refused() -> None:
    key = published(VECTORS["ca_public_keys"][0])
    with pytest.raises(KeyFileError, match="twice"):
        CaKeyStore([key, key])


def test_production_refuses_test_keys(tmp_path: Path) -> None:
    document = good_document()
    document["keys"][0]["test"] = True
    path = write(tmp_path, document)
    assert load_ca_keys(path).test_keys
    with pytest.raises(KeyFileError, match="refused in production"):
        load_ca_keys(path, production=True)


def test_lookup() -> None:
    store = store_of_published()
    assert store.lookup(VISA, 0x92, today=TODAY).checksum().hex().upper().startswith("429C")
    assert len(store) == 4 and "A000000003/92" in repr(store)


@pytest.mark.parametrize(
    ("rid", "index", "failure"),
    [
        (VISA, 0x99, OdaFailure.CA_KEY_MISSING),
        (bytes.fromhex("A000000025"), 0x92, OdaFailure.CA_KEY_MISSING),
    ],
)
def test_lookup_missing(rid: bytes, index: int, failure: OdaFailure) -> None:
    with pytest.raises(OdaError) as caught:
        store_of_published().lookup(rid, index, today=TODAY)
    assert caught.value.failure is failure


def test_lookup_revoked() -> None:
    store = store_of_published().with_revoked(MASTERCARD, 0xEF)
    with pytest.raises(OdaError) as caught:
        store.lookup(MASTERCARD, 0xEF, today=TODAY)
    assert caught.value.failure is OdaFailure.CA_KEY_REVOKED
    store.lookup(MASTERCARD, 0xF5, today=TODAY)
    with pytest.raises(OdaError) as unknown:  # revoked wins even when the key is absent
        CaKeyStore(revoked=[(VISA, 0x01)]).lookup(VISA, 0x01, today=TODAY)
    assert unknown.value.failure is OdaFailure.CA_KEY_REVOKED


def test_lookup_expired() -> None:
    vector = VECTORS["ca_public_keys"][0]
    key = CaPublicKey(VISA, 0x92, bytes.fromhex(vector["modulus"]), 3, date(2026, 11, 21), True)
    store = CaKeyStore([key])
    store.lookup(VISA, 0x92, today=date(2026, 11, 21))
    with pytest.raises(OdaError) as caught:
        store.lookup(VISA, 0x92, today=TODAY)
    assert caught.value.failure is OdaFailure.CA_KEY_EXPIRED


def test_key_validation() -> None:
    modulus = b"\x99" * 128
    for args in (
        (b"\xa0" * 4, 1, modulus, 3),
        (VISA, 256, modulus, 3),
        (VISA, 1, b"\x99" * 63, 3),
        (VISA, 1, b"\x99" * 249, 3),
        (VISA, 1, modulus, 17),
    ):
        with pytest.raises(KeyFileError):
            CaPublicKey(*args, None, True)


# --- test CA private keys and the shipped files -------------------------------------------


def test_test_ca_private_keys_round_trip(tmp_path: Path) -> None:
    key = generate_rsa_key(1024)
    path = tmp_path / "test-ca.json"
    save_test_ca_private_keys({(VISA, 0xE1): key}, path)
    loaded = load_test_ca_private_keys(path)
    assert loaded[VISA, 0xE1].private_numbers() == key.private_numbers()
    document = json.loads(path.read_text())
    document["test"] = False
    path.write_text(json.dumps(document))
    with pytest.raises(KeyFileError, match="test"):
        load_test_ca_private_keys(path)
    document["test"] = True
    document["keys"][0]["private_key"] = (
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    )
    path.write_text(json.dumps(document))
    with pytest.raises(KeyFileError, match="PEM"):
        load_test_ca_private_keys(path)


def test_shipped_test_ca_files_match_and_certify() -> None:
    store = load_ca_keys(ROOT / "terminal" / "data" / "capk-test.json")
    private = load_test_ca_private_keys(ROOT / "card_emulation" / "data" / "test-ca.json")
    document = json.loads((ROOT / "card_emulation" / "data" / "test-ca.json").read_text())
    assert document["warning"] == "TEST KEYS: refused in production" and document["test"] is True
    assert {(k.rid, k.index) for k in store.keys} == {(VISA, 0xE1), (MASTERCARD, 0xE1)}
    assert set(private) == {(VISA, 0xE1), (MASTERCARD, 0xE1)}
    for key in store.keys:
        assert key.test and key.exponent == 3 and len(key.modulus) == 176
        assert key.expiry == date(2035, 12, 31)
        assert private[key.rid, key.index].public_key().public_numbers().n == int.from_bytes(
            key.modulus, "big"
        )
    with pytest.raises(KeyFileError):
        load_ca_keys(ROOT / "terminal" / "data" / "capk-test.json", production=True)


def test_shipped_test_ca_issues_a_working_chain(chain_remainders: Chain) -> None:
    store = load_ca_keys(ROOT / "terminal" / "data" / "capk-test.json")
    ca = load_test_ca_private_keys(ROOT / "card_emulation" / "data" / "test-ca.json")[VISA, 0xE1]
    issuer = chain_remainders.issuer
    cert, remainder = issuer_certificate(
        ca,
        issuer_modulus=modulus_bytes(issuer),
        issuer_exponent=3,
        issuer_identifier="4761",
        expiry="1230",
        serial=b"\x00\x00\x07",
    )
    key = recover_issuer_key(
        store.lookup(VISA, 0xE1, today=TODAY), cert, remainder, b"\x03", pan=PAN, today=TODAY
    )
    assert key.modulus == modulus_bytes(issuer) and key.identifier == "4761"
