"""The ``pcsc`` backend: a PC/SC contactless reader through pyscard and pcscd.

``pcsc`` opens the first reader pcscd lists, ``pcsc:1`` the second, ``pcsc:ACR122`` the
first whose name contains ``ACR122`` (case-insensitive). The backend uses pyscard's thin
``smartcard.scard`` layer, the PC/SC API itself, so every return code is seen and mapped
into :mod:`terminal.errors` here, at the boundary:

* waiting for a card, or for its removal (Book D 9.5), is ``SCardGetStatusChange``
  blocking in pcscd until the reader's state changes (no sleep loop);
  :meth:`~terminal.readers.base.Reader.cancel` (and ``close``) ends it from any thread with
  ``SCardCancel`` on that context: :class:`CardWaitCancelledError`;
* each exchange runs on a worker thread and the card on a PC/SC context of its own: a card
  that stops answering mid-exchange is given up after ``card_timeout``
  (:class:`CardTimeoutError`) and disconnected once pcscd returns, while the reader's
  context is free to wait for the next card;
* the card is connected shared, with T=1 or T=0 offered and the protocol pcscd chose
  used for every transmit (contactless readers present ISO/IEC 14443-4 as T=1, PC/SC
  Part 3 3.1.3.2.3; nothing assumes T=0);
* a card that leaves the field mid-exchange is :class:`CardRemovedError` (the kernel's Try
  Again), a reader that goes away or a pcscd that stops is :class:`ReaderUnavailableError`,
* the UID comes from the PC/SC pseudo-APDU ``FF CA 00 00 00`` (PC/SC Part 3 3.2.2.1.3
  "Get Data"), asked once: a reader that does not answer ``9000`` is not asked again;
* ACS readers' buzzer and LEDs are driven through :mod:`terminal.readers.acs`;
* a Field Off Request (Book A 6.2): PC/SC has no call that switches a reader's RF field.
  What is portable and real is ``SCardDisconnect(SCARD_UNPOWER_CARD)``: the IFD handler
  powers the card down (a contactless driver deactivates it; vpcd sends "power off" to the
  emulated card, which resets), the hold is observed, and the next poll connects (powers
  up, activates) it again. Whether the antenna itself goes quiet depends on the reader:
  an ACR122U is told to switch it off for the hold (:class:`~terminal.readers.acs.AcsAntenna`);
  on other readers the field stays on and only the card is unpowered.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from smartcard import scard

from terminal.errors import (
    CardRemovedError,
    CardTimeoutError,
    CardWaitCancelledError,
    NoCardError,
    ReaderError,
    ReaderUnavailableError,
)
from terminal.readers.acs import AcsAntenna, AcsFeedback, antenna_for, feedback_for
from terminal.readers.base import CardInfo, Reader, deadline_after, remaining

#: PC/SC Part 3 3.2.2.1.3: GET DATA, P1 00 = the card's UID, Le 00 = all of it.
GET_UID = bytes.fromhex("FFCA000000")

#: How long a failed exchange waits for pcscd to say whether the card is still there: a bit
#: more than pcscd's 400 ms polling period of readers that do not report events themselves.
STATE_SETTLE_MS = 600

#: Return codes meaning the card left the field or was reset under us.
_CARD_GONE = frozenset(
    {
        scard.SCARD_W_REMOVED_CARD,
        scard.SCARD_E_NO_SMARTCARD,
        scard.SCARD_W_RESET_CARD,
        scard.SCARD_W_UNPOWERED_CARD,
        scard.SCARD_W_UNRESPONSIVE_CARD,
    }
)
#: Return codes meaning the reader or the daemon itself is gone.
_READER_GONE = frozenset(
    {
        scard.SCARD_E_NO_SERVICE,
        scard.SCARD_E_SERVICE_STOPPED,
        scard.SCARD_E_READER_UNAVAILABLE,
        scard.SCARD_E_UNKNOWN_READER,
        scard.SCARD_E_NO_READERS_AVAILABLE,
        scard.SCARD_E_INVALID_HANDLE,
    }
)
#: Seconds between two SCardCancel calls while a cancelled wait has not ended yet.
CANCEL_REPEAT = 0.05
_PROTOCOL_NAMES = {scard.SCARD_PROTOCOL_T0: "T=0", scard.SCARD_PROTOCOL_T1: "T=1"}


def pcsc_message(hresult: int) -> str:
    """pcsc-lite's text for a return code, with the code in hex."""
    text = str(scard.SCardGetErrorMessage(hresult)).rstrip(". ")
    return f"{text} (0x{hresult & 0xFFFFFFFF:08X})"


