"""Secure messaging for issuer scripts (EMV Book 2 9.2): MACs, session keys, the builder.

The MAC and the SK_SMI derivation are checked against pyemv, an independent
implementation, on random inputs; the script builder's output is parsed back.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyemv import kd as pyemv_kd
from pyemv import sm as pyemv_sm

from emvcore import tlv
from emvcore.crypto.sm import (
    command_mac,
    derive_smi_session_key,
    secure_command,
    verify_command_mac,
)
from emvcore.errors import CryptoError
from emvcore.issuer_scripts import (
    SCRIPT_IDENTIFIER,
    application_block,
    build_script,
    put_data,
)
from emvcore.tags import Tag

MK = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
ATC, ARQC = bytes.fromhex("001C"), bytes.fromhex("1234567890ABCDEF")
AGREEMENT = settings(max_examples=300, deadline=None)


def fixed(length: int) -> st.SearchStrategy[bytes]:
    return st.binary(min_size=length, max_size=length)


@AGREEMENT
@given(mk=fixed(16), arqc=fixed(8))
def test_smi_session_key_agrees_with_pyemv(mk: bytes, arqc: bytes) -> None:
    assert derive_smi_session_key(mk, arqc) == pyemv_kd.derive_common_sk(mk, arqc)


@AGREEMENT
@given(
    sk=fixed(16),
    header=fixed(4),
    atc=fixed(2),
    arqc=fixed(8),
    data=st.binary(max_size=64),
    length=st.integers(4, 8),
)
def test_command_mac_agrees_with_pyemv(
    sk: bytes, header: bytes, atc: bytes, arqc: bytes, data: bytes, length: int
) -> None:
    lc = bytes([len(data) + length])
    expected = pyemv_sm.generate_command_mac(sk, header + lc + atc + arqc + data, length)
    assert command_mac(sk, header, data, atc=atc, arqc=arqc, length=length) == expected


def test_a_secure_command_verifies_and_any_change_does_not() -> None:
    sk = derive_smi_session_key(MK, ARQC)
    command = secure_command(sk, 0x04, 0xDA, 0x9F, 0x58, b"\x05", atc=ATC, arqc=ARQC)
    assert command[4] == 1 + 8  # Lc counts the MAC
    assert verify_command_mac(sk, command, atc=ATC, arqc=ARQC) == b"\x05"
    flipped = command[:-1] + bytes([command[-1] ^ 1])
    assert verify_command_mac(sk, flipped, atc=ATC, arqc=ARQC) is None
    other_p2 = command[:3] + b"\x59" + command[4:]
    assert verify_command_mac(sk, other_p2, atc=ATC, arqc=ARQC) is None  # header authenticated
    assert verify_command_mac(sk, command, atc=b"\x00\x1d", arqc=ARQC) is None  # another ATC
    assert verify_command_mac(sk, command[:9], atc=ATC, arqc=ARQC) is None  # Lc wrong


def test_secure_command_refuses_a_class_without_secure_messaging() -> None:
    with pytest.raises(CryptoError):
        secure_command(bytes(16), 0x80, 0x1E, 0, 0, b"", atc=ATC, arqc=ARQC)


def test_build_script_is_a_template_of_maced_commands() -> None:
    script = build_script(
        MK,
        atc=ATC,
        arqc=ARQC,
        commands=[application_block(), put_data(0x9F58, b"\x03")],
        template=Tag.ISSUER_SCRIPT_TEMPLATE_1,
        script_id=bytes.fromhex("11223344"),
    )
    template = tlv.decode_one(script)
    assert template.tag == Tag.ISSUER_SCRIPT_TEMPLATE_1
    parts = tlv.decode(template.value)
    assert (parts[0].tag, parts[0].value) == (SCRIPT_IDENTIFIER, bytes.fromhex("11223344"))
    sk = derive_smi_session_key(MK, ARQC)
    commands = [p.value for p in parts[1:]]
    assert [c[:4].hex().upper() for c in commands] == ["841E0000", "04DA9F58"]
    assert [verify_command_mac(sk, c, atc=ATC, arqc=ARQC) for c in commands] == [b"", b"\x03"]


@pytest.mark.parametrize(
    "kwargs",
    [{"template": 0x70}, {"script_id": b"\x01"}, {"commands": []}, {"arqc": b"\x00" * 7}],
)
def test_build_script_refuses_what_is_not_a_script(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"atc": ATC, "arqc": ARQC, "commands": [application_block()]}
    args.update(kwargs)
    with pytest.raises(CryptoError):
        build_script(MK, **args)  # type: ignore[arg-type]
