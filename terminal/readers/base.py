"""The one reader interface the kernel sees, with the shared exchange logic written once.

A backend overrides only the primitives, :meth:`Reader._transmit` (one raw exchange) and
:meth:`Reader.wait_for_card`; :meth:`Reader.transceive` adds what every transport needs the
same way (ISO/IEC 7816-4 section 5.3.4 and EMV Book 1 9.3.1):

* ``61xx``: the card holds more response bytes; fetch them with GET RESPONSE (Le = xx),
  concatenating, until the card answers with another status word;
* ``6Cxx``: wrong Le; re-issue the same command once with Le = xx.

The kernel never imports a reader library: it receives a ``Reader`` and calls
``transceive``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from types import TracebackType

from emvcore.apdu import CommandApdu, get_response
from emvcore.errors import ApduError
from terminal.errors import ReaderError

#: Upper bound on GET RESPONSE rounds, so a card answering 61xx forever cannot hang a tap.
MAX_GET_RESPONSE = 64


@dataclass(frozen=True, slots=True)
class CardInfo:
    """What the reader knows of the card in its field."""

    atr: bytes
    uid: bytes | None = None
    protocol: str = "T=CL"


class Reader(ABC):
    """A contactless reader: wait for a card, exchange APDUs with it.

    ``card_timeout`` is the most a single exchange may take, in seconds.
    """

    name: str = "reader"

    def __init__(self, *, card_timeout: float = 1.0) -> None:
        self.card_timeout = card_timeout

    @abstractmethod
    def wait_for_card(self, timeout: float | None = None) -> CardInfo:
        """Block until a card is in the field (``NoCardError`` after ``timeout`` seconds)."""

    @abstractmethod
    def _transmit(self, apdu: bytes) -> bytes:
        """One raw exchange. Raise ``CardRemovedError`` or ``CardTimeoutError`` as they happen."""

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release the reader (backends holding a device override this)."""

    def signal(self, success: bool) -> bool:
        """Beep and light the reader's own indicators for an outcome, where it has any.

        Returns whether the reader did; the default reader has none.
        """
        return False

    def field_off(self, hold_ms: int) -> bool:
        """Switch the RF field off for ``hold_ms`` (Book A 6.2 "Field Off Request").

        Returns whether the reader did; the default reader cannot switch its field.
        """
        return False

    def transceive(self, apdu: bytes) -> bytes:
        """Send a command APDU, return the complete response (data || SW1 SW2)."""
        response = self._exchange(apdu)
        if response[-2] == 0x6C:
            try:
                command = CommandApdu.decode(apdu)
            except ApduError as exc:
                raise ReaderError(
                    f"card asked to re-send a command that is not an APDU: {exc}"
                ) from None
            response = self._exchange(replace(command, le=response[-1] or 256).encode())
        data = bytearray()
        rounds = 0
        while response[-2] == 0x61:
            rounds += 1
            if rounds > MAX_GET_RESPONSE:
                raise ReaderError(f"card kept answering 61xx after {MAX_GET_RESPONSE} GET RESPONSE")
            data += response[:-2]
            response = self._exchange(get_response(response[-1] or 256).encode())
        return bytes(data) + response

    def _exchange(self, apdu: bytes) -> bytes:
        response = self._transmit(apdu)
        if len(response) < 2:
            raise ReaderError(f"card answered {len(response)} byte(s), less than a status word")
        return response

    def __enter__(self) -> Reader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
