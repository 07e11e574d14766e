"""Entry point: from the PPSE directory to an ordered candidate list (EMV Contactless Book B).

Book B 3.3.2: the reader selects the PPSE; each Directory Entry (tag 61 in the FCI
Issuer Discretionary Data BF0C) names an ADF (4F), optionally a priority (87) and a kernel
identifier (9F2A). An entry is a candidate when its AID matches a supported combination,
exactly or as a longer AID beginning with the configured one (partial matching, 3.3.2.5),
and the kernel identifier (or, when absent, the kernel implied by the RID) matches.
Candidates are ordered by Application Priority Indicator (lowest value first, absent last),
keeping the card's order among equals (3.3.3).
"""

from __future__ import annotations

from dataclasses import dataclass

from emvcore import tlv
from emvcore.errors import TlvError
from emvcore.tags import Tag
from terminal.kernel.config import Combination

#: The kernel a directory entry without 9F2A gets, by RID (Book B 3.3.2.5, Table 3-6).
DEFAULT_KERNEL_BY_RID = {
    bytes.fromhex("A000000004"): 2,
    bytes.fromhex("A000000003"): 3,
    bytes.fromhex("A000000025"): 4,
    bytes.fromhex("A000000065"): 5,
    bytes.fromhex("A000000152"): 6,
    bytes.fromhex("A000000333"): 7,
}


class PpseError(Exception):
    """The PPSE FCI is malformed (the kernel turns this into an outcome)."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """One application the terminal may try, in order."""

    aid: bytes
    kernel_id: int
    priority: int
    label: str


def directory_entries(fci: bytes) -> list[dict[int, bytes]]:
    """The Directory Entries (tag 61) of a PPSE FCI, each flattened to tag -> value."""
    try:
        template = tlv.decode_one(fci)
        if template.tag != 0x6F:
            raise PpseError(f"PPSE answer is tag {template.tag:02X}, not an FCI template (6F)")
        discretionary = tlv.find(template.value, 0xBF0C)
        if discretionary is None:
            raise PpseError("PPSE FCI has no FCI Issuer Discretionary Data (BF0C)")
        return [
            tlv.flatten(entry.value, unique=True)
            for entry in tlv.decode(discretionary)
            if entry.tag == 0x61
        ]
    except TlvError as exc:
        raise PpseError(f"PPSE FCI is malformed: {exc}") from None


def candidates(fci: bytes, supported: tuple[Combination, ...]) -> list[Candidate]:
    """The ordered candidate list for a PPSE FCI (Book B 3.3.2-3.3.3)."""
    found: list[tuple[int, int, Candidate]] = []
    for index, entry in enumerate(directory_entries(fci)):
        aid = entry.get(Tag.AID)
        if aid is None or not 5 <= len(aid) <= 16:
            continue
        kernel_id = _kernel_id(entry.get(Tag.KERNEL_IDENTIFIER), aid)
        if kernel_id is None:
            continue
        if not any(aid.startswith(c.aid) and c.kernel_id == kernel_id for c in supported):
            continue
        priority_raw = entry.get(Tag.APPLICATION_PRIORITY, b"")
        # Book 3 Table 48: b4-b1 of tag 87 carry the priority; 0 means "no priority".
        priority = priority_raw[0] & 0x0F if len(priority_raw) == 1 else 0
        label = entry.get(Tag.APPLICATION_LABEL, b"").decode("ascii", "replace")
        order = priority if priority else 16
        found.append((order, index, Candidate(aid, kernel_id, priority, label)))
    return [candidate for _, _, candidate in sorted(found, key=lambda item: item[:2])]


def _kernel_id(raw: bytes | None, aid: bytes) -> int | None:
    """Kernel identifier from 9F2A byte 1 b6-b1 (Book B 3.3.2.5), or the RID default."""
    if raw:
        # b8-b7 = 00: an international kernel whose id is b6-b1.
        return raw[0] & 0x3F if raw[0] & 0xC0 == 0 else raw[0]
    return DEFAULT_KERNEL_BY_RID.get(aid[:5])
