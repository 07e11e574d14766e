"""The phone's reader access: one ``transceive(apdu) -> response`` callable per backend.

A phone wallet reads a Tap! tag in reader mode. Here "the phone's radio" is any reader
library that can send a command APDU to a Type 4 Tag and return its response APDU (data
and status word), so the wallet needs exactly one callable (:data:`Transceive`), and each
backend is a small adapter that maps its library's errors into :class:`TagReadError`:

* :func:`pyscard_transceive`: a pyscard connection to a PC/SC reader (a tag served by
  vpcd inside pcscd, or a real tag on a USB reader);
* :func:`nfcpy_transceive`: an activated nfcpy ``Type4Tag`` (nfcpy's ``udp`` driver or a
  real reader).

Nothing here imports the terminal's reader backends: card_emulation and terminal are
independent packages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from card_emulation.errors import TagReadError

#: Send one command APDU, return the response APDU (data || SW1 SW2).
Transceive = Callable[[bytes], bytes]


def pyscard_transceive(connection: Any) -> Transceive:
    """Adapt a connected pyscard ``CardConnection`` (``connection.transmit``)."""
    from smartcard.Exceptions import SmartcardException

    def transceive(apdu: bytes) -> bytes:
        try:
            data, sw1, sw2 = connection.transmit(list(apdu))
        except SmartcardException as exc:
            raise TagReadError(f"the PC/SC reader lost the tag: {exc}") from None
        return bytes(data) + bytes([sw1, sw2])

    return transceive


def nfcpy_transceive(tag: Any, timeout: float = 1.0) -> Transceive:
    """Adapt an activated nfcpy Type 4 Tag (``tag.transceive`` over ISO-DEP)."""
    import nfc.clf
    import nfc.tag

    def transceive(apdu: bytes) -> bytes:
        try:
            response = tag.transceive(bytearray(apdu), timeout)
        except (nfc.clf.CommunicationError, nfc.tag.TagCommandError) as exc:
            raise TagReadError(f"nfcpy lost the tag: {exc}") from None
        if response is None:
            raise TagReadError("nfcpy lost the tag: no response")
        return bytes(response)

    return transceive
