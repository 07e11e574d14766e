"""Buzzer and LEDs of ACS readers, through their escape commands.

Two families, two command sets (ACS application programming interface documents):

* **ACR122U** (ACR122U API, "Bi-Color LED and Buzzer Control"): the pseudo-APDU
  ``FF 00 40 P2 04 T1 T2 N L``: P2 the LED state control byte, T1/T2 the blink
  durations in 100 ms, N the repetitions, L which of T1/T2 sound the buzzer. Answered
  ``90 xx`` (xx the LED state).
* **ACR1252U** (ACR1252U API, "Peripherals Control"): ``E0 00 00 28 01 dd`` sounds the
  buzzer for dd x 10 ms, ``E0 00 00 29 01 ss`` sets the LEDs (bit 0 red, bit 1 green).
  Answered ``E1 00 00 00 01 xx``.

The ACR122U also switches its antenna (ACR122U API, "Direct Transmit" of the PN532 command
RFConfiguration, CfgItem 01 "RF field"): ``FF 00 00 00 04 D4 32 01 00`` off,
``... D4 32 01 01`` on, answered ``D5 33 90 00``; the Field Off Request of Book A 6.2 uses
it (:class:`AcsAntenna`). The ACR1252U's escape set has no documented antenna switch here:
that reader only unpowers the card (:mod:`terminal.readers.pcsc`).

All go to the reader, not the card, with ``SCardControl`` and the CCID escape control
code (``SCARD_CTL_CODE(1)`` for pcsc-lite's CCID driver, which must have escape commands
enabled: ``ifdDriverOptions`` 0x0001 in its Info.plist). Whether a reader answers is
*detected*: the first command it refuses switches feedback off for that reader, so a
clone that only looks like an ACS reader never fails a payment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from terminal.errors import ReaderError

#: pcsc-lite: ``SCARD_CTL_CODE(code) = 0x42000000 + code``; the CCID escape is code 1.
IOCTL_CCID_ESCAPE = 0x42000000 + 1


class Controllable(Protocol):
    """What feedback needs of a reader: ``SCardControl``."""

    def control(self, code: int, command: bytes) -> bytes: ...


def acr122u_led_buzzer(state: int, t1: int, t2: int, repetitions: int, buzzer: int) -> bytes:
    """The ACR122U LED and buzzer pseudo-APDU ("Bi-Color LED and Buzzer Control").

    >>> acr122u_led_buzzer(0xAE, 1, 1, 1, 1).hex().upper()
    'FF0040AE0401010101'
    """
    for value in (state, t1, t2, repetitions, buzzer):
        if not 0 <= value <= 0xFF:
            raise ValueError("every ACR122U LED/buzzer parameter is one byte")
    return bytes([0xFF, 0x00, 0x40, state, 0x04, t1, t2, repetitions, buzzer])


def acr1252u_buzzer(duration_ms: int) -> bytes:
    """The ACR1252U buzzer escape command ("Buzzer Control"), rounded to 10 ms.

    >>> acr1252u_buzzer(100).hex().upper()
    'E0000028010A'
    """
    return bytes([0xE0, 0x00, 0x00, 0x28, 0x01, min(0xFF, max(1, duration_ms // 10))])


def acr1252u_leds(*, red: bool, green: bool) -> bytes:
    """The ACR1252U LED escape command ("LED Control").

    >>> acr1252u_leds(red=False, green=True).hex().upper()
    'E00000290102'
    """
    return bytes([0xE0, 0x00, 0x00, 0x29, 0x01, int(red) | int(green) << 1])


#: ACR122U LED state bytes: final green + green blink for success, red blink for failure.
_ACR122U_SUCCESS = acr122u_led_buzzer(0b1010_1110, 1, 1, 1, 0x01)
_ACR122U_FAILURE = acr122u_led_buzzer(0b0101_1101, 2, 2, 3, 0x03)


@dataclass
class AcsFeedback:
    """Success and failure signals for one ACS reader; ``enabled`` turns off on refusal."""

    model: str
    enabled: bool = True
    refusals: list[str] = field(default_factory=list)

    def commands(self, success: bool) -> list[bytes]:
        """The escape commands that signal ``success`` (or failure) on this model."""
        if self.model == "ACR122U":
            return [_ACR122U_SUCCESS if success else _ACR122U_FAILURE]
        if success:
            return [acr1252u_leds(red=False, green=True), acr1252u_buzzer(100)]
        return [acr1252u_leds(red=True, green=False), acr1252u_buzzer(400)]

    def signal(self, reader: Controllable, success: bool) -> bool:
        """Beep and light the LEDs; False (and off for good) when the reader refuses."""
        if not self.enabled:
            return False
        for command in self.commands(success):
            try:
                response = reader.control(IOCTL_CCID_ESCAPE, command)
            except ReaderError as exc:
                response, reason = b"", str(exc)
            else:
                reason = f"answered {response.hex().upper() or 'nothing'}"
            if not _accepted(self.model, response):
                self.enabled = False
                self.refusals.append(f"{command.hex().upper()}: {reason}")
                return False
        return True


def acr122u_rf_field(on: bool) -> bytes:
    """The ACR122U antenna switch: Direct Transmit of PN532 RFConfiguration, RF field item.

    >>> acr122u_rf_field(False).hex().upper()
    'FF00000004D4320100'
    """
    return bytes([0xFF, 0x00, 0x00, 0x00, 0x04, 0xD4, 0x32, 0x01, int(on)])


@dataclass
class AcsAntenna:
    """The RF field switch of a reader that has one (ACR122U); off for good on a refusal."""

    enabled: bool = True
    refusals: list[str] = field(default_factory=list)

    def switch(self, reader: Controllable, on: bool) -> bool:
        """Switch the field on or off; False (and never again) when the reader refuses."""
        if not self.enabled:
            return False
        command = acr122u_rf_field(on)
        try:
            response = reader.control(IOCTL_CCID_ESCAPE, command)
        except ReaderError as exc:
            response, reason = b"", str(exc)
        else:
            reason = f"answered {response.hex().upper() or 'nothing'}"
        if response[-4:] != b"\xd5\x33\x90\x00":
            self.enabled = False
            self.refusals.append(f"{command.hex().upper()}: {reason}")
            return False
        return True


def antenna_for(reader_name: str) -> AcsAntenna | None:
    """The antenna switch of a reader by its PC/SC name, None for readers without one.

    >>> antenna_for("ACS ACR122U PICC Interface 00 00") is not None
    True
    >>> antenna_for("ACS ACR1252 1S CL Reader [ACR1252 Reader PICC] 00 00") is None
    True
    """
    return AcsAntenna() if "ACR122" in reader_name.upper() else None


def _accepted(model: str, response: bytes) -> bool:
    if model == "ACR122U":
        return len(response) == 2 and response[0] == 0x90
    return len(response) >= 5 and response[:4] == b"\xe1\x00\x00\x00"


def feedback_for(reader_name: str) -> AcsFeedback | None:
    """The feedback of an ACS reader by its PC/SC name, None for other readers.

    >>> feedback_for("ACS ACR122U PICC Interface 00 00").model
    'ACR122U'
    >>> feedback_for("ACS ACR1252 1S CL Reader [ACR1252 Reader PICC] 00 00").model
    'ACR1252U'
    >>> feedback_for("Tap vpcd 0 00 00") is None
    True
    """
    name = reader_name.upper()
    if "ACR122" in name:
        return AcsFeedback("ACR122U")
    if "ACR1252" in name:
        return AcsFeedback("ACR1252U")
    return None