def _unavailable(hresult: int, what: str) -> ReaderUnavailableError:
    if hresult in (scard.SCARD_E_NO_SERVICE, scard.SCARD_E_SERVICE_STOPPED):
        return ReaderUnavailableError(
            f"{what}: pcscd is not running ({pcsc_message(hresult)}); start it with "
            "`sudo systemctl start pcscd.socket`, or run `tap-terminal doctor`"
        )
    return ReaderUnavailableError(f"{what}: {pcsc_message(hresult)}")


def establish_context() -> Any:
    """A PC/SC context, or :class:`ReaderUnavailableError` saying why there is none."""
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        raise _unavailable(hresult, "cannot reach the PC/SC service")
    return context


def list_readers(context: Any | None = None) -> list[str]:
    """The names of the readers pcscd knows, in its order (empty when there are none)."""
    own = context is None
    ctx = establish_context() if context is None else context
    try:
        hresult, readers = scard.SCardListReaders(ctx, [])
    finally:
        if own:
            scard.SCardReleaseContext(ctx)
    if hresult == scard.SCARD_E_NO_READERS_AVAILABLE:
        return []
    if hresult != scard.SCARD_S_SUCCESS:
        raise _unavailable(hresult, "cannot list PC/SC readers")
    return list(readers)


def service_status() -> tuple[list[str] | None, str | None]:
    """pcscd's readers, or None and pcsc-lite's reason why it cannot be asked."""
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        return None, pcsc_message(hresult)
    try:
        return list_readers(context), None
    except ReaderUnavailableError as exc:
        return None, str(exc)
    finally:
        scard.SCardReleaseContext(context)


def choose_reader(readers: list[str], selector: str) -> str:
    """Pick a reader by index (``"1"``) or by a case-insensitive part of its name.

    >>> choose_reader(["ACS ACR122U 00 00", "Tap vpcd 0 00 00"], "vpcd")
    'Tap vpcd 0 00 00'
    >>> choose_reader(["ACS ACR122U 00 00", "Tap vpcd 0 00 00"], "")
    'ACS ACR122U 00 00'
    """
    if not readers:
        raise ReaderUnavailableError(
            "no PC/SC reader is connected (plug one in, or run `tap-terminal doctor`)"
        )
    known = "; ".join(f"{i}: {name}" for i, name in enumerate(readers))
    if not selector:
        return readers[0]
    if selector.isdigit():
        index = int(selector)
        if index < len(readers):
            return readers[index]
        raise ReaderUnavailableError(f"no PC/SC reader number {index} (readers: {known})")
    for name in readers:
        if selector.lower() in name.lower():
            return name
    raise ReaderUnavailableError(f"no PC/SC reader named like {selector!r} (readers: {known})")


