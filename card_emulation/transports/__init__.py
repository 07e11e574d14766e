"""Card-side transports: put one emulated card into a real reader stack.

Every transport wraps the one card object (anything with ``process_apdu(bytes) -> bytes``,
see :class:`emvcore.card.ApduCard`) and knows nothing of EMV:

* :mod:`.vpcd`: the card sits in a PC/SC reader of pcscd's vsmartcard-vpcd driver, so
  pyscard, pcsc_scan and any PC/SC program see it;
* :mod:`.iso_dep`: the ISO/IEC 14443-4 card side (ATS, I-, R- and S-blocks), pure bytes;
* :mod:`.nfc_target`: that card side behind an nfcpy ContactlessFrontend listening as a
  Type 4A target (``udp:HOST:PORT`` between two processes, or a real device).

Card removal is a method of each transport (:meth:`.VpcdCard.remove`,
:meth:`.NfcTarget.remove`), so tests pull a card out of the field mid-transaction.
"""

from __future__ import annotations

from typing import Protocol

from card_emulation.errors import TransportError
from emvcore.card import ApduCard


class Resettable(Protocol):
    """A card that can be put back in its power-on state (a cold or warm reset)."""

    def reset(self) -> None: ...


def reset_card(card: object) -> None:
    """Reset ``card`` if it knows how (a field reset or a new activation)."""
    reset = getattr(card, "reset", None)
    if callable(reset):
        reset()


__all__ = ["ApduCard", "Resettable", "TransportError", "reset_card"]
