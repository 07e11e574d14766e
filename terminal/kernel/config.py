"""Terminal configuration the kernel reads: combinations, reader limits, capabilities.

Values come from the terminal's settings file (see :mod:`terminal.settings`); the defaults
describe an attended, online-only contactless merchant terminal with no PIN pad (a
shopkeeper's console): signature and "no CVM" are its cardholder verification methods,
CDCVM is accepted from phones, DDA/fDDA and CDA are supported.

Terminal Action Codes shipped (TVR-shaped, Book 3 Annex C5 bit names; used by the C-2 path,
whose terminal action analysis is Book 3 10.7; the C-3 path decides from the CTQ instead).
The settings file replaces any of them (``[kernel] tac_denial / tac_online / tac_default``,
10 hex digits each, :mod:`terminal.settings`); an acquirer profile that wants ODA failures
judged by the issuer sets ``tac_denial = "0000000000"``:

============  ==============  ==============================================================
code          value           bits set, and why
============  ==============  ==============================================================
TAC-Denial    ``4C00000000``  byte 1: SDA failed, DDA failed, CDA failed. An offline data
                              authentication that failed before GENERATE AC (forged,
                              expired or unknown-CA certificate, static data that do not
                              match) makes terminal action analysis ask for an AAC: the tap
                              is declined offline, as Book C-3 5.8 declines the same faults
                              on the Visa-style path (CTQ without "online if ODA fails").
                              Book 2 6.6 and Book 4 6.3.2.1 leave the request to terminal
                              action analysis; this is the acquirer's policy (Book 3 10.7:
                              TAC-Denial, "conditions that cause the denial of a transaction
                              without attempting to go online"), chosen so that no card
                              failing ODA reaches an issuer that may not read the TVR.
TAC-Online    ``F45084800C``  the Mastercard acceptance values most contactless readers
TAC-Default   ``F45084800C``  carry (DF8122 / DF8120): ODA not performed, SDA failed, ICC
                              data missing, exception file, CDA failed; expired application,
                              service not allowed; CVM failed, online PIN entered; floor
                              limit exceeded; byte 5 b3-b2 (C-2: relay resistance). An
                              online-only terminal (9F35 x1/x4) asks for an ARQC anyway.
============  ==============  ==============================================================

A failure found after GENERATE AC (a bad signature on the card's CDA response) declines
whatever the codes say (Book 2 6.6.2, Book 4 6.3.2.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from terminal.kernel.sequence import MemoryCounter, SequenceCounter

if TYPE_CHECKING:
    from emvcore.oda.capk import CaKeyStore

#: The shipped test CA public keys (marked as test keys; see ``scripts/make-test-ca.py``).
TEST_CAPK_FILE = Path(__file__).resolve().parent.parent / "data" / "capk-test.json"


@dataclass(frozen=True, slots=True)
class ReaderLimits:
    """Entry Point configuration of one combination (EMV Contactless Book B 3.1.1, 5.7).

    Amounts are in minor units of the transaction currency; ``None`` means "not set".
    """

    transaction_limit: int | None = 50_000
    floor_limit: int | None = 0
    cvm_required_limit: int | None = 5_000
    status_check: bool = False
    zero_amount_allowed: bool = True
    #: Terminal Transaction Qualifiers 9F66 for kernel 3 (Book C-3 Annex A); byte 2 b8 and
    #: b7 are set per transaction by pre-processing. Default: qVSDC, signature, ODA for
    #: online authorizations; CDCVM supported. ``None``: no TTQ configured for this
    #: combination (Book B 3.1.1.1: pre-processing then sets no TTQ bits and none is sent).
    ttq: bytes | None = bytes.fromhex("23004000")


@dataclass(frozen=True, slots=True)
class Combination:
    """One supported AID and the kernel id that runs it (Book B 3.1.1), with its limits.

    ``kernel_id`` names a registered kernel (:mod:`terminal.kernel.registry`): a short id
    or a 3-byte extended one. ``transaction_types`` are the Transaction Types (9C) this
    combination serves (Book B 3.1.1: the reader holds a set of combinations per
    transaction type); ``None`` serves them all. ``extended_selection_supported`` is the
    Extended Selection Support flag (Book B 3.3.2.5, 9F29).
    """

    aid: bytes
    kernel_id: int
    limits: ReaderLimits = field(default_factory=ReaderLimits)
    transaction_types: frozenset[int] | None = None
    extended_selection_supported: bool = False

    def serves(self, transaction_type: int) -> bool:
        """This combination is in the set for ``transaction_type``.

        >>> Combination(bytes(5), 3, transaction_types=frozenset({0x20})).serves(0x00)
        False
        """
        return self.transaction_types is None or transaction_type in self.transaction_types


#: The shipped Terminal Action Codes (the table in the module docstring says why); the
#: settings file's ``[kernel] tac_denial / tac_online / tac_default`` replace them.
DEFAULT_TAC_DENIAL = bytes.fromhex("4C00000000")
DEFAULT_TAC_ONLINE = bytes.fromhex("F45084800C")
DEFAULT_TAC_DEFAULT = bytes.fromhex("F45084800C")

#: Visa (A0000000031010) on kernel 3 (C-3), Mastercard (A0000000041010) on kernel 2 (C-2).
DEFAULT_COMBINATIONS: tuple[Combination, ...] = (
    Combination(bytes.fromhex("A0000000031010"), 3),
    Combination(bytes.fromhex("A0000000041010"), 2),
)


@cache
def _test_ca_keys() -> CaKeyStore:
    """The shipped test CA keys, read and checked once a process (the store is immutable)."""
    from emvcore.oda.capk import load_ca_keys

    return load_ca_keys(TEST_CAPK_FILE)


@dataclass(frozen=True, slots=True)
class KernelConfig:
    """Static terminal data (EMV Book 4 section 6 and the contactless books)."""

    combinations: tuple[Combination, ...] = DEFAULT_COMBINATIONS
    #: Terminal Country Code 9F1A, ISO 3166-1 numeric (528 = Netherlands).
    country_code: int = 528
    #: Terminal Type 9F35 (Book 4 Annex A1): 21 = attended, merchant, online only.
    terminal_type: int = 0x21
    #: Cardholder verification the terminal can do (Book 4 A2, 9F33 byte 2).
    signature_supported: bool = True
    online_pin_supported: bool = False
    no_cvm_supported: bool = True
    #: Offline data authentication the terminal can do (9F33 byte 3).
    dda_supported: bool = True
    cda_supported: bool = True
    #: Terminal Action Codes (Book 3 10.7), TVR-shaped: denial, online, default (see the
    #: table in the module docstring for what they hold and why).
    tac_denial: bytes = DEFAULT_TAC_DENIAL
    tac_online: bytes = DEFAULT_TAC_ONLINE
    tac_default: bytes = DEFAULT_TAC_DEFAULT
    #: Interface Device Serial Number 9F1E (an 8).
    ifd_serial: str = "TAP00001"
    #: CA public keys for offline data authentication, by RID and index.
    ca_keys: CaKeyStore = field(default_factory=_test_ca_keys)
    extra: dict[int, bytes] = field(default_factory=dict)
    #: Terminal Floor Limit 9F1B in minor units: pre-processing uses it for a combination
    #: without a Reader Contactless Floor Limit (Book B 3.1.1.6).
    terminal_floor_limit: int | None = None
    #: Transaction Sequence Counter 9F41 (Book 3 Annex A), one value per transaction.
    sequence_counter: SequenceCounter = field(default_factory=MemoryCounter, compare=False)

    def combinations_for(self, transaction_type: int) -> tuple[Combination, ...]:
        """The combination set of a transaction type (Book B 3.1.1)."""
        return tuple(c for c in self.combinations if c.serves(transaction_type))

    @property
    def online_only(self) -> bool:
        """Terminal Type 9F35 says online only: x1 or x4 (Book 4 Annex A1 Table 24)."""
        return (self.terminal_type & 0x0F) in (0x01, 0x04)

    @property
    def capabilities(self) -> bytes:
        """Terminal Capabilities 9F33 (Book 4 Annex A2): contactless only, so byte 1 is 00."""
        cvm = (
            (0x40 if self.online_pin_supported else 0)
            | (0x20 if self.signature_supported else 0)
            | (0x08 if self.no_cvm_supported else 0)
        )
        security = (0x40 if self.dda_supported else 0) | (0x08 if self.cda_supported else 0)
        return bytes([0x00, cvm, security])
