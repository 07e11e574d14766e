"""Hostile input: recovery on arbitrary bytes raises OdaError and nothing else.

Two kinds of input: raw random bytes (stopped at the frame checks), and random bodies
signed with the right key and a correct hash, which reach every check after the hash
(identifier, expiry, algorithm, key and exponent lengths, remainder assembly).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emvcore.errors import OdaError
from emvcore.oda.certificates import RecoveredKey, recover_icc_key, recover_issuer_key
from emvcore.oda.dynamic import recover_dynamic_data, verify_cda
from tests.emvcore.oda.support import PAN, Chain, forge

pytestmark = pytest.mark.filterwarnings("error")

FUZZ = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
exponents = st.one_of(st.none(), st.sampled_from([b"\x03", b"\x01\x00\x01"]), st.binary(max_size=4))
pans = st.one_of(st.just(PAN), st.text(alphabet="0123456789", min_size=0, max_size=19))
#: Format, identifier, expiry and algorithm bytes that pass, so the later checks are reached.
ISSUER_FIELDS = dict(enumerate(bytes.fromhex("02476173FF1230000001") + b"\x01\x01"))
ICC_FIELDS = dict(enumerate(bytes.fromhex("04" + PAN + "FFFF" + "1230000001") + b"\x01\x01"))
days = st.one_of(
    st.just(date(2026, 11, 22)), st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 12, 31))
)


def certificate_bytes(length: int) -> st.SearchStrategy[bytes | None]:
    return st.one_of(
        st.none(), st.binary(min_size=length, max_size=length), st.binary(max_size=length + 8)
    )


def plausible_body(length: int, fixed: dict[int, int]) -> st.SearchStrategy[bytes]:
    """Random bodies, half of them with the format and algorithm bytes right."""

    def fix(data: bytes, keep: bool, key_length: int | None) -> bytes:
        if not keep:
            return data
        out = bytearray(data)
        for at, value in fixed.items():
            out[at] = value
        if key_length is not None:  # the key length field follows the fixed ones
            out[len(fixed)] = key_length
        return bytes(out)

    key_lengths = st.one_of(st.none(), st.sampled_from([0, 1, 64, 102, 128, 140, 144, 255]))
    return st.builds(fix, st.binary(min_size=length, max_size=length), st.booleans(), key_lengths)


def only_oda_errors(call: Callable[..., object], *args: Any, **kwargs: Any) -> None:
    try:
        result = call(*args, **kwargs)
    except OdaError:
        return
    assert result is not None


@FUZZ
@given(data=st.data())
def test_issuer_recovery_on_random_bytes(chain_remainders: Chain, data: st.DataObject) -> None:
    chain = chain_remainders
    only_oda_errors(
        recover_issuer_key,
        chain.capk,
        data.draw(certificate_bytes(176)),
        data.draw(st.binary(max_size=12)),
        data.draw(exponents),
        pan=data.draw(pans),
        today=data.draw(days),
    )


@FUZZ
@given(data=st.data())
def test_issuer_recovery_on_signed_random_bodies(
    chain_remainders: Chain, data: st.DataObject
) -> None:
    chain = chain_remainders
    body = data.draw(plausible_body(176 - 22, ISSUER_FIELDS))
    remainder = data.draw(st.binary(max_size=12))
    exponent = data.draw(st.sampled_from([b"\x03", b"\x01\x00\x01", b"\x05", b"\x00\x03"]))
    certificate = forge(chain.ca, body, remainder + exponent)
    only_oda_errors(
        recover_issuer_key,
        chain.capk,
        certificate,
        remainder,
        exponent,
        pan=PAN,
        today=data.draw(days),
    )


@FUZZ
@given(data=st.data())
def test_icc_recovery_on_random_and_signed_bytes(
    chain_remainders: Chain, data: st.DataObject
) -> None:
    chain = chain_remainders
    issuer = chain.issuer_key()
    remainder, exponent = data.draw(st.binary(max_size=30)), data.draw(exponents)
    if data.draw(st.booleans()):
        certificate = data.draw(certificate_bytes(144))
    else:
        body = data.draw(plausible_body(144 - 22, ICC_FIELDS))
        certificate = forge(chain.issuer, body, remainder + (exponent or b"") + chain.static_data)
    only_oda_errors(
        recover_icc_key,
        issuer,
        certificate,
        remainder,
        exponent,
        pan=data.draw(pans),
        static_data=chain.static_data,
        today=data.draw(days),
    )


@FUZZ
@given(data=st.data())
def test_dynamic_data_on_random_and_signed_bytes(
    chain_remainders: Chain, data: st.DataObject
) -> None:
    chain = chain_remainders
    icc: RecoveredKey = chain.icc_key()
    terminal_data = data.draw(st.binary(max_size=8))
    if data.draw(st.booleans()):
        sdad = data.draw(certificate_bytes(128))
    else:
        sdad = forge(
            chain.icc, data.draw(plausible_body(128 - 22, {0: 0x05, 1: 0x01})), terminal_data
        )
    only_oda_errors(recover_dynamic_data, icc, sdad, terminal_data)
    only_oda_errors(
        verify_cda,
        icc,
        sdad,
        unpredictable_number=terminal_data,
        cid=data.draw(st.integers(0, 255)),
        transaction_data_hash=data.draw(st.binary(min_size=20, max_size=20)),
    )