class _CardSession:
    """The connected card, on a PC/SC context of its own.

    pcsc-lite serializes the calls on one context, so a transmit stuck on a frozen card
    would block every later call on the reader's context. The card gets its own: abandoned
    (:meth:`close` while a transmit runs), it is released by that transmit once pcscd returns
    from it, and the reader's context stays free to watch the slot for the next card.
    """

    def __init__(self, context: Any, card: Any, protocol: int) -> None:
        self.context, self.card, self.protocol = context, card, protocol
        self._lock = threading.Lock()
        self._busy = False
        self._closed = False
        self._released = False

    def transmit(self, apdu: bytes) -> tuple[int, list[int]]:
        pci = scard.SCARD_PCI_T1 if self.protocol == scard.SCARD_PROTOCOL_T1 else scard.SCARD_PCI_T0
        with self._lock:
            if self._closed:
                return scard.SCARD_W_REMOVED_CARD, []
            self._busy = True
        try:
            hresult, response = scard.SCardTransmit(self.card, pci, list(apdu))
        finally:
            with self._lock:
                self._busy = False
                release = self._closed
            if release:
                self._release(scard.SCARD_RESET_CARD)
        return hresult, list(response)

    def close(self, disposition: int = scard.SCARD_LEAVE_CARD) -> None:
        """Disconnect now, or after the transmit that is still running."""
        with self._lock:
            self._closed = True
            if self._busy:
                return
        self._release(disposition)

    def _release(self, disposition: int) -> None:
        with self._lock:
            if self._released:
                return
            self._released = True
        scard.SCardDisconnect(self.card, disposition)
        scard.SCardReleaseContext(self.context)


