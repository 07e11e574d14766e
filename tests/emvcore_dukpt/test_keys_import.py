"""Key check values, key components and TR-31 key blocks (tests/vectors/tr31_key_blocks.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from emvcore.crypto.tdes import adjust_parity, kcv, xor
from emvcore.errors import KeyBlockError, KeyComponentError, KeyImportError
from emvcore.keys import (
    KeyAlgorithm,
    KeyComponent,
    Tr31Usage,
    aes_kcv,
    combine_components,
    key_check_value,
    unwrap_key_block,
    wrap_key_block,
)

pytestmark = pytest.mark.filterwarnings("error")

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "vectors" / "tr31_key_blocks.json").read_text()
)
ALGORITHMS = {"T": KeyAlgorithm.TDES, "A": KeyAlgorithm.AES}


def h(text: str) -> bytes:
    return bytes.fromhex(text)


# --- TR-31 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", VECTORS["key_blocks"], ids=lambda v: v["key_block"][:16])
def test_published_key_blocks_unwrap_with_their_kcv(vector: dict[str, Any]) -> None:
    block = vector["key_block"]
    algorithm = ALGORITHMS[block[7]]
    unwrapped = unwrap_key_block(
        h(vector["kbpk"]), block, key_usage=block[5:7], algorithm=algorithm, modes_of_use={block[8]}
    )
    assert unwrapped.key == h(vector["key"])
    kcv_length = len(vector["kcv"]) // 2
    assert key_check_value(unwrapped.key, algorithm, kcv_length) == h(vector["kcv"])
    assert unwrapped.header.version_id == block[0]
    if "ks" in vector:
        assert unwrapped.header.blocks["KS"] == vector["ks"]
    assert vector["key"] not in repr(unwrapped) and vector["key"].lower() not in repr(unwrapped)


def vector_for(prefix: str) -> dict[str, Any]:
    return next(v for v in VECTORS["key_blocks"] if v["key_block"].startswith(prefix))


def test_bdk_block_is_refused_where_a_kek_is_expected() -> None:
    vector = vector_for("C0096B0TX12S")
    with pytest.raises(KeyBlockError, match="B0, not the K0") as raised:
        unwrap_key_block(
            h(vector["kbpk"]),
            vector["key_block"],
            key_usage=Tr31Usage.KEY_ENCRYPTION,
            algorithm=KeyAlgorithm.TDES,
        )
    assert raised.value.field == "key_usage"


def test_wrong_algorithm_and_mode_are_refused() -> None:
    vector = vector_for("D0112P0AE00E")
    kbpk, block = h(vector["kbpk"]), vector["key_block"]
    with pytest.raises(KeyBlockError) as raised:
        unwrap_key_block(kbpk, block, key_usage="P0", algorithm=KeyAlgorithm.TDES)
    assert raised.value.field == "algorithm"
    with pytest.raises(KeyBlockError) as raised:
        unwrap_key_block(
            kbpk, block, key_usage="P0", algorithm=KeyAlgorithm.AES, modes_of_use={"D"}
        )
    assert raised.value.field == "mode_of_use"


@pytest.mark.parametrize("vector", VECTORS["key_blocks"], ids=lambda v: v["key_block"][:16])
def test_tampered_or_wrongly_keyed_blocks_fail_their_mac(vector: dict[str, Any]) -> None:
    block, kbpk = vector["key_block"], h(vector["kbpk"])
    usage, algorithm = block[5:7], ALGORITHMS[block[7]]
    flipped = block[:-1] + ("0" if block[-1] != "0" else "1")
    wrong_kbpk = bytes([kbpk[0] ^ 0x10]) + kbpk[1:]
    for candidate, key in ((flipped, kbpk), (block, wrong_kbpk)):
        with pytest.raises(KeyBlockError) as raised:
            unwrap_key_block(key, candidate, key_usage=usage, algorithm=algorithm)
        assert raised.value.field == "mac"
        assert vector["key"] not in str(raised.value)


@pytest.mark.parametrize(
    "block",
    [
        "",
        "B0080P0TE00E",
        "B0081P0TE00E000094B420079CC80BA3461F86FE26EFC4A3B8E4FA4C5F5341176EED7B727B8A248E",
        "B0080P0TE00E0000ZZB420079CC80BA3461F86FE26EFC4A3B8E4FA4C5F5341176EED7B727B8A248E",
        "Z0080P0TE00E000094B420079CC80BA3461F86FE26EFC4A3B8E4FA4C5F5341176EED7B727B8A248E",
    ],
)
def test_malformed_blocks_are_format_errors_without_their_data(block: str) -> None:
    with pytest.raises(KeyBlockError) as raised:
        unwrap_key_block(
            h("DD7515F2BFC17F85CE48F3CA25CB21F6"),
            block,
            key_usage="P0",
            algorithm=KeyAlgorithm.TDES,
        )
    assert raised.value.field == "format"
    assert "94B420079CC80BA3" not in str(raised.value)
    assert isinstance(raised.value, KeyImportError)


def test_kbpk_of_the_wrong_kind_is_named() -> None:
    vector = vector_for("D0112P0AE00E")
    with pytest.raises(KeyBlockError) as raised:
        unwrap_key_block(
            h(vector["kbpk"])[:8], vector["key_block"], key_usage="P0", algorithm=KeyAlgorithm.AES
        )
    assert raised.value.field == "kbpk"


@pytest.mark.parametrize(
    ("version", "kbpk", "algorithm", "key"),
    [
        (
            "B",
            h("DD7515F2BFC17F85CE48F3CA25CB21F6"),
            KeyAlgorithm.TDES,
            adjust_parity(bytes(range(16))),
        ),
        (
            "B",
            h("DD7515F2BFC17F85CE48F3CA25CB21F6DD7515F2BFC17F85"),
            KeyAlgorithm.TDES,
            adjust_parity(bytes(range(24))),
        ),
        ("D", bytes(range(32)), KeyAlgorithm.AES, bytes(range(16))),
        ("D", bytes(range(16)), KeyAlgorithm.AES, bytes(range(32))),
        ("A", h("DD7515F2BFC17F85CE48F3CA25CB21F6"), KeyAlgorithm.TDES, adjust_parity(bytes(16))),
    ],
)
def test_round_trip(version: str, kbpk: bytes, algorithm: KeyAlgorithm, key: bytes) -> None:
    block = wrap_key_block(
        kbpk,
        key,
        version_id=version,
        key_usage=Tr31Usage.BDK,
        algorithm=algorithm,
        mode_of_use="X",
        blocks={"KS": "00604B120F9292800000"},
    )
    assert block.startswith(version) and block[5:9] == f"B0{algorithm.value}X"
    unwrapped = unwrap_key_block(kbpk, block, key_usage=Tr31Usage.BDK, algorithm=algorithm)
    assert unwrapped.key == key
    assert unwrapped.header.blocks == {"KS": "00604B120F9292800000"}
    assert unwrapped.kcv == key_check_value(key, algorithm)


def test_wrapped_key_of_a_length_its_algorithm_lacks_is_refused() -> None:
    kbpk = bytes(range(32))
    block = wrap_key_block(
        kbpk, bytes(20), version_id="D", key_usage="K0", algorithm=KeyAlgorithm.AES, mode_of_use="N"
    )
    with pytest.raises(KeyBlockError) as raised:
        unwrap_key_block(kbpk, block, key_usage="K0", algorithm=KeyAlgorithm.AES)
    assert raised.value.field == "key"


def test_wrap_with_a_bad_header_field_is_a_format_error() -> None:
    with pytest.raises(KeyBlockError) as raised:
        wrap_key_block(
            bytes(16),
            bytes(16),
            version_id="B",
            key_usage="?!",
            algorithm=KeyAlgorithm.TDES,
            mode_of_use="X",
        )
    assert raised.value.field == "format"


# --- key check values ------------------------------------------------------------------------


def test_aes_kcv_is_cmac_of_a_zero_block() -> None:
    vector = vector_for("D0144P0AE00E")  # X9.143 8.1 gives the 5-byte form
    assert aes_kcv(h(vector["key"]), 5) == h(vector["kcv"])
    assert aes_kcv(h(vector["key"])) == h(vector["kcv"])[:3]


def test_kcv_lengths_are_checked() -> None:
    with pytest.raises(Exception, match="1 to 16"):
        aes_kcv(bytes(16), 17)
    with pytest.raises(Exception, match="TDES key is 16, 24"):
        key_check_value(bytes(8), KeyAlgorithm.TDES)


# --- key components --------------------------------------------------------------------------

TDES_KEY = adjust_parity(h("0123456789ABCDEFFEDCBA98765432100F1E2D3C4B5A6978"))


def split(key: bytes, parts: int, algorithm: KeyAlgorithm) -> list[KeyComponent]:
    """Components of ``key`` as a key ceremony makes them (TDES ones with odd parity)."""
    masks = [bytes((i * 37 + p * 101) & 0xFF for i in range(len(key))) for p in range(parts - 1)]
    if algorithm is KeyAlgorithm.TDES:
        masks = [adjust_parity(mask) for mask in masks]
    last = key
    for mask in masks:
        last = xor(last, mask)
    if algorithm is KeyAlgorithm.TDES:
        last = adjust_parity(last)  # differs from the exact XOR in parity bits only
    return [KeyComponent(v, key_check_value(v, algorithm)) for v in [*masks, last]]


@pytest.mark.parametrize("parts", [2, 3])
def test_tdes_components_combine_to_the_key(parts: int) -> None:
    components = split(TDES_KEY, parts, KeyAlgorithm.TDES)
    key = combine_components(components, KeyAlgorithm.TDES, expected_kcv=kcv(TDES_KEY))
    assert key == TDES_KEY


@pytest.mark.parametrize("parts", [2, 3])
@pytest.mark.parametrize("length", [16, 24, 32])
def test_aes_components_combine_to_the_key(parts: int, length: int) -> None:
    key = bytes(range(100, 100 + length))
    components = split(key, parts, KeyAlgorithm.AES)
    combined = combine_components(components, KeyAlgorithm.AES, expected_kcv=aes_kcv(key, 5))
    assert combined == key


def test_component_failing_its_kcv_is_named_and_not_shown() -> None:
    components = split(TDES_KEY, 3, KeyAlgorithm.TDES)
    components[1] = KeyComponent(components[1].value, bytes(3))
    with pytest.raises(
        KeyComponentError, match="component 2 of 3 does not match its KCV"
    ) as raised:
        combine_components(components, KeyAlgorithm.TDES, expected_kcv=kcv(TDES_KEY))
    assert raised.value.component == 2
    assert components[1].value.hex() not in str(raised.value).lower()
    assert kcv(components[1].value).hex() not in str(raised.value).lower()


def test_component_with_a_parity_error_is_refused() -> None:
    components = split(TDES_KEY, 3, KeyAlgorithm.TDES)
    broken = bytes([components[2].value[0] ^ 0x01]) + components[2].value[1:]
    components[2] = KeyComponent(broken, kcv(broken))
    with pytest.raises(KeyComponentError, match="component 3 of 3 has a parity error") as raised:
        combine_components(components, KeyAlgorithm.TDES, expected_kcv=kcv(TDES_KEY))
    assert raised.value.component == 3


def test_combined_key_failing_its_kcv() -> None:
    components = split(TDES_KEY, 3, KeyAlgorithm.TDES)
    with pytest.raises(KeyComponentError, match="combined key") as raised:
        combine_components(components, KeyAlgorithm.TDES, expected_kcv=h("000000"))
    assert raised.value.component is None


@pytest.mark.parametrize("count", [1, 4])
def test_two_or_three_components(count: int) -> None:
    component = KeyComponent(bytes(16), aes_kcv(bytes(16)))
    with pytest.raises(KeyComponentError, match="2 or 3"):
        combine_components([component] * count, KeyAlgorithm.AES, expected_kcv=aes_kcv(bytes(16)))


def test_components_of_different_or_wrong_lengths() -> None:
    one = KeyComponent(bytes(16), aes_kcv(bytes(16)))
    two = KeyComponent(bytes(24), aes_kcv(bytes(24)))
    with pytest.raises(KeyComponentError, match="component 2 of 2 is 24 bytes") as raised:
        combine_components([one, two], KeyAlgorithm.AES, expected_kcv=aes_kcv(bytes(16)))
    assert raised.value.component == 2
    short = KeyComponent(bytes(8), bytes(3))
    with pytest.raises(KeyComponentError) as raised:
        combine_components([short, short], KeyAlgorithm.TDES, expected_kcv=bytes(3))
    assert raised.value.component == 1


def test_component_from_hex_never_echoes_the_value() -> None:
    with pytest.raises(KeyComponentError) as raised:
        KeyComponent.from_hex("0123456789ABCDEFG", "08D7B4")
    assert "0123456789" not in str(raised.value)
    shown = repr(KeyComponent.from_hex("AB" * 16, "000000"))
    assert "value" not in shown and "\\xab" not in shown
