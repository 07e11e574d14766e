"""The card side of the contactless interface, as every layer of the stack sees it.

A card (a plastic card's chip, a phone wallet's HCE service, an NFC Forum Type 4 tag) is
whatever answers a command APDU with a response APDU (ISO/IEC 7816-4 section 5.1; EMV
Book 1 section 9). The terminal's in-process reader carries APDUs to one, the emulated
cards implement it, and the card-side transports (vpcd, nfcpy targets) wrap one; they all
take this one protocol, so none of them needs to know the others.

>>> class Mute:
...     def process_apdu(self, apdu: bytes) -> bytes:
...         return bytes.fromhex("6D00")  # instruction code not supported
>>> card: ApduCard = Mute()
>>> card.process_apdu(bytes.fromhex("00B2010C00")).hex().upper()
'6D00'
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["ApduCard"]


class ApduCard(Protocol):
    """Anything that answers command APDUs: an emulated card, a phone wallet, a Type 4 tag.

    ``process_apdu`` takes one complete command APDU and returns the complete response,
    data followed by the status word ``SW1 SW2``.
    """

    def process_apdu(self, apdu: bytes) -> bytes: ...
