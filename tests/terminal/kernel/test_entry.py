"""Entry point: the candidate list from a PPSE FCI (EMV Contactless Book B 3.3)."""

from __future__ import annotations

import re

import pytest

from emvcore import tlv
from terminal.kernel.config import DEFAULT_COMBINATIONS, Combination
from terminal.kernel.entry import Candidate, PpseError, candidates, directory_entries
from tests.terminal.support import entry, ppse_fci

VISA = "A0000000031010"
MASTERCARD = "A0000000041010"


def aids(fci: bytes, supported: tuple[Combination, ...] = DEFAULT_COMBINATIONS) -> list[str]:
    return [c.aid.hex().upper() for c in candidates(fci, supported)]


def test_priorities_order_the_candidates() -> None:
    fci = ppse_fci(entry(VISA, 2, 3, b"VISA") + entry(MASTERCARD, 1, 2, b"MC"))
    assert candidates(fci, DEFAULT_COMBINATIONS) == [
        Candidate(bytes.fromhex(MASTERCARD), 2, 1, "MC"),
        Candidate(bytes.fromhex(VISA), 3, 2, "VISA"),
    ]


def test_no_priority_comes_last_and_equal_priorities_keep_card_order() -> None:
    fci = ppse_fci(
        entry(VISA + "01", None, 3)
        + entry(VISA + "02", 5, 3)
        + entry(VISA + "03", 5, 3)
        + entry(MASTERCARD, 0, 2)
        + entry(VISA + "04", 1, 3)
    )
    assert aids(fci) == [VISA + "04", VISA + "02", VISA + "03", VISA + "01", MASTERCARD]


def test_priority_uses_only_the_low_nibble() -> None:
    # Tag 87 b8 says "cardholder confirmation required"; b4-b1 carry the priority.
    fci = ppse_fci(entry(VISA, 0x83, 3) + entry(MASTERCARD, 0x02, 2))
    found = candidates(fci, DEFAULT_COMBINATIONS)
    assert [(c.aid.hex().upper(), c.priority) for c in found] == [(MASTERCARD, 2), (VISA, 3)]


def test_missing_kernel_identifier_uses_the_rid_default() -> None:
    fci = ppse_fci(entry(VISA, 1) + entry(MASTERCARD, 2))
    assert [(c.aid.hex().upper(), c.kernel_id) for c in candidates(fci, DEFAULT_COMBINATIONS)] == [
        (VISA, 3),
        (MASTERCARD, 2),
    ]


def test_unknown_rid_without_kernel_identifier_uses_the_configured_kernel() -> None:
    # Book B 3.3.2.5: an RID outside Table 3-6 leaves the Requested Kernel ID at zero, which
    # any kernel configured for the AID matches (issue 14: it used to be skipped).
    supported = (*DEFAULT_COMBINATIONS, Combination(bytes.fromhex("F000000001"), 3))
    assert aids(ppse_fci(entry("F0000000011010", 1)), supported) == ["F0000000011010"]
    assert aids(ppse_fci(entry("F0000000011010", 1, 3)), supported) == ["F0000000011010"]
    assert aids(ppse_fci(entry("F0000000011010", 1, 2)), supported) == []


def test_unsupported_kernel_or_aid_is_skipped() -> None:
    fci = ppse_fci(
        entry(VISA, 1, 2)  # Visa AID announced for kernel 2: not a supported combination
        + entry("A0000000251010", 1, 4)  # kernel 4, not supported here
        + entry(MASTERCARD, 3, 2)
    )
    assert aids(fci) == [MASTERCARD]
    assert aids(ppse_fci(entry("A0000000251010", 1))) == []


def test_partial_aid_match() -> None:
    fci = ppse_fci(entry(VISA + "0102", 1, 3) + entry(VISA[:-2], 1, 3))
    # A longer card AID beginning with the configured one matches; a shorter one does not.
    assert aids(fci) == [VISA + "0102"]


def test_international_kernel_id_bits() -> None:
    # 9F2A byte 1 b8-b7 = 00: the kernel id is b6-b1; other values are domestic kernels.
    assert aids(ppse_fci(entry(MASTERCARD, 1, 0x02))) == [MASTERCARD]
    assert aids(ppse_fci(entry(MASTERCARD, 1, 0x82))) == []


def test_aid_of_bad_length_is_skipped() -> None:
    fci = ppse_fci(entry("A000000003", 1, 3) + entry("A0000000", 1, 3) + entry(VISA, 2, 3))
    supported = (Combination(bytes.fromhex("A0000000"), 3),)
    assert aids(fci, supported) == ["A000000003", VISA]
    assert aids(ppse_fci(tlv.encode(0x61, tlv.encode(0x50, b"NO AID")))) == []


def test_directory_entries() -> None:
    fci = ppse_fci(entry(VISA, 1, 3, b"V"))
    assert directory_entries(fci) == [
        {0x4F: bytes.fromhex(VISA), 0x50: b"V", 0x87: b"\x01", 0x9F2A: b"\x03"}
    ]


@pytest.mark.parametrize(
    ("fci", "message"),
    [
        ("6F03840200", "PPSE FCI is malformed"),
        ("7003840100", "not an FCI template (6F)"),
        ("6F0A84085041592E5359532E", "has no FCI Issuer Discretionary Data (BF0C)"),
        ("6F", "PPSE FCI is malformed"),
        ("", "PPSE FCI is malformed"),
    ],
)
def test_malformed_ppse(fci: str, message: str) -> None:
    with pytest.raises(PpseError, match=re.escape(message)):
        candidates(bytes.fromhex(fci), DEFAULT_COMBINATIONS)


def test_duplicate_tag_in_an_entry_is_malformed() -> None:
    duplicated = tlv.encode(
        0x61, tlv.encode_many([(0x4F, bytes.fromhex(VISA)), (0x4F, bytes.fromhex(VISA))])
    )
    with pytest.raises(PpseError, match="malformed"):
        candidates(ppse_fci(duplicated), DEFAULT_COMBINATIONS)
