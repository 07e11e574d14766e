"""TDES DUKPT against ANSI X9.24-1-2009 A.4 (tests/vectors/dukpt_tdes_x9_24_1.json).

Each KSN's transaction key (the intermediate future key) is asserted first, by the host
path and by the device's future-key registers, then the PIN, MAC and data variants
through the PIN block, the X9.19 MACs and the encrypted data the standard lists.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from emvcore.crypto.dukpt.counter import TDES_COUNTER
from emvcore.crypto.dukpt.tdes import (
    TdesDukptDevice,
    Variant,
    counter_of,
    derive_ipek,
    derive_transaction_key,
    host_derive_key,
    working_key,
)
from emvcore.crypto.mac import Padding, mac_iso9797_alg3
from emvcore.crypto.tdes import tdes_cbc_encrypt, tdes_ecb_encrypt
from emvcore.errors import DukptError

pytestmark = pytest.mark.filterwarnings("error")

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "vectors" / "dukpt_tdes_x9_24_1.json").read_text()
)
BDK, IPEK = bytes.fromhex(VECTORS["bdk"]), bytes.fromhex(VECTORS["ipek"])
ROWS = [row for sequence in VECTORS["sequences"].values() for row in sequence]
DATA = VECTORS["data_ascii"].encode("ascii")


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def test_ipek() -> None:
    assert derive_ipek(BDK, h(VECTORS["initial_ksn"])) == IPEK
    assert derive_ipek(BDK, h(ROWS[-1]["ksn"])) == IPEK  # the counter is masked off


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row["ksn"])
def test_transaction_key_and_variants(row: dict[str, Any]) -> None:
    ksn = h(row["ksn"])
    key = derive_transaction_key(IPEK, ksn)
    assert key == h(row["transaction_key"])
    assert host_derive_key(BDK, ksn) == key
    pin_key = host_derive_key(BDK, ksn, Variant.PIN)
    assert pin_key == working_key(key, Variant.PIN)
    assert tdes_ecb_encrypt(pin_key, h(VECTORS["clear_pin_block"])) == h(row["pin_block"])
    for variant, column in (
        (Variant.MAC_REQUEST, "mac_request"),
        (Variant.MAC_RESPONSE, "mac_response"),
    ):
        mac = mac_iso9797_alg3(working_key(key, variant), DATA, Padding.METHOD_1, length=4)
        assert mac == h(row[column]), column
    padded = DATA + bytes(24 - len(DATA))  # the A.4 data, zero-filled to three blocks
    encrypted = tdes_cbc_encrypt(working_key(key, Variant.DATA_REQUEST), bytes(8), padded)
    assert encrypted == h(row["data_request"])


def test_device_follows_the_initial_sequence() -> None:
    device = TdesDukptDevice(IPEK, h(VECTORS["initial_ksn"]))
    for row in VECTORS["sequences"]["initial"]:
        ksn, key = device.next_key()
        assert ksn == h(row["ksn"])
        assert key == h(row["transaction_key"])


def test_device_registers_hold_the_keys_of_single_bit_counters_after_load() -> None:
    device = TdesDukptDevice(IPEK, h(VECTORS["initial_ksn"]))
    iksn = int(VECTORS["initial_ksn"], 16)
    for bit, register in enumerate(device.future_keys):
        ksn = (iksn | 1 << bit).to_bytes(10, "big")
        assert register == derive_transaction_key(IPEK, ksn), bit


def test_rollover_sequence_skips_counters_with_more_than_ten_one_bits() -> None:
    counters = [counter_of(h(row["ksn"])) for row in VECTORS["sequences"]["rollover"]]
    for before, after in itertools.pairwise(counters):
        assert TDES_COUNTER.next_counter(before) == after
    assert counters[-2:] == [0x0FFC00, 0x100000]


def test_refused_counters_and_lengths() -> None:
    with pytest.raises(DukptError, match="11 one-bits"):
        derive_transaction_key(IPEK, h("FFFF9876543210E007FF"))
    with pytest.raises(DukptError, match="1 to"):
        derive_transaction_key(IPEK, h(VECTORS["initial_ksn"]))
    with pytest.raises(DukptError, match="10 bytes"):
        derive_ipek(BDK, h("FFFF9876543210E000"))
    with pytest.raises(DukptError, match="16-byte"):
        derive_ipek(BDK + BDK[:8], h(VECTORS["initial_ksn"]))
