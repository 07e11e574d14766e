"""Terminal configuration the kernel reads: supported combinations and terminal data.

Values come from the terminal's settings file (see :mod:`terminal.settings`); the defaults
describe an attended, online-only, contactless merchant terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Combination:
    """One supported AID and the kernel that runs it (EMV Contactless Book B 3.1.1)."""

    aid: bytes
    kernel_id: int


#: Visa (A0000000031010) on kernel 3 (C-3), Mastercard (A0000000041010) on kernel 2 (C-2).
DEFAULT_COMBINATIONS: tuple[Combination, ...] = (
    Combination(bytes.fromhex("A0000000031010"), 3),
    Combination(bytes.fromhex("A0000000041010"), 2),
)


@dataclass(frozen=True, slots=True)
class KernelConfig:
    """Static terminal data (EMV Book 4 section 6 and the contactless books)."""

    combinations: tuple[Combination, ...] = DEFAULT_COMBINATIONS
    #: Terminal Country Code 9F1A, ISO 3166-1 numeric (528 = Netherlands).
    country_code: int = 528
    #: Terminal Type 9F35 (Book 4 Annex A1): 22 = attended, merchant, online with offline capability.
    terminal_type: int = 0x22
    #: Terminal Capabilities 9F33 (Book 4 A2): no contact/magstripe; online PIN, signature,
    #: no CVM; DDA and CDA.
    capabilities: bytes = bytes.fromhex("006848")
    #: Terminal Transaction Qualifiers 9F66 (Book C-3 Annex A): qVSDC, online PIN and
    #: signature supported; online cryptogram required; CDCVM supported.
    ttq: bytes = bytes.fromhex("26804000")
    #: Interface Device Serial Number 9F1E (an 8).
    ifd_serial: str = "TAP00001"
    extra: dict[int, bytes] = field(default_factory=dict)
