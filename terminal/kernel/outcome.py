"""Kernel outcomes (EMV Contactless Book A, 6.2 "Outcome"; 7.1 "User Interface Request").

A tap always ends in exactly one :class:`Outcome` carrying a :class:`UiRequest`; the
kernel never raises on anything a card does. ``reason`` is a stable, machine-readable code;
``tvr`` is the Terminal Verification Results as the kernel left them; ``restart`` says the
reader should wait for the card again and re-run the transaction (Book A: "Start B/C",
e.g. after "See Phone").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from emvcore.apdu import CryptogramType
from terminal.kernel.cvm import Cvm
from terminal.kernel.ui import MessageId, Status, Tone, UiRequest


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
    restart: bool = False
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

    @property
    def message(self) -> str:
        """The display text of the UI request."""
        return self.ui.text


class KernelStop(Exception):
    """Ends a kernel run with an outcome (internal control flow; never escapes the kernel)."""

    def __init__(
        self,
        outcome: Outcome,
        reason: str,
        *,
        ui: UiRequest | None = None,
        restart: bool = False,
    ) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason
        self.ui = ui or DEFAULT_UI[outcome]
        self.restart = restart
        #: The TVR when the run stopped (filled in by the kernel).
        self.tvr = bytes(5)
