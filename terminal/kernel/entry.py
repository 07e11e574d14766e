"""Entry point: from the PPSE directory to an ordered candidate list (EMV Contactless Book B 3.3).

Book B 3.3.2: the reader selects the PPSE; each Directory Entry (tag 61 in the FCI
Issuer Discretionary Data BF0C) names an ADF (4F), optionally a priority (87), a Kernel
Identifier (9F2A) and an Extended Selection (9F29). For each entry (3.3.2.5):

- A. the ADF Name must be 5-16 bytes;
- B. the Requested Kernel ID comes from 9F2A (:func:`~terminal.kernel.registry.requested_kernel_id`:
  a short id, a 3-byte extended id for b8-b7 = 10/11, the entry ignored when such an
  identifier is shorter than three bytes);
- C. without 9F2A (or with an id of 00) the default kernel of the AID's RID applies
  (:data:`DEFAULT_KERNEL_BY_RID`, Table 3-6); an RID not in that table leaves the
  Requested Kernel ID at zero;
- D. each supported combination whose AID the ADF Name begins with (partial matching)
  and whose kernel is the Requested Kernel ID, or any kernel when that id is zero, adds a
  candidate (the stored material is silent on how a zero id meets several combinations of
  one AID; this follows the spec as remembered: every matching combination is added);
- E. the Extended Selection (9F29) goes with the candidate when its combination has the
  Extended Selection Support flag; the final SELECT then names ADF Name || 9F29.

Candidates are ordered by Application Priority Indicator (lowest value first, absent
last), keeping the card's order among equals (3.3.3).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from emvcore import tlv
from emvcore.errors import TlvError
from emvcore.tags import Tag
from terminal.kernel.config import Combination
from terminal.kernel.registry import ANY_KERNEL, requested_kernel_id

#: Extended Selection (Book B 3.3.2.5, Annex A): appended to the ADF Name in the SELECT.
TAG_EXTENDED_SELECTION = 0x9F29

#: The kernel a directory entry without 9F2A gets, by RID (Book B 3.3.2.5, Table 3-6).
DEFAULT_KERNEL_BY_RID = {
    bytes.fromhex("A000000004"): 2,  # Mastercard
    bytes.fromhex("A000000003"): 3,  # Visa
    bytes.fromhex("A000000025"): 4,  # American Express
    bytes.fromhex("A000000065"): 5,  # JCB
    bytes.fromhex("A000000152"): 6,  # Discover
    bytes.fromhex("A000000324"): 6,  # Discover (Zip)
    bytes.fromhex("A000000333"): 7,  # UnionPay
}


class PpseError(Exception):
    """The PPSE FCI is malformed (the kernel turns this into an outcome)."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """One application the terminal may try, in order, with the combination it matched."""

    aid: bytes
    kernel_id: int
    priority: int
    label: str
    extended_selection: bytes = b""
    combination: Combination | None = field(default=None, compare=False, repr=False)

    @property
    def select_name(self) -> bytes:
        """What the final SELECT names: the ADF Name, then any Extended Selection."""
        return self.aid + self.extended_selection


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
        requested = requested_kernel_id(entry.get(Tag.KERNEL_IDENTIFIER, b""))
        if requested is None:
            continue
        if requested == ANY_KERNEL:
            requested = DEFAULT_KERNEL_BY_RID.get(aid[:5], ANY_KERNEL)
        priority_raw = entry.get(Tag.APPLICATION_PRIORITY, b"")
        # Book 3 Table 48: b4-b1 of tag 87 carry the priority; 0 means "no priority".
        priority = priority_raw[0] & 0x0F if len(priority_raw) == 1 else 0
        label = entry.get(Tag.APPLICATION_LABEL, b"").decode("ascii", "replace")
        order = priority if priority else 16
        extended = entry.get(TAG_EXTENDED_SELECTION, b"")
        for combination in supported:
            if not aid.startswith(combination.aid):
                continue
            if requested not in (ANY_KERNEL, combination.kernel_id):
                continue
            selection = extended if combination.extended_selection_supported else b""
            candidate = Candidate(
                aid, combination.kernel_id, priority, label, selection, combination
            )
            if candidate not in (c for _, _, c in found):
                found.append((order, index, candidate))
    return [candidate for _, _, candidate in sorted(found, key=lambda item: item[:2])]
