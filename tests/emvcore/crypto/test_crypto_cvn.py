"""CryptogramVersion behaviour: AC input, IAD layout, tag 91 generation and the card's check."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emvcore.crypto import CRYPTOGRAM_VERSIONS, CryptogramVersion, cryptogram_version
from emvcore.crypto.cvn import ArpcKey, SessionKeyMethod
from emvcore.crypto.mac import Padding
from emvcore.errors import CryptoError

pytestmark = pytest.mark.filterwarnings("error")

ICC_MK = bytes.fromhex("B0C7CD67B62A4FC7C8AEFDF1DFE9C246")
TERMINAL = {
    0x9F02: bytes.fromhex("000000001500"),
    0x9F03: bytes(6),
    0x9F1A: bytes.fromhex("0826"),
    0x95: bytes.fromhex("0000008000"),
    0x5F2A: bytes.fromhex("0826"),
    0x9A: bytes.fromhex("250614"),
    0x9C: b"\x00",
    0x9F37: bytes.fromhex("1A2B3C4D"),
    0x82: bytes.fromhex("1980"),
    0x9F36: bytes.fromhex("0042"),
}
NAMES = sorted(CRYPTOGRAM_VERSIONS)


def card_data(version: CryptogramVersion) -> dict[int, bytes]:
    cvr = bytes(3) if version.name.startswith("visa") else bytes.fromhex("A00003220000")
    return {**TERMINAL, 0x9F10: version.build_iad(dki=1, cvr=cvr)}


def test_registry() -> None:
    assert NAMES == ["mastercard-cvn16", "mastercard-cvn17", "visa-cvn10", "visa-cvn18"]
    for name, version in CRYPTOGRAM_VERSIONS.items():
        assert version.name == name
        assert cryptogram_version(name) is version
    with pytest.raises(TypeError):
        CRYPTOGRAM_VERSIONS["x"] = CRYPTOGRAM_VERSIONS["visa-cvn10"]  # type: ignore[index]


def test_version_choices() -> None:
    cvn10, cvn18 = cryptogram_version("visa-cvn10"), cryptogram_version("visa-cvn18")
    mc16, mc17 = cryptogram_version("mastercard-cvn16"), cryptogram_version("mastercard-cvn17")
    assert (cvn10.cvn, cvn18.cvn, mc16.cvn, mc17.cvn) == (0x0A, 0x12, 0x10, 0x11)
    assert cvn10.session_key is SessionKeyMethod.NONE and cvn10.padding is Padding.METHOD_1
    assert (cvn10.arpc_method, cvn10.arpc_key) == (1, ArpcKey.CARD_MASTER)
    assert cvn18.session_key is SessionKeyMethod.EMV_COMMON
    assert (cvn18.arpc_method, cvn18.arpc_key) == (2, ArpcKey.SESSION)
    for mc in (mc16, mc17):
        assert mc.session_key is SessionKeyMethod.MASTERCARD and mc.padding is Padding.METHOD_2
        assert (mc.arpc_method, mc.arpc_key) == (1, ArpcKey.CARD_MASTER)


def test_frozen() -> None:
    version = cryptogram_version("visa-cvn18")
    with pytest.raises(dataclasses.FrozenInstanceError):
        version.cvn = 0x0A  # type: ignore[misc]


@pytest.mark.parametrize("arpc_method", [0, 3])
def test_bad_arpc_method(arpc_method: int) -> None:
    with pytest.raises(CryptoError, match="ARPC method"):
        dataclasses.replace(cryptogram_version("visa-cvn18"), arpc_method=arpc_method)


def test_build_iad_layouts() -> None:
    cvr3 = bytes.fromhex("A06010")
    assert cryptogram_version("visa-cvn18").build_iad(dki=1, cvr=cvr3).hex().upper() == (
        "06011203A06010"
    )
    cvr6 = bytes.fromhex("A00003220000")
    counters = bytes.fromhex("00000000000322FF")
    iad = cryptogram_version("mastercard-cvn17").build_iad(dki=1, cvr=cvr6, counters=counters)
    assert iad.hex().upper() == "0111A00003220000000000000000000322FF"
    assert len(cryptogram_version("mastercard-cvn16").build_iad(dki=1, cvr=cvr6)) == 18


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("visa-cvn10", {"dki": 1, "cvr": bytes(4)}),
        ("visa-cvn10", {"dki": 256, "cvr": bytes(3)}),
        ("visa-cvn10", {"dki": 1, "cvr": bytes(3), "counters": bytes(8)}),
        ("mastercard-cvn16", {"dki": 1, "cvr": bytes(3)}),
        ("mastercard-cvn17", {"dki": 1, "cvr": bytes(6), "counters": bytes(7)}),
    ],
)
def test_build_iad_rejects(name: str, kwargs: dict[str, object]) -> None:
    with pytest.raises(CryptoError):
        cryptogram_version(name).build_iad(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", NAMES)
def test_cvn_of_iad(name: str) -> None:
    version = cryptogram_version(name)
    assert version.cvn_of_iad(card_data(version)[0x9F10]) == version.cvn
    with pytest.raises(CryptoError, match="too short"):
        version.cvn_of_iad(b"\x06")


def test_ac_input_layout() -> None:
    fixed = b"".join(TERMINAL.values())
    visa_iad = bytes.fromhex("06010A03A06010")
    mchip_iad = bytes.fromhex("0111A00003220000000000000000000322FF")
    assert cryptogram_version("visa-cvn10").ac_input({**TERMINAL, 0x9F10: visa_iad}) == (
        fixed + bytes.fromhex("03A06010")
    )
    assert cryptogram_version("visa-cvn18").ac_input({**TERMINAL, 0x9F10: visa_iad}) == (
        fixed + visa_iad
    )
    data = {**TERMINAL, 0x9F10: mchip_iad}
    assert cryptogram_version("mastercard-cvn16").ac_input(data) == (
        fixed + bytes.fromhex("A00003220000")
    )
    assert cryptogram_version("mastercard-cvn17").ac_input(data) == (
        fixed + bytes.fromhex("A00003220000 00000000000322FF")
    )


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("tag", [*TERMINAL, 0x9F10])
def test_missing_tag_is_named(name: str, tag: int) -> None:
    version = cryptogram_version(name)
    data = card_data(version)
    del data[tag]
    with pytest.raises(CryptoError, match=f"tag {tag:02X} is missing"):
        version.generate_ac(ICC_MK, data)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("tag", list(TERMINAL))
def test_wrong_tag_length_is_named(name: str, tag: int) -> None:
    version = cryptogram_version(name)
    data = card_data(version)
    data[tag] += b"\x00"
    with pytest.raises(CryptoError, match=f"tag {tag:02X} must be"):
        version.ac_input(data)


@pytest.mark.parametrize(
    ("name", "iad"),
    [
        ("visa-cvn10", bytes.fromhex("06010A03A060")),
        ("visa-cvn18", b""),
        ("visa-cvn18", bytes(33)),
        ("mastercard-cvn16", bytes.fromhex("0110A000032200")),
        ("mastercard-cvn17", bytes.fromhex("0111A00003220000000000000000000322")),
    ],
)
def test_short_or_long_iad(name: str, iad: bytes) -> None:
    with pytest.raises(CryptoError, match="9F10"):
        cryptogram_version(name).ac_input({**TERMINAL, 0x9F10: iad})


@pytest.mark.parametrize("name", NAMES)
def test_wrong_master_key_length(name: str) -> None:
    version = cryptogram_version(name)
    with pytest.raises(CryptoError, match="ICC master key"):
        version.generate_ac(ICC_MK[:8], card_data(version))
    with pytest.raises(CryptoError, match="ICC master key"):
        version.issuer_authentication_data(
            ICC_MK[:8], card_data(version), bytes(8), approved=True, arc=b"00"
        )


@pytest.mark.parametrize("name", NAMES)
def test_wrong_arc_length(name: str) -> None:
    version = cryptogram_version(name)
    with pytest.raises(CryptoError, match="response code"):
        version.issuer_authentication_data(
            ICC_MK, card_data(version), bytes(8), approved=True, arc=b"0"
        )


@pytest.mark.parametrize("name", NAMES)
def test_tampered_cryptogram_and_data_fail(name: str) -> None:
    version = cryptogram_version(name)
    data = card_data(version)
    arqc = version.generate_ac(ICC_MK, data)
    assert version.verify_ac(ICC_MK, data, arqc)
    assert not version.verify_ac(ICC_MK, data, bytes([arqc[0] ^ 0x80]) + arqc[1:])
    for tag in (0x9F02, 0x9F37, 0x9F36, 0x9F10):
        changed = dict(data)
        changed[tag] = bytes([data[tag][0] ^ 0x01]) + data[tag][1:]
        if tag == 0x9F10:  # the CVR, inside every version's part of the IAD
            iad = bytearray(data[0x9F10])
            iad[4 if name.startswith("visa") else 2] ^= 0x01
            changed[tag] = bytes(iad)
        assert not version.verify_ac(ICC_MK, changed, arqc), f"tag {tag:02X}"
    other_mk = bytes([ICC_MK[0] ^ 0x02]) + ICC_MK[1:]
    assert not version.verify_ac(other_mk, data, arqc)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("approved", [True, False])
def test_tag_91_layout_and_tampering(name: str, approved: bool) -> None:
    version = cryptogram_version(name)
    data = card_data(version)
    arqc = version.generate_ac(ICC_MK, data)
    arc = b"00" if approved else b"05"
    tag_91 = version.issuer_authentication_data(ICC_MK, data, arqc, approved=approved, arc=arc)
    if version.arpc_method == 1:
        assert len(tag_91) == 10 and tag_91[8:] == arc
    else:
        csu = bytes.fromhex("00800000" if approved else "00000000")
        assert len(tag_91) == 8 and tag_91[4:] == csu
    assert version.verify_issuer_authentication_data(ICC_MK, data, arqc, tag_91)

    for position in range(len(tag_91)):
        tampered = bytearray(tag_91)
        tampered[position] ^= 0x01
        assert not version.verify_issuer_authentication_data(ICC_MK, data, arqc, bytes(tampered)), (
            f"byte {position}"
        )
    other_arqc = bytes([arqc[0] ^ 0x01]) + arqc[1:]
    assert not version.verify_issuer_authentication_data(ICC_MK, data, other_arqc, tag_91)
    for malformed in (b"", tag_91[:-1], tag_91 + bytes(9)):
        assert not version.verify_issuer_authentication_data(ICC_MK, data, arqc, malformed)


def test_approval_changes_the_visa_cvn18_arpc() -> None:
    version = cryptogram_version("visa-cvn18")
    data = card_data(version)
    arqc = version.generate_ac(ICC_MK, data)
    approve = version.issuer_authentication_data(ICC_MK, data, arqc, approved=True, arc=b"00")
    decline = version.issuer_authentication_data(ICC_MK, data, arqc, approved=False, arc=b"05")
    assert approve[:4] != decline[:4]
    # A declined CSU swapped in for an approved one breaks the ARPC.
    assert not version.verify_issuer_authentication_data(
        ICC_MK, data, arqc, approve[:4] + decline[4:]
    )


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=50, deadline=None)
@given(atc=st.binary(min_size=2, max_size=2), un=st.binary(min_size=4, max_size=4))
def test_ac_key_depends_on_the_right_tags(name: str, atc: bytes, un: bytes) -> None:
    version = cryptogram_version(name)
    data = {**card_data(version), 0x9F36: atc, 0x9F37: un}
    key = version.ac_key(ICC_MK, data)
    other_un = version.ac_key(ICC_MK, {**data, 0x9F37: bytes(b ^ 0xFF for b in un)})
    if version.session_key is SessionKeyMethod.NONE:
        assert key == ICC_MK
    elif version.session_key is SessionKeyMethod.MASTERCARD:
        assert key != other_un
    else:
        assert key == other_un and key != ICC_MK
