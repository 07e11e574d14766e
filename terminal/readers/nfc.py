"""The ``nfc`` backend: a reader driven by nfcpy, without pcscd.

``nfc:usb`` opens the first USB reader nfcpy supports, ``nfc:usb:072f:2200`` one by vendor
and product id, ``nfc:tty:USB0`` a serial one, ``nfc:udp:127.0.0.1:PORT`` nfcpy's simulated
radio over UDP (an emulated card served by ``tap-card serve --nfc udp:...`` answers there).
nfcpy talks to the USB device itself, so the reader must not be claimed by pcscd or by a
kernel NFC driver (see ``udev/`` and ``tap-terminal doctor``).

Cards are found by ISO/IEC 14443-3 polling for Type A and Type B and activated by nfcpy's
Type 4 Tag code (RATS/ATS for 4A, ATTRIB for 4B); cards that are not ISO-DEP (Type 2 tags,
FeliCa) are passed over. APDUs go through the tag's ``transceive``, nfcpy's ISO/IEC
14443-4 initiator, which already retries with R(NAK) and honours S(WTX). Errors are mapped
into :mod:`terminal.errors` here:

* timeout or receive errors after nfcpy's retries, or the RF link reported broken: the card
  left the field, :class:`CardRemovedError`;
* an ISO-DEP protocol error (a block nfcpy cannot place): :class:`ReaderError`;
* ``OSError`` from the device (nfcpy raises ``IOError(ENODEV)`` once the device is gone,
  ``EIO``/``EPIPE`` from USB transfers): :class:`ReaderUnavailableError`;
* an exchange longer than ``card_timeout`` (a card stalling with S(WTX), or mute) is
  given up on: :class:`CardTimeoutError`, the card dropped.

A Field Off Request (Book A 6.2) is real here: ``device.mute()`` switches the RF field off
for the time asked, and the next poll switches it on and activates the card again.

Polling is what nfcpy's ``ContactlessFrontend.connect(terminate=...)`` loop does; here it
is one :meth:`~nfc.clf.ContactlessFrontend.sense` round at a time, so
:meth:`~terminal.readers.base.Reader.cancel` ends a wait for a card, or for its removal
(Book D 9.5: poll until no card answers), between two rounds and during every pause.
"""

from __future__ import annotations

import contextlib
import errno
import time
from typing import Any

import nfc
import nfc.clf
import nfc.tag
import nfc.tag.tt4

from terminal.errors import (
    CardRemovedError,
    CardTimeoutError,
    NoCardError,
    ReaderError,
    ReaderUnavailableError,
)
from terminal.readers.base import CardInfo, Reader, deadline_after, remaining

#: The ATR a PC/SC reader would build for an ISO-DEP card with no historical bytes (PC/SC
#: Part 3 3.1.3.2.3.1): reported so both backends describe a card the same way.
CONTACTLESS_ATR = bytes.fromhex("3B80800101")
#: Pause between two polling rounds that found nothing (the driver's own sense may wait).
POLL_INTERVAL = 0.1
#: How long the field stays off to reset a card between two taps: t_RESET, 5 to 10 ms
#: (ISO/IEC 14443-3 "Initial dialogue"; EMV Contactless Book D, the "Field Off" reset). A card served over
#: nfcpy's udp driver needs it too: its target re-binds its socket when the field drops.
FIELD_RESET = 0.010

_LINK_LOST = frozenset({nfc.tag.TIMEOUT_ERROR, nfc.tag.RECEIVE_ERROR})


def _open_errno_message(path: str, exc: OSError) -> str:
    if exc.errno == errno.ENODEV:
        return f"no nfcpy reader found on {path!r} (plugged in? run `tap-terminal doctor`)"
    if exc.errno == errno.EACCES:
        return (
            f"no permission to open the reader on {path!r}: install the udev rules with "
            "`sudo make install-udev` and re-plug it"
        )
    if exc.errno == errno.EBUSY:
        return (
            f"the reader on {path!r} is held by another program or a kernel driver (pcscd, "
            "pn533_usb, port100): run `tap-terminal doctor`"
        )
    return f"cannot open nfcpy reader {path!r}: {exc.strerror or exc}"


