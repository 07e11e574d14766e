"""Agreement with pyemv, an independent implementation, on hypothesis-generated inputs.

pyemv is the oracle: every function family here is compared on 1,000 random inputs, and
each cryptogram version on 1,000 against the matching ``pyemv.cvn`` class (ICC master
key, ARQC, ARPC).
pyemv itself still uses the TripleDES location that ``cryptography`` deprecates, so its
deprecation warnings (and only those, raised from pyemv's modules) are tolerated; any
warning from emvcore is an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyemv import ac as pyemv_ac
from pyemv import cvn as pyemv_cvn
from pyemv import kd as pyemv_kd
from pyemv import mac as pyemv_mac

from emvcore.crypto import (
    Padding,
    arpc_method_1,
    arpc_method_2,
    cryptogram_version,
    derive_common_sk,
    derive_icc_mk_a,
    derive_icc_mk_b,
    derive_mastercard_sk,
    generate_ac,
    mac_iso9797_alg3,
)

pytestmark = [
    pytest.mark.filterwarnings("error"),
    pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning:pyemv"),
]

AGREEMENT = settings(max_examples=1000, deadline=None)

keys = st.binary(min_size=16, max_size=16)
digits = "0123456789"
pans = st.text(digits, min_size=1, max_size=19)
long_pans = st.text(digits, min_size=17, max_size=19)
psns = st.text(digits, min_size=2, max_size=2)
atcs = st.binary(min_size=2, max_size=2)
uns = st.binary(min_size=4, max_size=4)
blocks = st.binary(min_size=8, max_size=8)
paddings = st.sampled_from(Padding)
TxnData = dict[int, bytes]


def fixed(length: int) -> st.SearchStrategy[bytes]:
    return st.binary(min_size=length, max_size=length)


@AGREEMENT
@given(imk=keys, pan=pans, psn=psns)
def test_derive_icc_mk_a(imk: bytes, pan: str, psn: str) -> None:
    assert derive_icc_mk_a(imk, pan, psn) == pyemv_kd.derive_icc_mk_a(imk, pan, psn)


@AGREEMENT
@given(imk=keys, pan=st.one_of(long_pans, pans), psn=psns)
def test_derive_icc_mk_b(imk: bytes, pan: str, psn: str) -> None:
    assert derive_icc_mk_b(imk, pan, psn) == pyemv_kd.derive_icc_mk_b(imk, pan, psn)


@AGREEMENT
@given(icc_mk=keys, atc=atcs)
def test_derive_common_sk(icc_mk: bytes, atc: bytes) -> None:
    assert derive_common_sk(icc_mk, atc) == pyemv_kd.derive_common_sk(icc_mk, atc + bytes(6))


@AGREEMENT
@given(icc_mk=keys, atc=atcs, un=uns)
def test_derive_mastercard_sk(icc_mk: bytes, atc: bytes, un: bytes) -> None:
    r = atc + b"\x00\x00" + un
    assert derive_mastercard_sk(icc_mk, atc, un) == pyemv_kd.derive_common_sk(icc_mk, r)


@AGREEMENT
@given(
    key=keys,
    data=st.binary(max_size=80),
    padding=paddings,
    length=st.integers(min_value=4, max_value=8),
)
def test_mac_iso9797_alg3(key: bytes, data: bytes, padding: Padding, length: int) -> None:
    expected = pyemv_mac.mac_iso9797_3(key[:8], key[8:], data, padding.value, length)
    assert mac_iso9797_alg3(key, data, padding, length) == expected


@AGREEMENT
@given(key=keys, data=st.binary(max_size=80), padding=paddings)
def test_generate_ac(key: bytes, data: bytes, padding: Padding) -> None:
    pyemv_padding = pyemv_ac.PaddingType(padding.value)  # VISA = 1, EMV = 2
    assert generate_ac(key, data, padding) == pyemv_ac.generate_ac(key, data, pyemv_padding)


@AGREEMENT
@given(key=keys, arqc=blocks, arc=fixed(2))
def test_arpc_method_1(key: bytes, arqc: bytes, arc: bytes) -> None:
    assert arpc_method_1(key, arqc, arc) == pyemv_ac.generate_arpc_1(key, arqc, arc)


@AGREEMENT
@given(key=keys, arqc=blocks, csu=fixed(4), proprietary=st.binary(max_size=8))
def test_arpc_method_2(key: bytes, arqc: bytes, csu: bytes, proprietary: bytes) -> None:
    expected = pyemv_ac.generate_arpc_2(key, arqc, csu, proprietary)
    assert arpc_method_2(key, arqc, csu, proprietary) == expected


# --- cryptogram versions against the matching pyemv.cvn classes -------------------------

TERMINAL_TAGS = {
    0x9F02: 6,
    0x9F03: 6,
    0x9F1A: 2,
    0x95: 5,
    0x5F2A: 2,
    0x9A: 3,
    0x9C: 1,
    0x9F37: 4,
    0x82: 2,
    0x9F36: 2,
}


def transaction(iad: st.SearchStrategy[bytes]) -> st.SearchStrategy[TxnData]:
    strategies = {tag: fixed(length) for tag, length in TERMINAL_TAGS.items()}
    return st.fixed_dictionaries({**strategies, 0x9F10: iad})


def visa_iad(cvn: int) -> st.SearchStrategy[bytes]:
    """VIS IAD: 06 DKI CVN 03 CVR(3), optionally followed by issuer discretionary data."""
    return st.builds(
        lambda dki, cvr, tail: bytes((0x06, dki, cvn, 0x03)) + cvr + tail,
        st.integers(0, 255),
        fixed(3),
        st.binary(max_size=25),
    )


def mchip_iad(cvn: int) -> st.SearchStrategy[bytes]:
    """M/Chip IAD: DKI CVN CVR(6) DAC/IDN(2) counters(8)."""
    return st.builds(lambda dki, rest: bytes((dki, cvn)) + rest, st.integers(0, 255), fixed(16))


def pyemv_terminal_args(data: TxnData) -> dict[str, bytes]:
    """The ten Book 2 8.1.1 tags as pyemv's ``tag_xxxx`` keyword arguments."""
    return {f"tag_{tag:x}": data[tag] for tag in TERMINAL_TAGS}