class PcscReader(Reader):
    """One PC/SC reader slot; see the module docstring for the mapping of PC/SC behaviour."""

    def __init__(self, reader: str, *, card_timeout: float = 1.0) -> None:
        super().__init__(card_timeout=card_timeout)
        self.name = f"pcsc:{reader}"
        self.reader = reader
        self._context: Any | None = establish_context()
        self._session: _CardSession | None = None
        self._uid_supported: bool | None = None
        self.feedback: AcsFeedback | None = feedback_for(reader)
        self.antenna: AcsAntenna | None = antenna_for(reader)

    @classmethod
    def from_spec(cls, argument: str, **options: Any) -> PcscReader:
        """``pcsc[:INDEX|:NAME]``: the reader of that index or (part of its) name."""
        context = establish_context()
        try:
            reader = choose_reader(list_readers(context), argument)
        finally:
            scard.SCardReleaseContext(context)
        return cls(reader, **options)

    # -- the Reader primitives ---------------------------------------------------------------

    def _wait_for_card(self, timeout: float | None) -> CardInfo:
        """Block in pcscd until a card is in the field, then connect to it."""
        self._disconnect()
        deadline = deadline_after(timeout)
        while True:
            event, atr = self._watch(_card_ready, remaining(deadline))
            if event is None:
                raise NoCardError("no card presented")
            try:
                return self._connect(atr)
            except CardTimeoutError:
                # pcscd is still busy with the card in the slot (an abandoned exchange waits
                # on it): a mute card is no card; wait for it to leave, then for the next.
                gone, _ = self._watch(_slot_empty, remaining(deadline))
                if gone is None:
                    raise NoCardError("no card presented (the card in the field is mute)") from None

    def _wait_for_removal(self, timeout: float | None) -> bool:
        """Block in pcscd until the slot is empty (Book D 9.5: the card has left the field)."""
        event, _ = self._watch(_slot_empty, timeout)
        return event is not None

    def _interrupt(self) -> None:
        """``SCardCancel``: the pending ``SCardGetStatusChange`` returns SCARD_E_CANCELLED.

        SCardCancel reaches only a call already inside pcscd; a wait that passed its cancel
        check but has not reached pcscd yet would miss it. So it is repeated, a few times a
        second, until no wait is pending (each wait then returns at once).
        """
        threading.Thread(target=self._cancel_waits, name="pcsc-cancel", daemon=True).start()

    def _cancel_waits(self) -> None:
        while True:
            context = self._context
            if context is None:
                return
            scard.SCardCancel(context)
            with self._wake:
                if self._wake.wait_for(lambda: not self._waits_pending, CANCEL_REPEAT):
                    return

    def _transmit(self, apdu: bytes) -> bytes:
        session = self._session
        if session is None:
            raise CardRemovedError("no card connected: call wait_for_card first")
        return self._abandonable(lambda: self._transmit_now(session, apdu),
                                 abandon=self._disconnect)  # fmt: skip

    def _field_off(self, hold: float) -> bool:
        """Unpower the card (``SCARD_UNPOWER_CARD``), and the antenna where it switches.

        True when there was a card to unpower or an antenna switched off; the next
        :meth:`wait_for_card` connects (powers up) the card again.
        """
        session, self._session = self._session, None
        if session is not None:
            session.close(scard.SCARD_UNPOWER_CARD)
        antenna = self.antenna
        switched = antenna is not None and antenna.switch(self, on=False)
        try:
            self._hold(hold)
        finally:
            if switched and antenna is not None:
                antenna.switch(self, on=True)
        return session is not None or switched

    def close(self) -> None:
        """Cancel a pending wait, disconnect the card and release the PC/SC context."""
        if self._context is None:
            return
        super().close()
        self._disconnect()
        context, self._context = self._context, None
        scard.SCardReleaseContext(context)

    # -- beyond the interface ----------------------------------------------------------------

    def control(self, code: int, command: bytes) -> bytes:
        """``SCardControl``: an escape command to the reader itself (card or no card)."""
        session = self._session
        if session is None:
            hresult, card, _ = scard.SCardConnect(
                self._context, self.reader, scard.SCARD_SHARE_DIRECT, 0
            )
            if hresult != scard.SCARD_S_SUCCESS:
                raise self._map(hresult, f"cannot open reader {self.reader!r} directly")
            try:
                return self._control(card, code, command)
            finally:
                scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
        return self._control(session.card, code, command)

    def signal(self, success: bool) -> bool:
        """Beep and light the LEDs for an outcome, where the reader can (ACS readers)."""
        return self.feedback.signal(self, success) if self.feedback is not None else False

    # -- internals ---------------------------------------------------------------------------

    def _watch(
        self, wanted: Callable[[int], bool], timeout: float | None
    ) -> tuple[int | None, bytes]:
        """``SCardGetStatusChange`` until the slot's state is ``wanted`` (its event state and
        ATR) or ``timeout`` passes (None); blocking in pcscd, woken by ``SCardCancel``."""
        state = scard.SCARD_STATE_UNAWARE
        deadline = deadline_after(timeout)
        while True:
            self._check_cancelled()
            left = remaining(deadline)
            wait_ms = scard.INFINITE if left is None else int(left * 1000)
            hresult, states = scard.SCardGetStatusChange(
                self._context, wait_ms, [(self.reader, state)]
            )
            if hresult == scard.SCARD_E_TIMEOUT:
                return None, b""
            if hresult == scard.SCARD_E_CANCELLED:
                raise CardWaitCancelledError(f"waiting on reader {self.reader!r} was cancelled")
            if hresult != scard.SCARD_S_SUCCESS:
                raise self._map(hresult, f"cannot watch reader {self.reader!r}")
            _, event, atr = states[0]
            if event & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_UNAVAILABLE):
                raise ReaderUnavailableError(f"reader {self.reader!r} is gone")
            if wanted(event):
                return event, bytes(atr)
            if left == 0:
                return None, b""
            # Wait for the next change from the state pcscd just reported.
            state = event & ~scard.SCARD_STATE_CHANGED

    def _connect(self, atr: bytes) -> CardInfo:
        """Connect on a context of the card's own, given up on after ``card_timeout``."""
        lock, abandoned = threading.Lock(), list[bool]()

        def connect() -> _CardSession:
            context = establish_context()
            hresult, card, protocol = scard.SCardConnect(
                context,
                self.reader,
                scard.SCARD_SHARE_SHARED,
                scard.SCARD_PROTOCOL_T1 | scard.SCARD_PROTOCOL_T0,
            )
            if hresult != scard.SCARD_S_SUCCESS:
                scard.SCardReleaseContext(context)
                raise self._map(hresult, f"cannot connect to the card in {self.reader!r}")
            session = _CardSession(context, card, protocol)
            with lock:
                if abandoned:  # the reader gave up waiting: nobody will use this card
                    session.close(scard.SCARD_RESET_CARD)
            return session

        def abandon() -> None:
            with lock:
                abandoned.append(True)

        session = self._abandonable(connect, abandon=abandon)
        self._session = session
        protocol_name = _PROTOCOL_NAMES.get(session.protocol, f"0x{session.protocol:X}")
        return CardInfo(atr=atr, uid=self._read_uid(), protocol=protocol_name)

    def _read_uid(self) -> bytes | None:
        if self._uid_supported is False:
            return None
        try:
            response = self._transmit(GET_UID)
        except CardTimeoutError:
            self._uid_supported = False
            return None
        except CardRemovedError:
            return None  # the kernel's first command will say so
        if len(response) >= 2 and response[-2:] == b"\x90\x00":
            self._uid_supported = True
            return response[:-2]
        # A card behind a reader that passes FF CA on answers 6E00/6D00: not a reader feature.
        self._uid_supported = False
        return None

    def _transmit_now(self, session: _CardSession, apdu: bytes) -> bytes:
        hresult, response = session.transmit(apdu)
        if hresult != scard.SCARD_S_SUCCESS:
            raise self._map(hresult, "exchange with the card failed")
        if not response:
            raise self._diagnose("no response bytes", "exchange with the card failed")
        return bytes(response)

    def _control(self, card: Any, code: int, command: bytes) -> bytes:
        hresult, response = scard.SCardControl(card, code, list(command))
        if hresult != scard.SCARD_S_SUCCESS:
            raise ReaderError(
                f"reader {self.reader!r} refused control 0x{code:X}: {pcsc_message(hresult)}"
            )
        return bytes(response)

    def _map(self, hresult: int, what: str) -> ReaderError:
        """The terminal error for a failed PC/SC call, asking pcscd when the code is vague."""
        if hresult in _CARD_GONE:
            return CardRemovedError(f"card removed from the field ({pcsc_message(hresult)})")
        if hresult in _READER_GONE:
            return _unavailable(hresult, f"reader {self.reader!r} is unavailable")
        return self._diagnose(pcsc_message(hresult), what)

    def _diagnose(self, detail: str, what: str) -> ReaderError:
        """Removed card, vanished reader or plain error, from the reader's state in pcscd.

        A communication error says nothing of why, and a driver may even report success
        with no bytes (vpcd does when the card's connection closes). pcscd polls such a
        slot (every 400 ms for vpcd), so it gets one period to report the card gone.
        """
        state = scard.SCARD_STATE_UNAWARE
        for wait_ms in (0, STATE_SETTLE_MS):
            check, states = scard.SCardGetStatusChange(
                self._context, wait_ms, [(self.reader, state)]
            )
            if check in _READER_GONE:
                return _unavailable(check, f"reader {self.reader!r} is unavailable")
            if check != scard.SCARD_S_SUCCESS:
                break
            event = states[0][1]
            if event & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_UNAVAILABLE):
                return ReaderUnavailableError(f"reader {self.reader!r} is gone")
            if event & scard.SCARD_STATE_EMPTY:
                return CardRemovedError(f"card removed from the field ({detail})")
            state = event & ~scard.SCARD_STATE_CHANGED
        return ReaderError(f"{what}: {detail}")

    def _disconnect(self) -> None:
        """Let the card go (after the transmit still running on it, if one is)."""
        session, self._session = self._session, None
        if session is not None:
            session.close()


def _slot_empty(event: int) -> bool:
    """No card in the slot (Book D 9.5: the card has left the field)."""
    return bool(event & scard.SCARD_STATE_EMPTY)


def _card_ready(event: int) -> bool:
    """A card is in the slot and answered its reset (pcscd could read an ATR)."""
    return bool(event & scard.SCARD_STATE_PRESENT and not event & scard.SCARD_STATE_MUTE)
