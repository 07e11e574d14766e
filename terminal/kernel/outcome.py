"""Kernel outcomes (EMV Contactless Book A, 6.2 "Outcome"; 7.1 "User Interface Request").

A tap always ends in exactly one :class:`Outcome` carrying a :class:`UiRequest`; the
kernel never raises on anything a card does. ``reason`` is a stable, machine-readable code;
``tvr`` is the Terminal Verification Results as the kernel left them.

Every kernel answers with the Outcome parameter set of Book A 6.2 (Table 6-1), carried by
:class:`KernelResult`:

===============================  ===================================================
Book A 6.2 parameter              field
===============================  ===================================================
Outcome                           ``outcome``
Start (A, B, C, D, N/A)           ``start`` (:class:`Start`); ``restart`` is B or C
Online Response Data              ``online_response_data`` (:class:`OnlineResponseData`)
CVM                               ``cvm``
UI Request on Outcome Present     ``ui_request_on_outcome_present``, the request ``ui``
UI Request on Restart Present     ``ui_request_on_restart_present``, ``ui_on_restart``
Data Record Present               ``data_record_present``, ``data_record``
Discretionary Data Present        ``discretionary_data_present``, ``discretionary_data``
Alternate Interface Preference    ``alternate_interface`` (:class:`AlternateInterface`)
Receipt                           ``receipt``
Field Off Request                 ``field_off_request_ms`` (None: N/A)
Removal Timeout                   ``removal_timeout_ms``
===============================  ===================================================

The Entry Point acts on them (Book B 3.5): Start B (wait for the card again, showing the UI
Request on Restart), Start C (the next candidate), Start D (hand the online response to the
kernel, :mod:`terminal.kernel.issuer_update`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from emvcore.apdu import CryptogramType
from terminal.kernel.cvm import Cvm
from terminal.kernel.ui import MessageId, Status, Tone, UiRequest


class Start(StrEnum):
    """Where the Entry Point starts again (Book A 6.5; Book B 3.5).

    A: pre-processing (a new transaction); B: protocol activation (wait for the card
    again, e.g. after Try Again); C: combination selection (the next candidate, after
    Select Next); D: kernel activation with the Online Response Data; N/A: no restart.
    """

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    NA = "N/A"


class OnlineResponseData(StrEnum):
    """What the kernel wants back at Start D (Book A 6.2, "Online Response Data")."""

    NA = "N/A"
    EMV_DATA = "EMV data"  # tags 91, 71, 72 of the issuer's answer
    ANY = "any"


class AlternateInterface(StrEnum):
    """The interface a Try Another Interface outcome prefers (Book A 6.2)."""

    NA = "N/A"
    CONTACT_CHIP = "contact chip"
    MAGSTRIPE = "magstripe"


class Outcome(StrEnum):
    """The seven outcomes of EMV Contactless Book A 6.2.2."""

    APPROVED = "approved"
    DECLINED = "declined"
    ONLINE_REQUEST = "online-request"
    TRY_ANOTHER_INTERFACE = "try-another-interface"
    END_APPLICATION = "end-application"
    SELECT_NEXT = "select-next"
    TRY_AGAIN = "try-again"


#: The UI request each outcome shows by default (Book A 9.4 messages, 9.2 statuses).
DEFAULT_UI: dict[Outcome, UiRequest] = {
    Outcome.APPROVED: UiRequest(MessageId.APPROVED, Status.CARD_READ_SUCCESSFULLY, 0, Tone.SUCCESS),
    Outcome.DECLINED: UiRequest(
        MessageId.NOT_AUTHORISED, Status.CARD_READ_SUCCESSFULLY, 0, Tone.ALERT
    ),
    Outcome.ONLINE_REQUEST: UiRequest(
        MessageId.AUTHORISING, Status.CARD_READ_SUCCESSFULLY, 0, Tone.SUCCESS
    ),
    # Book B 3.1.1.13: '18' "Please insert or swipe card" (this card, another interface).
    Outcome.TRY_ANOTHER_INTERFACE: UiRequest(
        MessageId.INSERT_OR_SWIPE_CARD, Status.PROCESSING_ERROR, 0, Tone.ALERT
    ),
    Outcome.END_APPLICATION: UiRequest(
        MessageId.TRY_ANOTHER_CARD, Status.PROCESSING_ERROR, 0, Tone.ALERT
    ),
    Outcome.SELECT_NEXT: UiRequest(MessageId.PROCESSING, Status.PROCESSING, 0, Tone.NONE),
    Outcome.TRY_AGAIN: UiRequest(MessageId.PRESENT_CARD_AGAIN, Status.READY_TO_READ, 0, Tone.ALERT),
}
SEE_PHONE = UiRequest(MessageId.SEE_PHONE, Status.NOT_READY, 1300, Tone.ALERT)
ONE_CARD_ONLY = UiRequest(MessageId.PRESENT_ONE_CARD_ONLY, Status.PROCESSING_ERROR, 0, Tone.ALERT)
#: Book A 9.2/9.4: the reader idle, before a transaction (Welcome, status Idle).
WELCOME = UiRequest(MessageId.WELCOME, Status.IDLE)
#: Book B 3.2.1.1: the UI request at protocol activation (Start A, or Start B without a UI
#: Request on Restart): Present Card, Ready to Read.
PRESENT_CARD = UiRequest(MessageId.PRESENT_CARD, Status.READY_TO_READ)


@dataclass(frozen=True, slots=True)
class KernelResult:
    """What the kernel hands back after the card has been read.

    ``data_record`` is the TLV-encoded data the acquirer needs for an Online Request (Book
    A 6.2.1, the "Data Record"); it carries the token, never a funding PAN.
    """

    outcome: Outcome
    reason: str
    ui: UiRequest
    tvr: bytes = bytes(5)
    cvm: Cvm = Cvm.NONE
    start: Start = Start.NA
    online_response_data: OnlineResponseData = OnlineResponseData.NA
    ui_on_restart: UiRequest | None = None
    discretionary_data: bytes = b""
    alternate_interface: AlternateInterface = AlternateInterface.NA
    receipt: bool = False
    field_off_request_ms: int | None = None
    removal_timeout_ms: int = 0
    aid: bytes | None = None
    kernel_id: int | None = None
    label: str | None = None
    cryptogram_type: CryptogramType | None = None
    oda_performed: bool = False
    data_record: bytes = b""
    masked_pan: str | None = None
    par: str | None = None
    atc: int | None = None
    card_data: dict[int, bytes] = field(default_factory=dict, repr=False)
    #: After Start D: the card's verdict on the ARPC (None: not asked or card gone), and
    #: the Issuer Script Results 9F5B, five bytes a script.
    issuer_authenticated: bool | None = None
    issuer_script_results: bytes = b""

    @property
    def message(self) -> str:
        """The display text of the UI request."""
        return self.ui.text

    @property
    def restart(self) -> bool:
        """The Entry Point runs this transaction again on a new activation (Start B or C)."""
        return self.start in (Start.B, Start.C)

    @property
    def ui_request_on_outcome_present(self) -> bool:
        """Book A 6.2: the outcome carries a UI request to show."""
        return self.ui.message is not MessageId.NONE

    @property
    def ui_request_on_restart_present(self) -> bool:
        """Book A 6.2: a UI request to show when the Entry Point restarts."""
        return self.ui_on_restart is not None

    @property
    def data_record_present(self) -> bool:
        """Book A 6.2: a data record for the acquirer."""
        return bool(self.data_record)

    @property
    def discretionary_data_present(self) -> bool:
        """Book A 6.2: kernel discretionary data (for the terminal's own use)."""
        return bool(self.discretionary_data)


class KernelStop(Exception):
    """Ends a kernel run with an outcome (internal control flow; never escapes the kernel)."""

    def __init__(
        self,
        outcome: Outcome,
        reason: str,
        *,
        ui: UiRequest | None = None,
        restart: bool = False,
        start: Start | None = None,
        ui_on_restart: UiRequest | None = None,
        alternate_interface: AlternateInterface = AlternateInterface.NA,
    ) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason
        self.ui = ui or DEFAULT_UI[outcome]
        #: Book A 6.5: ``restart=True`` is Start B (the card presented again).
        self.start = start or (Start.B if restart else Start.NA)
        self.restart = self.start in (Start.B, Start.C)
        self.ui_on_restart = ui_on_restart
        self.alternate_interface = alternate_interface
        #: The TVR when the run stopped (filled in by the kernel).
        self.tvr = bytes(5)
