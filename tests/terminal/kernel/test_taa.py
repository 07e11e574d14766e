"""Terminal action analysis (EMV Book 3 10.7): denial, online and default codes, absent IACs."""

from __future__ import annotations

import pytest

from emvcore.apdu import CryptogramType
from terminal.kernel.taa import terminal_action_analysis

ZERO = bytes(5)
ONES = b"\xff" * 5
CDA_FAILED = bytes.fromhex("0400000000")
FLOOR = bytes.fromhex("0000008000")
AAC, ARQC, TC = CryptogramType.AAC, CryptogramType.ARQC, CryptogramType.TC


def taa(
    tvr: bytes,
    *,
    tac_denial: bytes = ZERO,
    tac_online: bytes = ZERO,
    tac_default: bytes = ZERO,
    iac_denial: bytes | None = ZERO,
    iac_online: bytes | None = ZERO,
    iac_default: bytes | None = ZERO,
    online_only: bool = False,
    online_capable: bool = True,
) -> CryptogramType:
    return terminal_action_analysis(
        tvr,
        tac_denial=tac_denial,
        tac_online=tac_online,
        tac_default=tac_default,
        iac_denial=iac_denial,
        iac_online=iac_online,
        iac_default=iac_default,
        online_only=online_only,
        online_capable=online_capable,
    )


def test_clean_tvr_approves_offline() -> None:
    assert taa(ZERO) is TC


@pytest.mark.parametrize("where", ["tac", "iac"])
def test_denial_code_match_asks_for_an_aac(where: str) -> None:
    codes = {f"{where}_denial": CDA_FAILED}
    assert taa(CDA_FAILED, **codes) is AAC  # type: ignore[arg-type]
    assert taa(CDA_FAILED, online_only=True, **codes) is AAC  # type: ignore[arg-type]
    assert taa(FLOOR, **codes) is TC  # type: ignore[arg-type]  # another bit: no match


@pytest.mark.parametrize("where", ["tac", "iac"])
def test_online_code_match_asks_for_an_arqc(where: str) -> None:
    codes = {f"{where}_online": FLOOR}
    assert taa(FLOOR, **codes) is ARQC  # type: ignore[arg-type]
    assert taa(CDA_FAILED, **codes) is TC  # type: ignore[arg-type]


def test_online_only_terminal_always_goes_online_unless_denied() -> None:
    assert taa(ZERO, online_only=True) is ARQC
    assert taa(FLOOR, online_only=True, tac_denial=FLOOR) is AAC


@pytest.mark.parametrize("where", ["tac", "iac"])
def test_offline_only_terminal_uses_the_default_codes(where: str) -> None:
    codes = {f"{where}_default": FLOOR}
    assert taa(FLOOR, online_capable=False, **codes) is AAC  # type: ignore[arg-type]
    assert taa(CDA_FAILED, online_capable=False, **codes) is TC  # type: ignore[arg-type]
    # Online codes do not matter to an offline-only terminal.
    assert taa(FLOOR, online_capable=False, tac_online=ONES) is TC


def test_absent_iac_denial_is_all_zeros() -> None:
    assert taa(ONES, iac_denial=None) is TC  # nothing denies (and no online code is set)
    assert taa(ONES, iac_denial=None, iac_online=None) is ARQC  # absent IAC-Online: all ones


def test_absent_iac_online_is_all_ones() -> None:
    assert taa(FLOOR, iac_online=None) is ARQC
    assert taa(ZERO, iac_online=None) is TC  # all ones, but no TVR bit to match


def test_absent_iac_default_is_all_ones() -> None:
    assert taa(FLOOR, iac_default=None, online_capable=False) is AAC
    assert taa(ZERO, iac_default=None, online_capable=False) is TC


@pytest.mark.parametrize("bad", [b"", bytes(4), bytes(6)])
def test_iac_of_the_wrong_length_counts_as_absent(bad: bytes) -> None:
    assert taa(FLOOR, iac_denial=bad, iac_online=bad) is ARQC
    assert taa(FLOOR, iac_default=bad, online_capable=False) is AAC
