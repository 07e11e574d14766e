"""User interface requests (EMV Contactless Book A, section 7.1 "User Interface Request").

Every outcome carries one: a standard message identifier (Book A Table 9-x: the numbers
are the spec's, so a display built for any EMV reader shows the right text), a status
driving the four status indicators (Book A 9.2), how long to hold the message, and the
tone. The shopkeeper's console, a kiosk display or an LED board render the same request.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum


class MessageId(IntEnum):
    """Standard messages (Book A 9.4)."""

    APPROVED = 0x03
    NOT_AUTHORISED = 0x07
    ENTER_PIN = 0x09
    PROCESSING_ERROR = 0x0F
    REMOVE_CARD = 0x10
    WELCOME = 0x14
    PRESENT_CARD = 0x15
    PROCESSING = 0x16
    CARD_READ_OK = 0x17
    INSERT_OR_SWIPE_CARD = 0x18
    PRESENT_ONE_CARD_ONLY = 0x19
    APPROVED_PLEASE_SIGN = 0x1A
    AUTHORISING = 0x1B
    TRY_ANOTHER_CARD = 0x1C
    INSERT_CARD = 0x1D
    CLEAR_DISPLAY = 0x1E
    SEE_PHONE = 0x20
    PRESENT_CARD_AGAIN = 0x21
    NONE = 0xFF


#: English texts of the standard messages.
MESSAGE_TEXT: dict[MessageId, str] = {
    MessageId.APPROVED: "Approved",
    MessageId.NOT_AUTHORISED: "Not authorised",
    MessageId.ENTER_PIN: "Please enter your PIN",
    MessageId.PROCESSING_ERROR: "Processing error",
    MessageId.REMOVE_CARD: "Remove card",
    MessageId.WELCOME: "Welcome",
    MessageId.PRESENT_CARD: "Present card",
    MessageId.PROCESSING: "Processing",
    MessageId.CARD_READ_OK: "Card read OK, please remove card",
    MessageId.INSERT_OR_SWIPE_CARD: "Please insert or swipe card",
    MessageId.PRESENT_ONE_CARD_ONLY: "Please present one card only",
    MessageId.APPROVED_PLEASE_SIGN: "Approved, please sign",
    MessageId.AUTHORISING: "Authorising, please wait",
    MessageId.TRY_ANOTHER_CARD: "Insert, swipe or try another card",
    MessageId.INSERT_CARD: "Please insert card",
    MessageId.CLEAR_DISPLAY: "",
    MessageId.SEE_PHONE: "See phone for instructions",
    MessageId.PRESENT_CARD_AGAIN: "Present card again",
    MessageId.NONE: "",
}


class Status(Enum):
    """Reader status (Book A 9.2) and the four status indicators it lights.

    Each status is its own member: Not Ready and Processing Error light the same pattern
    (all four off) but are different statuses, so their values are their names and the
    pattern is :attr:`lights`. ``lights`` is the pattern of the four indicators, left to
    right: ``on``, ``off`` or ``flash`` (Idle: the first flashes; Card Read Successfully:
    all four on). A Processing Error also sounds the alert tone (Book A 9.3).
    """

    NOT_READY = "not-ready"
    IDLE = "idle"
    READY_TO_READ = "ready-to-read"
    PROCESSING = "processing"
    CARD_READ_SUCCESSFULLY = "card-read-successfully"
    PROCESSING_ERROR = "processing-error"

    @property
    def lights(self) -> tuple[str, str, str, str]:
        """The four indicators."""
        return _LIGHTS[self]


_LIGHTS: dict[Status, tuple[str, str, str, str]] = {
    Status.NOT_READY: ("off", "off", "off", "off"),
    Status.IDLE: ("flash", "off", "off", "off"),
    Status.READY_TO_READ: ("on", "off", "off", "off"),
    Status.PROCESSING: ("on", "on", "off", "off"),
    Status.CARD_READ_SUCCESSFULLY: ("on", "on", "on", "on"),
    Status.PROCESSING_ERROR: ("off", "off", "off", "off"),
}


class Tone(Enum):
    """Audio indications (Book A 9.3)."""

    NONE = "none"
    SUCCESS = "success"  # one tone, about 1500 Hz for 500 ms
    ALERT = "alert"  # two tones, about 750 Hz, 200 ms each


class ValueQualifier(Enum):
    """What the value of a UI request is (Book A 7.1 "User Interface Request Data")."""

    NONE = "none"
    AMOUNT = "amount"
    BALANCE = "balance"


@dataclass(frozen=True, slots=True)
class UiRequest:
    """What the display, the indicators and the beeper should do now.

    The User Interface Request Data of Book A 7.1: message identifier, status, hold time,
    and optionally a value (in minor units) with its qualifier and ISO 4217 currency, and
    the cardholder's language preference (5F2D, ISO 639-1 codes in order of preference).

    >>> ui = UiRequest(MessageId.APPROVED, Status.CARD_READ_SUCCESSFULLY,
    ...                value_qualifier=ValueQualifier.BALANCE, value=4250, currency="EUR",
    ...                language=("nl", "en"))
    >>> ui.text, ui.value, ui.currency, ui.language
    ('Approved', 4250, 'EUR', ('nl', 'en'))
    """

    message: MessageId
    status: Status
    hold_time_ms: int = 0
    tone: Tone = Tone.NONE
    value_qualifier: ValueQualifier = ValueQualifier.NONE
    value: int | None = None
    currency: str | None = None
    language: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The message in English."""
        return MESSAGE_TEXT[self.message]


def language_preference(raw: bytes | None) -> tuple[str, ...]:
    """Language Preference 5F2D (EMV Book 3 Annex A: 1-4 ISO 639-1 codes, an 2 each).

    >>> language_preference(b"nlen"), language_preference(None), language_preference(b"x")
    (('nl', 'en'), (), ())
    """
    if not raw or len(raw) % 2 or len(raw) > 8:
        return ()
    text = raw.decode("ascii", "replace").lower()
    codes = tuple(text[i : i + 2] for i in range(0, len(text), 2))
    return codes if all(code.isalpha() and code.isascii() for code in codes) else ()
