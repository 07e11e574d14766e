"""The card side of vsmartcard's vpcd: an emulated card inside a PC/SC reader of pcscd.

pcscd loads the vpcd driver (Debian package ``vsmartcard-vpcd``) for a reader entry whose
``DEVICENAME`` is ``/dev/null:PORT``; the driver listens on ``PORT`` and the card connects
to it. The TCP connection *is* the card in the field: connecting inserts it (pcscd notices
within its polling period of about 400 ms), closing the connection removes it.

The wire, in both directions, is a 2-byte big-endian length followed by that many bytes.
From the driver, a 1-byte payload is a control message::

    00  power off        01  power on        02  reset        04  get ATR

and only ``04`` is answered (with the ATR, asked for about every 400 ms while the card is
present); anything longer is a command APDU, answered with the response APDU.

Debian's driver writes the length and the payload as two ``send`` calls. With delayed ACKs
the second write waits for the first one's acknowledgement (Nagle), so a card that does not
acknowledge at once costs about 44 ms an APDU; setting ``TCP_QUICKACK`` before every receive
(Linux clears it after each ACK) brings the round trip to about 0.12 ms. Our own writes
send length and payload in one ``sendall``.
"""

from __future__ import annotations

import contextlib
import functools
import operator
import socket
import struct
import threading
from types import TracebackType
from typing import Final

from card_emulation.transports import ApduCard, TransportError, reset_card

#: The driver's default port (0x8C7B), as in Debian's /etc/reader.conf.d/vpcd.
DEFAULT_PORT: Final = 35963

POWER_OFF: Final = 0x00
POWER_ON: Final = 0x01
RESET: Final = 0x02
GET_ATR: Final = 0x04


def contactless_atr(historical_bytes: bytes = b"") -> bytes:
    """The ATR a PC/SC reader builds for an ISO/IEC 14443-4 Type A card.

    PC/SC Part 3 (v2.02.00) section 3.1.3.2.3.1: ``3B 8n 80 01`` then the ATS historical
    bytes (n of them) and TCK, the exclusive-or of every byte from T0 on.

    >>> contactless_atr().hex().upper()
    '3B80800101'
    >>> atr = contactless_atr(b"Tap")
    >>> atr.hex().upper()
    '3B83800154617047'
    >>> functools.reduce(operator.xor, atr[1:])  # TCK makes T0..TCK exclusive-or to zero
    0
    """
    if len(historical_bytes) > 15:
        raise ValueError("at most 15 historical bytes fit an ATR")
    body = bytes([0x80 | len(historical_bytes), 0x80, 0x01]) + historical_bytes
    return b"\x3b" + body + bytes([functools.reduce(operator.xor, body)])


class VpcdCard:
    """Connects one card object to a vpcd reader and answers the driver until removed.

    ``serve()`` runs in the calling thread and returns when the card is removed or the
    driver goes away; ``start()`` runs it in a background thread. ``remove()`` takes the
    card out of the field from any thread.
    """

    def __init__(
        self,
        card: ApduCard,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        *,
        atr: bytes | None = None,
        connect_timeout: float = 5.0,
        quickack: bool = True,
    ) -> None:
        self.card = card
        self.quickack = quickack  # False only to measure what it saves (make bench)
        self.address = (host, port)
        self.atr = atr if atr is not None else contactless_atr()
        self.connect_timeout = connect_timeout
        self.apdus = 0
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._removed = threading.Event()

    @property
    def present(self) -> bool:
        """Whether the card is connected to the driver (in the reader's field)."""
        return self._sock is not None and not self._removed.is_set()

    def insert(self) -> None:
        """Connect to the driver: the card enters the reader's field."""
        host, port = self.address
        try:
            sock = socket.create_connection(self.address, timeout=self.connect_timeout)
        except OSError as exc:
            raise TransportError(
                f"cannot reach vpcd on {host}:{port} ({exc.strerror or exc}): is pcscd running "
                "with a vpcd reader on that port?"
            ) from None
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._removed.clear()
        self._sock = sock

    def serve(self) -> None:
        """Answer the driver until the card is removed or the driver closes the connection."""
        if self._sock is None:
            self.insert()
        sock = self._sock
        assert sock is not None
        try:
            while not self._removed.is_set():
                message = _receive(sock, self.quickack)
                if message is None:
                    return
                reply = self._answer(message)
                if reply is not None:
                    sock.sendall(struct.pack(">H", len(reply)) + reply)
        except OSError:
            if not self._removed.is_set():
                raise
        finally:
            self._disconnect()

    def start(self) -> threading.Thread:
        """Insert the card and serve it in a background thread."""
        self.insert()
        thread = threading.Thread(target=self._serve_quietly, name="vpcd-card", daemon=True)
        thread.start()
        self._thread = thread
        return thread

    def remove(self, wait: float = 5.0) -> None:
        """Take the card out of the field: the driver sees the connection close."""
        self._removed.set()
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(wait)
        self._thread = None
        self._disconnect()

    def _serve_quietly(self) -> None:
        with contextlib.suppress(OSError):
            self.serve()

    def _answer(self, message: bytes) -> bytes | None:
        if len(message) != 1:
            self.apdus += 1
            return self.card.process_apdu(message)
        control = message[0]
        if control == GET_ATR:
            return self.atr
        if control in (POWER_ON, RESET):
            reset_card(self.card)
        return None

    def _disconnect(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def __enter__(self) -> VpcdCard:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.remove()


def _receive(sock: socket.socket, quickack: bool = True) -> bytes | None:
    """One length-prefixed message, or None when the driver closed the connection."""
    header = _receive_exactly(sock, 2, quickack)
    if header is None:
        return None
    (length,) = struct.unpack(">H", header)
    return _receive_exactly(sock, length, quickack) if length else b""


def _receive_exactly(sock: socket.socket, size: int, quickack: bool) -> bytes | None:
    data = bytearray()
    while len(data) < size:
        if quickack:
            # Linux turns quick ACK off again after each ACK: ask for it before every receive.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)
