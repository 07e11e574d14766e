"""The ``pcsc`` backend: a PC/SC contactless reader through pyscard and pcscd.

``pcsc`` opens the first reader pcscd lists, ``pcsc:1`` the second, ``pcsc:ACR122`` the
first whose name contains ``ACR122`` (case-insensitive). The backend uses pyscard's thin
``smartcard.scard`` layer, the PC/SC API itself, so every return code is seen and mapped
into :mod:`terminal.errors` here, at the boundary:

* waiting for a card is ``SCardGetStatusChange`` blocking in pcscd until the reader's state
  changes (no sleep loop); :meth:`PcscReader.close` cancels a wait from another thread;
* the card is connected shared, with T=1 or T=0 offered and the protocol pcscd chose
  used for every transmit (contactless readers present ISO/IEC 14443-4 as T=1, PC/SC
  Part 3 3.1.3.2.3; nothing assumes T=0);
* a card that leaves the field mid-exchange is :class:`CardRemovedError` (the kernel's Try
  Again), a reader that goes away or a pcscd that stops is :class:`ReaderUnavailableError`,
  an exchange longer than ``card_timeout`` is :class:`CardTimeoutError`;
* the UID comes from the PC/SC pseudo-APDU ``FF CA 00 00 00`` (PC/SC Part 3 3.2.2.1.3
  "Get Data"), asked once: a reader that does not answer ``9000`` is not asked again;
* ACS readers' buzzer and LEDs are driven through :mod:`terminal.readers.acs`.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable
from typing import Any, TypeVar

from smartcard import scard

from terminal.errors import (
    CardRemovedError,
    CardTimeoutError,
    NoCardError,
    ReaderError,
    ReaderUnavailableError,
)
from terminal.readers.acs import AcsFeedback, feedback_for
from terminal.readers.base import CardInfo, Reader

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
_PROTOCOL_NAMES = {scard.SCARD_PROTOCOL_T0: "T=0", scard.SCARD_PROTOCOL_T1: "T=1"}

T = TypeVar("T")


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


class PcscReader(Reader):
    """One PC/SC reader slot; see the module docstring for the mapping of PC/SC behaviour."""

    def __init__(self, reader: str, *, card_timeout: float = 1.0) -> None:
        super().__init__(card_timeout=card_timeout)
        self.name = f"pcsc:{reader}"
        self.reader = reader
        self._context = establish_context()
        self._card: Any | None = None
        self._protocol = scard.SCARD_PROTOCOL_T1
        self._uid_supported: bool | None = None
        # One worker owns every exchange, so a card slower than card_timeout can be given up
        # on while its transmit completes in pcscd.
        self._worker = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="pcsc")
        self._stale = False
        self.feedback: AcsFeedback | None = feedback_for(reader)

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

    def wait_for_card(self, timeout: float | None = None) -> CardInfo:
        """Block in pcscd until a card is in the field, then connect to it."""
        self._disconnect()
        state = scard.SCARD_STATE_UNAWARE
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait_ms = scard.INFINITE
            if deadline is not None:
                wait_ms = max(0, int((deadline - time.monotonic()) * 1000))
            hresult, states = scard.SCardGetStatusChange(
                self._context, wait_ms, [(self.reader, state)]
            )
            if hresult == scard.SCARD_E_TIMEOUT:
                raise NoCardError("no card presented")
            if hresult == scard.SCARD_E_CANCELLED:
                raise NoCardError("waiting for a card was cancelled")
            if hresult != scard.SCARD_S_SUCCESS:
                raise self._map(hresult, f"cannot watch reader {self.reader!r}")
            _, event, atr = states[0]
            if event & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_UNAVAILABLE):
                raise ReaderUnavailableError(f"reader {self.reader!r} is gone")
            if event & scard.SCARD_STATE_PRESENT and not event & scard.SCARD_STATE_MUTE:
                return self._connect(bytes(atr))
            # Wait for the next change from the state pcscd just reported.
            state = event & ~scard.SCARD_STATE_CHANGED

    def _transmit(self, apdu: bytes) -> bytes:
        if self._card is None:
            raise CardRemovedError("no card connected: call wait_for_card first")
        return self._on_worker(self._transmit_now, apdu)

    def close(self) -> None:
        """Cancel a pending wait, disconnect the card and release the PC/SC context."""
        if self._context is None:
            return
        scard.SCardCancel(self._context)
        self._disconnect()
        self._worker.shutdown(wait=False, cancel_futures=True)
        scard.SCardReleaseContext(self._context)
        self._context = None

    # -- beyond the interface ----------------------------------------------------------------

    def control(self, code: int, command: bytes) -> bytes:
        """``SCardControl``: an escape command to the reader itself (card or no card)."""
        card = self._card
        if card is None:
            hresult, card, _ = scard.SCardConnect(
                self._context, self.reader, scard.SCARD_SHARE_DIRECT, 0
            )
            if hresult != scard.SCARD_S_SUCCESS:
                raise self._map(hresult, f"cannot open reader {self.reader!r} directly")
            try:
                return self._control(card, code, command)
            finally:
                scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
        return self._control(card, code, command)

    def signal(self, success: bool) -> bool:
        """Beep and light the LEDs for an outcome, where the reader can (ACS readers)."""
        return self.feedback.signal(self, success) if self.feedback is not None else False

    # -- internals ---------------------------------------------------------------------------

    def _connect(self, atr: bytes) -> CardInfo:
        hresult, card, protocol = scard.SCardConnect(
            self._context,
            self.reader,
            scard.SCARD_SHARE_SHARED,
            scard.SCARD_PROTOCOL_T1 | scard.SCARD_PROTOCOL_T0,
        )
        if hresult != scard.SCARD_S_SUCCESS:
            raise self._map(hresult, f"cannot connect to the card in {self.reader!r}")
        self._card, self._protocol = card, protocol
        protocol_name = _PROTOCOL_NAMES.get(protocol, f"0x{protocol:X}")
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

    def _transmit_now(self, apdu: bytes) -> bytes:
        pci = (
            scard.SCARD_PCI_T1 if self._protocol == scard.SCARD_PROTOCOL_T1 else scard.SCARD_PCI_T0
        )
        hresult, response = scard.SCardTransmit(self._card, pci, list(apdu))
        if hresult != scard.SCARD_S_SUCCESS:
            raise self._map(hresult, "exchange with the card failed")
        if not response:
            raise self._diagnose("no response bytes", "exchange with the card failed")
        return bytes(response)

    def _on_worker(self, call: Callable[[bytes], T], apdu: bytes) -> T:
        if self._stale:
            raise CardTimeoutError("the card has not answered a previous command yet")
        future = self._worker.submit(call, apdu)
        try:
            return future.result(timeout=self.card_timeout)
        except concurrent.futures.TimeoutError:
            # pcscd is still waiting for the card; the next wait_for_card reconnects.
            self._stale = True
            future.add_done_callback(self._unstale)
            raise CardTimeoutError(
                f"the card did not answer within {self.card_timeout:g} s"
            ) from None

    def _unstale(self, _: concurrent.futures.Future[Any]) -> None:
        self._stale = False

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
        card, self._card = self._card, None
        if card is None:
            return
        if self._stale:
            # A transmit still runs on the worker; disconnect after it, without waiting here.
            self._worker.submit(scard.SCardDisconnect, card, scard.SCARD_LEAVE_CARD)
            return
        scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
