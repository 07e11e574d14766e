"""Entry Point pre-processing (EMV Contactless Book B 3.1.1): limits -> indicators and TTQ."""

from __future__ import annotations

from dataclasses import replace

import pytest

from terminal.kernel.config import Combination, ReaderLimits
from terminal.kernel.preprocessing import preprocess

VISA = bytes.fromhex("A0000000031010")
LIMITS = ReaderLimits(
    transaction_limit=50_000,
    floor_limit=1_000,
    cvm_required_limit=5_000,
    status_check=False,
    zero_amount_allowed=True,
    ttq=bytes.fromhex("23004000"),
)


def indicators(amount: int, currency: str = "EUR", **limits: object):  # type: ignore[no-untyped-def]
    return preprocess(Combination(VISA, 3, replace(LIMITS, **limits)), amount, currency)  # type: ignore[arg-type]


def test_below_every_limit() -> None:
    i = indicators(500)
    assert (i.allowed, i.online_required, i.cvm_required, i.floor_limit_exceeded, i.zero_amount) == (
        True, False, False, False, False,
    )  # fmt: skip
    assert i.ttq == bytes.fromhex("23004000")  # byte 2 b8/b7 cleared, the rest as configured


@pytest.mark.parametrize(("amount", "allowed"), [(49_999, True), (50_000, False), (50_001, False)])
def test_contactless_transaction_limit_is_greater_or_equal(amount: int, allowed: bool) -> None:
    assert indicators(amount).allowed is allowed


def test_no_transaction_limit() -> None:
    assert indicators(10**9, transaction_limit=None).allowed


@pytest.mark.parametrize(("amount", "exceeded"), [(1_000, False), (1_001, True)])
def test_floor_limit_is_strictly_greater(amount: int, exceeded: bool) -> None:
    i = indicators(amount)
    assert (i.floor_limit_exceeded, i.online_required) == (exceeded, exceeded)
    assert bool(i.ttq[1] & 0x80) is exceeded  # TTQ byte 2 b8: online cryptogram required


def test_no_floor_limit() -> None:
    assert not indicators(40_000, floor_limit=None).floor_limit_exceeded


@pytest.mark.parametrize(("amount", "required"), [(4_999, False), (5_000, True)])
def test_cvm_required_limit_is_greater_or_equal(amount: int, required: bool) -> None:
    i = indicators(amount)
    assert i.cvm_required is required
    assert bool(i.ttq[1] & 0x40) is required  # TTQ byte 2 b7: CVM required


def test_no_cvm_required_limit() -> None:
    assert not indicators(40_000, cvm_required_limit=None).cvm_required


def test_zero_amount_allowed_goes_online() -> None:
    i = indicators(0)
    assert (i.allowed, i.zero_amount, i.online_required) == (True, True, True)
    assert i.ttq[1] & 0x80


def test_zero_amount_not_allowed() -> None:
    i = indicators(0, zero_amount_allowed=False)
    assert (i.allowed, i.zero_amount) == (False, True)


@pytest.mark.parametrize(("currency", "unit"), [("EUR", 100), ("JPY", 1), ("USD", 100)])
def test_status_check_is_one_unit_of_the_currency(currency: str, unit: int) -> None:
    assert indicators(unit, currency, status_check=True, floor_limit=None).online_required
    assert not indicators(unit, currency, status_check=False, floor_limit=None).online_required
    assert not indicators(unit + 1, currency, status_check=True, floor_limit=None).online_required


def test_configured_ttq_bits_outside_byte_2_b8_b7_are_kept() -> None:
    i = indicators(6_000, ttq=bytes.fromhex("26FF4000"))
    # Byte 2 b8 and b7 are the reader's per transaction; byte 2 b6-b1 stay as configured.
    assert i.ttq == bytes.fromhex("26FF4000")
    assert indicators(10, ttq=bytes.fromhex("26FF4000")).ttq == bytes.fromhex("263F4000")