def csu(approved: bool) -> bytes:
    return bytes.fromhex("00800000" if approved else "00000000")


@dataclass(frozen=True)
class Oracle:
    """How to drive the pyemv.cvn class matching one of our cryptogram versions."""

    pyemv_class: Callable[..., Any]
    iad: st.SearchStrategy[bytes]
    ac: Callable[[Any, TxnData], bytes]
    arpc: Callable[[Any, bytes, TxnData, bool, bytes], bytes]


ORACLES = {
    "visa-cvn10": Oracle(
        pyemv_cvn.VisaCVN10,
        visa_iad(0x0A),
        lambda o, d: o.generate_ac(**pyemv_terminal_args(d), cvr=d[0x9F10][3:7]),
        lambda o, arqc, d, approved, arc: o.generate_arpc(arqc, arc),
    ),
    "visa-cvn18": Oracle(
        pyemv_cvn.VisaCVN18,
        visa_iad(0x12),
        lambda o, d: o.generate_ac(**pyemv_terminal_args(d), tag_9f10=d[0x9F10]),
        lambda o, arqc, d, approved, arc: o.generate_arpc(arqc, d[0x9F36], csu(approved)),
    ),
    "mastercard-cvn16": Oracle(
        pyemv_cvn.MasterCardCVN16,
        mchip_iad(0x10),
        lambda o, d: o.generate_ac(**pyemv_terminal_args(d), cvr=d[0x9F10][2:8]),
        lambda o, arqc, d, approved, arc: o.generate_arpc(arqc, arc),
    ),
    "mastercard-cvn17": Oracle(
        pyemv_cvn.MasterCardCVN17,
        mchip_iad(0x11),
        lambda o, d: o.generate_ac(
            **pyemv_terminal_args(d), cvr=d[0x9F10][2:8], counters=d[0x9F10][10:18]
        ),
        lambda o, arqc, d, approved, arc: o.generate_arpc(arqc, arc),
    ),
}


@pytest.mark.parametrize("name", sorted(ORACLES))
@AGREEMENT
@given(imk=keys, pan=pans, psn=psns, draw=st.data(), approved=st.booleans(), arc=fixed(2))
def test_cryptogram_version(
    name: str, imk: bytes, pan: str, psn: str, draw: st.DataObject, approved: bool, arc: bytes
) -> None:
    oracle_spec = ORACLES[name]
    data = draw.draw(transaction(oracle_spec.iad), label="transaction data")
    version = cryptogram_version(name)
    oracle = oracle_spec.pyemv_class(imk, imk, imk, pan, psn)

    icc_mk = version.derive_icc_mk(imk, pan, psn)
    assert icc_mk == oracle.icc_mk_ac

    arqc = version.generate_ac(icc_mk, data)
    assert arqc == oracle_spec.ac(oracle, data)
    assert version.verify_ac(icc_mk, data, arqc)

    tag_91 = version.issuer_authentication_data(icc_mk, data, arqc, approved=approved, arc=arc)
    arpc_length = 8 if version.arpc_method == 1 else 4
    assert tag_91[:arpc_length] == oracle_spec.arpc(oracle, arqc, data, approved, arc)
    assert version.verify_issuer_authentication_data(icc_mk, data, arqc, tag_91)
