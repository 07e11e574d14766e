"""Kernel outcomes (EMV Contactless Book A, section 6.2 "Outcome" and 9.2 "User Interface").

A tap always ends in exactly one :class:`Outcome`; the kernel never raises on anything a card
does. The reason is a stable, machine-readable code; the message is what the display shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from emvcore.apdu import CryptogramType


class Outcome(StrEnum):
    """The seven outcomes of EMV Contactless Book A 6.2.2."""

    APPROVED = "approved"
    DECLINED = "declined"
    ONLINE_REQUEST = "online-request"
    TRY_ANOTHER_INTERFACE = "try-another-interface"
    END_APPLICATION = "end-application"
    SELECT_NEXT = "select-next"
    TRY_AGAIN = "try-again"


@dataclass(frozen=True, slots=True)
class KernelResult:
    """What the kernel hands back after the card has been read.

    ``data_record`` is the TLV-encoded data the acquirer needs for an Online Request (EMV
    Contactless Book A 6.2.1: the "Data Record"); it carries the token, never a funding PAN.
    """

    outcome: Outcome
    reason: str
    message: str
    aid: bytes | None = None
    kernel_id: int | None = None
    label: str | None = None
    cryptogram_type: CryptogramType | None = None
    data_record: bytes = b""
    masked_pan: str | None = None
    par: str | None = None
    atc: int | None = None
    card_data: dict[int, bytes] = field(default_factory=dict, repr=False)
