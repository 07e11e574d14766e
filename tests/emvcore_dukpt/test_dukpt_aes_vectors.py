"""AES DUKPT against the ANSI X9.24-3-2017 supplement (tests/vectors/dukpt_aes_x9_24_3.json).

Every counter's intermediate derivation key is asserted before its working keys, by the
host path (from the KSN alone) and by the device path (the future-key registers), and the
registers themselves are compared with the published register contents.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from emvcore.crypto.dukpt.aes import (
    AesDukptDevice,
    KeyType,
    KeyUsage,
    Ksn,
    derivation_data,
    derive_initial_key,
    derive_intermediate_key,
    derive_key,
    derive_update_key,
    derive_working_key,
    host_derive_working_key,
)
from emvcore.errors import DukptError

pytestmark = pytest.mark.filterwarnings("error")

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "vectors" / "dukpt_aes_x9_24_3.json").read_text()
)
SUITES = {suite["name"]: suite for suite in VECTORS["suites"]}
AES128, AES256 = SUITES["AES-128 BDK"], SUITES["AES-256 BDK"]


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def ksn_of(suite: dict[str, Any], counter: str) -> Ksn:
    return Ksn(h(suite["initial_key_id"]), int(counter, 16))


def working_columns(row: dict[str, Any]) -> list[tuple[KeyUsage, KeyType, str]]:
    """The working-key columns of a row, e.g. ``PIN_ENCRYPTION_AES128``."""
    columns = []
    for name, value in row.items():
        if name in ("counter", "derivation_key"):
            continue
        usage, key_type = name.rsplit("_", 1)
        columns.append((KeyUsage[usage], KeyType[key_type], value))
    return columns


@pytest.mark.parametrize("suite", VECTORS["suites"], ids=lambda suite: suite["name"])
def test_initial_key(suite: dict[str, Any]) -> None:
    assert derive_initial_key(h(suite["bdk"]), h(suite["initial_key_id"])) == h(
        suite["initial_key"]
    )


def test_initial_key_derivation_data_is_table_1() -> None:
    data = derivation_data(
        KeyUsage.KEY_DERIVATION_INITIAL_KEY, KeyType.AES128, h("1234567890123456")
    )
    assert data == h("01018001000200801234567890123456")
    data = derivation_data(
        KeyUsage.KEY_DERIVATION, KeyType.AES256, h("1234567890123456"), 0xFFFE2000
    )
    assert data == h("010180000004010090123456FFFE2000")


@pytest.mark.parametrize(
    ("suite", "row"),
    [(suite, row) for suite in VECTORS["suites"] for row in suite["counters"]],
    ids=lambda value: value["counter"] if "counter" in value else value["name"],
)
def test_host_side_intermediate_and_working_keys(
    suite: dict[str, Any], row: dict[str, Any]
) -> None:
    ksn = ksn_of(suite, row["counter"])
    initial_key = h(suite["initial_key"])
    assert derive_intermediate_key(initial_key, ksn) == h(row["derivation_key"])
    for usage, key_type, expected in working_columns(row):
        assert derive_working_key(initial_key, ksn, usage, key_type) == h(expected), (
            usage,
            key_type,
        )
        assert host_derive_working_key(h(suite["bdk"]), ksn.to_bytes(), usage, key_type) == h(
            expected
        )


def test_vectors_cover_every_working_key_kind() -> None:
    kinds = {
        (u, t) for s in VECTORS["suites"] for r in s["counters"] for u, t, _ in working_columns(r)
    }
    assert (KeyUsage.PIN_ENCRYPTION, KeyType.AES256) in kinds
    assert (KeyUsage.MAC_GENERATION, KeyType.AES128) in kinds
    assert (KeyUsage.DATA_ENCRYPT, KeyType.AES256) in kinds


def test_registers_after_load_and_first_transactions() -> None:
    registers = AES128["registers"]
    device = AesDukptDevice(h(AES128["initial_key"]), h(AES128["initial_key_id"]))

    def snapshot() -> list[str | None]:
        return [None if key is None else key.hex().upper() for key in device.intermediate_keys]

    assert snapshot() == registers["after_load"]
    device.next_working_key(KeyUsage.PIN_ENCRYPTION, KeyType.AES128)
    assert snapshot() == registers["after_transaction_1"]
    device.next_working_key(KeyUsage.PIN_ENCRYPTION, KeyType.AES128)
    assert snapshot() == registers["after_transaction_2"]


@pytest.mark.parametrize("suite", VECTORS["suites"], ids=lambda suite: suite["name"])
def test_device_side_first_eight_transactions(suite: dict[str, Any]) -> None:
    """Each column is its own device run up to the row's counter: one key per transaction."""
    for row in suite["counters"][:8]:
        for usage, key_type, expected in working_columns(row):
            device = AesDukptDevice(h(suite["initial_key"]), h(suite["initial_key_id"]))
            for _ in range(int(row["counter"], 16) - 1):
                device.next_working_key(KeyUsage.PIN_ENCRYPTION, KeyType.AES128)
            ksn, key = device.next_working_key(usage, key_type)
            assert ksn.to_bytes() == h(suite["initial_key_id"] + row["counter"])
            assert key == h(expected), (row["counter"], usage, key_type)


def test_device_agrees_with_host_on_every_counter_it_uses_first() -> None:
    initial_key, ikid = h(AES128["initial_key"]), h(AES128["initial_key_id"])
    device = AesDukptDevice(initial_key, ikid)
    for expected_counter in range(1, 300):
        ksn, key = device.next_working_key(KeyUsage.DATA_ENCRYPT, KeyType.AES128)
        assert ksn.counter == expected_counter
        assert key == derive_working_key(initial_key, ksn, KeyUsage.DATA_ENCRYPT, KeyType.AES128)


def test_the_invalid_counter_in_the_supplement_is_refused() -> None:
    (row,) = AES128["invalid_counters"]
    ksn = ksn_of(AES128, row["counter"])
    with pytest.raises(DukptError, match="17 one-bits"):
        derive_intermediate_key(h(AES128["initial_key"]), ksn)
    with pytest.raises(DukptError):
        host_derive_working_key(h(AES128["bdk"]), ksn, KeyUsage.PIN_ENCRYPTION, KeyType.AES128)
    # the supplement's figure is the raw derivation along the counter's bits
    key = h(AES128["initial_key"])
    working = 0
    for bit in reversed(range(32)):
        if ksn.counter >> bit & 1:
            working |= 1 << bit
            data = derivation_data(
                KeyUsage.KEY_DERIVATION, KeyType.AES128, ksn.initial_key_id, working
            )
            key = derive_key(key, KeyType.AES128, data)
    assert key == h(row["derivation_key"])


@pytest.mark.parametrize("suite", VECTORS["suites"], ids=lambda suite: suite["name"])
def test_update_keys(suite: dict[str, Any]) -> None:
    for key_type, expected in suite["update_keys"].items():
        key = derive_update_key(
            h(suite["initial_key"]), h(suite["initial_key_id"]), KeyType[key_type]
        )
        assert key == h(expected), key_type