class NfcReader(Reader):
    """An nfcpy ContactlessFrontend polling for ISO-DEP cards."""

    def __init__(
        self, path: str, *, card_timeout: float = 1.0, technologies: tuple[str, ...] | None = None
    ) -> None:
        super().__init__(card_timeout=card_timeout)
        self.path = path
        self.name = f"nfc:{path}"
        try:
            self.clf: Any = nfc.ContactlessFrontend(path)
        except OSError as exc:
            raise ReaderUnavailableError(_open_errno_message(path, exc)) from None
        self._tag: Any | None = None
        #: An exchange runs (or was given up on and still runs) on a worker thread.
        self._busy = False
        # Over udp every technology polled without an answer costs the driver's full second,
        # so it polls Type A only unless told otherwise; devices poll A and B.
        if technologies is None:
            technologies = ("A",) if path.startswith("udp") else ("A", "B")
        self._targets = [nfc.clf.RemoteTarget(f"106{t}") for t in technologies]

    @classmethod
    def from_spec(cls, argument: str, **options: Any) -> NfcReader:
        """``nfc:PATH`` with an nfcpy device path (default ``usb``)."""
        return cls(argument or "usb", **options)

    def _wait_for_card(self, timeout: float | None) -> CardInfo:
        """Poll until an ISO-DEP card is activated in the field."""
        deadline = deadline_after(timeout)
        if not self._idle(remaining(deadline)):
            raise NoCardError("no card presented (the last card's exchange is still running)")
        if self._release():
            self._pause(FIELD_RESET)
        while True:
            self._check_cancelled()
            started = time.monotonic()
            target, tag = self._sense(activate=True)
            if isinstance(tag, nfc.tag.tt4.Type4Tag):
                self._tag = tag
                return CardInfo(atr=CONTACTLESS_ATR, uid=bytes(tag.identifier), protocol="T=CL")
            if tag is not None or target is not None:
                self._release()  # not ISO-DEP, or activation failed: let it go, poll again
            left = remaining(deadline)
            if left == 0:
                raise NoCardError("no card presented")
            pause = POLL_INTERVAL - (time.monotonic() - started)
            if pause > 0:
                self._pause(pause if left is None else min(pause, left))

    def _wait_for_removal(self, timeout: float | None) -> bool:
        """Book D 9.5 "Removal": poll until no card answers in the field (or ``timeout``)."""
        deadline = deadline_after(timeout)
        if not self._idle(remaining(deadline)):
            return False
        while True:
            self._check_cancelled()
            started = time.monotonic()
            if not self._card_answers():
                self._release()
                return True
            left = remaining(deadline)
            if left == 0:
                return False
            pause = POLL_INTERVAL - (time.monotonic() - started)
            if pause > 0:
                self._pause(pause if left is None else min(pause, left))

    def _transmit(self, apdu: bytes) -> bytes:
        tag = self._tag
        if tag is None:
            raise CardRemovedError("no card activated: call wait_for_card first")

        def exchange() -> bytes:
            try:
                return self._transceive(tag, apdu)
            finally:
                self._busy = False

        # nfcpy's own timeouts follow the card's frame waiting time, which S(WTX) extends:
        # the card timeout bounds the whole exchange, and a card given up on is dropped.
        self._busy = True
        return self._abandonable(exchange, abandon=self._drop_tag)

    def _field_off(self, hold: float) -> bool:
        """The RF field off (``device.mute()``) for ``hold`` seconds: the card powers down.

        nfcpy switches the field on again with the next ``sense``, so the next poll
        activates the card afresh (ISO/IEC 14443-3 power-on). Over the ``udp`` driver the
        "field" is the simulated one: its target sees the field drop as a real card does.
        """
        self._idle(self.card_timeout)  # not while an abandoned exchange drives the device
        self._release()
        self._hold(hold)
        return True

    def close(self) -> None:
        """Stop a pending wait and close the device."""
        super().close()
        self._release()
        self.clf.close()

    # -- internals ---------------------------------------------------------------------------

    def _transceive(self, tag: Any, apdu: bytes) -> bytes:
        try:
            response = tag.transceive(bytearray(apdu))
        except nfc.tag.tt4.Type4TagCommandError as exc:
            self._tag = None
            if exc.errno in _LINK_LOST:
                raise CardRemovedError(f"card removed from the field ({exc})") from None
            raise ReaderError(f"ISO-DEP exchange failed: {exc}") from None
        except nfc.clf.BrokenLinkError:
            self._tag = None
            raise CardRemovedError("card removed from the field (RF link broken)") from None
        except nfc.clf.TimeoutError:
            self._tag = None
            raise CardTimeoutError("the card did not answer in time") from None
        except nfc.clf.CommunicationError as exc:
            self._tag = None
            raise ReaderError(f"ISO-DEP exchange failed: {exc.__class__.__name__}") from None
        except OSError as exc:
            self._tag = None
            raise ReaderUnavailableError(
                f"reader {self.path!r} is gone: {exc.strerror or exc}"
            ) from None
        if response is None:
            raise CardRemovedError("card removed from the field (no response)")
        return bytes(response)

    def _sense(self, *, activate: bool) -> tuple[Any, Any]:
        """One polling round: the target that answered (or None) and, activated, its tag."""
        try:
            target = self.clf.sense(*self._targets, iterations=1, interval=POLL_INTERVAL)
            if target is None or not activate:
                return target, None
            return target, nfc.tag.activate(self.clf, target)
        except nfc.clf.CommunicationError:
            return None, None
        except OSError as exc:
            raise ReaderUnavailableError(
                f"reader {self.path!r} is gone: {exc.strerror or exc}"
            ) from None

    def _card_answers(self) -> bool:
        """Whether a card is in the field: the activated one's presence check, else a poll."""
        tag = self._tag
        if tag is not None:
            try:
                present = bool(tag.is_present)
            except OSError as exc:
                raise ReaderUnavailableError(
                    f"reader {self.path!r} is gone: {exc.strerror or exc}"
                ) from None
            if present:
                return True
            self._tag = None
        self._release()
        self._pause(FIELD_RESET)
        target, _ = self._sense(activate=False)
        if target is not None:
            self._release()
        return target is not None

    def _idle(self, timeout: float | None) -> bool:
        """Wait until no abandoned exchange still drives the device (nfcpy bounds it)."""
        return self._wait_until(lambda: not self._busy, timeout)

    def _pause(self, seconds: float) -> None:
        """Wait ``seconds`` between polls; :meth:`cancel` ends the pause at once."""
        self._wait_until(lambda: False, seconds)

    def _drop_tag(self) -> None:
        self._tag = None

    def _release(self) -> bool:
        """Switch the field off so the card resets; True if a card was activated."""
        had_card, self._tag = self._tag is not None, None
        device = getattr(self.clf, "device", None)
        if device is not None:
            with contextlib.suppress(OSError):
                device.mute()
        return had_card
