"""An emulated card as an ISO-DEP (Type 4A or 4B) target of an nfcpy ContactlessFrontend.

``NfcTarget(card, "udp:127.0.0.1:PORT")`` listens as a Type 4A card on nfcpy's ``udp``
driver, which carries NFC frames between two processes as UDP datagrams (``106A <hex>``),
so an nfcpy reader on the same path finds, activates and talks to it as it would to a card
on a real reader. Any nfcpy device that can listen as a Type 4A target works the same way.

What nfcpy does and does not do for a target (nfcpy 1.0.4):

* ``listen`` answers the ISO/IEC 14443-3 anticollision (SENS_RES, SDD_RES, SEL_RES with
  b6 set: ISO/IEC 14443-4 compliant) and hands over the first frame after SELECT. Over
  ``udp`` that frame is the raw RATS, which we answer with our ATS; the PN53x and RC-S380
  drivers answer RATS in the chip and hand over the first I-block instead.
* Type B (``technology="B"``, over ``udp``): ``listen`` answers SENSB_REQ with our ATQB
  and hands over the ATTRIB, which we answer.
* Everything after activation, the ISO-DEP block protocol, is ours
  (:class:`.iso_dep.IsoDepCard`), including S(WTX) while the card computes.
* Link loss: the reader's RF off (a ``RFOFF`` datagram over ``udp``) ends the session
  (``BrokenLinkError``); the target listens again for the next tap.

:meth:`NfcTarget.remove` takes the card out of the field: it stops answering mid-session,
exactly what a reader sees when a card leaves (its retries time out).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import secrets
import socket
import threading
from types import TracebackType
from typing import Any

import nfc
import nfc.clf

from card_emulation.transports import ApduCard, TransportError
from card_emulation.transports.iso_dep import ATTRIB, Command, IsoDepCard, atqb

#: SENS_RES for a single-size (4-byte) UID with bit-frame anticollision (ISO/IEC 14443-3 "ATQA").
SENS_RES = bytes.fromhex("0400")
#: SEL_RES b6 = 1: UID complete, ISO/IEC 14443-4 compliant (ISO/IEC 14443-3 "SAK").
SEL_RES = bytes.fromhex("20")
#: The time an activated target waits for the reader in one go, so a removal or a close
#: from another thread is noticed within it.
POLL = 0.25
#: How long one ``listen`` lasts. nfcpy's udp driver closes and re-binds its socket at the
#: start of every ``listen``, losing what arrived in between, so listens are long;
#: :meth:`NfcTarget.close` ends one early (see ``_wake``).
LISTEN = 5.0


def random_uid() -> bytes:
    """A random single-size NFCID1: first byte 08h (ISO/IEC 14443-3 "UID contents")."""
    return b"\x08" + secrets.token_bytes(3)


class NfcTarget:
    """Serves one card object over an nfcpy device listening as a Type 4A target."""

    def __init__(
        self,
        card: ApduCard,
        path: str,
        *,
        uid: bytes | None = None,
        fwi: int = 8,
        historical: bytes = b"",
        wtxm: int = 4,
        idle_timeout: float = 10.0,
        technology: str = "A",
    ) -> None:
        if technology not in ("A", "B"):
            raise ValueError("technology is A or B")
        self.card = card
        self.path = path
        self.technology = technology
        self.uid = uid or random_uid()
        self.iso_dep = IsoDepCard(card, fwi=fwi, historical=historical)
        self.atqb = atqb(self.uid, fwi=fwi)
        self.wtxm = wtxm
        self.idle_timeout = idle_timeout
        self.sessions = 0
        self.wtx_sent = 0
        self._clf: Any | None = None
        self._in_field = threading.Event()
        self._in_field.set()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        #: Why serving stopped on its own (the device went away), for whoever started it.
        self.failure: TransportError | None = None
        self._worker = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="card")

    # -- life cycle --------------------------------------------------------------------------

    def open(self) -> None:
        """Open the nfcpy device (``udp:HOST:PORT``, ``usb:...``, ``tty:...``)."""
        try:
            self._clf = nfc.ContactlessFrontend(self.path)
        except OSError as exc:
            raise TransportError(
                f"cannot open nfcpy device {self.path!r}: {exc.strerror or exc}"
            ) from None

    @property
    def serving(self) -> bool:
        """Whether the background thread still answers readers."""
        return self._thread is not None and self._thread.is_alive()

    def serve(self) -> None:
        """Listen for readers and answer them until :meth:`close` (or the device goes)."""
        if self._clf is None:
            self.open()
        try:
            self._serve()
        except OSError as exc:  # nfcpy's IOError(ENODEV) and USB transfer errors
            self.failure = TransportError(
                f"nfcpy device {self.path!r} failed: {exc.strerror or exc}"
            )
            if threading.current_thread() is threading.main_thread():
                raise self.failure from None

    def _serve(self) -> None:
        if self.technology == "B":
            target = nfc.clf.LocalTarget("106B", sensb_res=self.atqb)
        else:
            target = nfc.clf.LocalTarget(
                "106A", sens_res=SENS_RES, sdd_res=self.uid, sel_res=SEL_RES
            )
        while not self._closed.is_set():
            if not self._in_field.wait(POLL) or self._closed.is_set():
                continue
            try:
                activated = self._clf.listen(target, LISTEN) if self._clf else None
            except nfc.clf.CommunicationError:
                continue
            if self._closed.is_set():
                break
            if activated is None or activated.tt4_cmd is None:
                continue
            self.sessions += 1
            with contextlib.suppress(nfc.clf.CommunicationError):
                self._session(bytes(activated.tt4_cmd))

    def start(self) -> threading.Thread:
        """Open the device and serve in a background thread."""
        self.open()
        thread = threading.Thread(target=self._serve_in_thread, name="nfc-target", daemon=True)
        thread.start()
        self._thread = thread
        return thread

    def _serve_in_thread(self) -> None:
        try:
            self.serve()
        except TransportError as exc:
            self.failure = exc

    def remove(self) -> None:
        """Take the card out of the field: no more answers until :meth:`insert`."""
        self._in_field.clear()

    def insert(self) -> None:
        """Put the card back in the field."""
        self._in_field.set()

    def close(self) -> None:
        """Stop serving and release the device."""
        self._closed.set()
        self._in_field.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            for _ in range(int(LISTEN / 0.05)):
                self._wake()
                thread.join(0.05)
                if not thread.is_alive():
                    break
        clf, self._clf = self._clf, None
        if clf is not None:
            clf.close()
        self._worker.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> NfcTarget:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- one activation ----------------------------------------------------------------------

    def _session(self, first: bytes) -> None:
        if first[:1] == b"\xe0":
            reply: bytes = self.iso_dep.activate(first)
        elif first[:1] == bytes([ATTRIB]) and self.technology == "B":
            reply = self.iso_dep.activate_b(first)
        else:  # the reader chip answered RATS itself; this is the first I-block
            self.iso_dep.activate(None)
            reply = self._handle(first)
        while self.iso_dep.active and self._present():
            frame = self._exchange(reply)
            if frame is None:
                return
            reply = self._handle(frame)
        if reply and self._present():  # the S(DESELECT) echo
            self._exchange(reply, wait=False)

    def _handle(self, frame: bytes) -> bytes:
        result = self.iso_dep.receive(frame)
        if isinstance(result, Command):
            return self._process(result.apdu)
        return result

    def _process(self, apdu: bytes) -> bytes:
        """Run the card; while it computes, keep the reader waiting with S(WTX)."""
        future = self._worker.submit(self.card.process_apdu, apdu)
        wait = self.iso_dep.fwt / 2
        while True:
            try:
                return self.iso_dep.respond(future.result(timeout=wait))
            except concurrent.futures.TimeoutError:
                pass
            if not self._present():
                future.result()  # finish the command; a card leaving still completes it
                return b""
            request = self.iso_dep.wtx_request(self.wtxm)
            self.wtx_sent += 1
            granted = self._exchange(request, timeout=4 * self.iso_dep.fwt)
            if granted is None or not self.iso_dep.is_wtx_response(granted):
                future.result()
                return b""
            wait = self.wtxm * self.iso_dep.fwt / 2

    def _exchange(
        self, reply: bytes, *, wait: bool = True, timeout: float | None = None
    ) -> bytes | None:
        """Send ``reply`` (unless empty), return the reader's next frame or None on link loss."""
        clf = self._clf
        if clf is None:
            return None
        data: bytearray | None = bytearray(reply) if reply else None
        if not wait:
            with contextlib.suppress(nfc.clf.CommunicationError):
                clf.exchange(data, 0)
            return None
        remaining = self.idle_timeout if timeout is None else timeout
        while remaining > 0 and self._present():
            step = min(POLL, remaining)
            try:
                frame = clf.exchange(data, step)
            except nfc.clf.TimeoutError:
                data, remaining = None, remaining - step
                continue
            except nfc.clf.BrokenLinkError:
                return None
            if frame is None:
                return None
            if not self._present():
                return None
            return bytes(frame)
        return None

    def _wake(self) -> None:
        """End a pending ``listen`` on the udp driver: a stray 106A frame outside the
        anticollision makes it return (nfcpy 1.0.4 ``udp._listen_tta``). Real devices time
        out on their own within :data:`LISTEN`."""
        scheme, _, address = self.path.partition(":")
        host, _, port = address.rpartition(":")
        if scheme != "udp" or not port.isdigit():
            return
        with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"106A 00", (host or "localhost", int(port)))

    def _present(self) -> bool:
        return self._in_field.is_set() and not self._closed.is_set()
