"""Tap! mode's tag: a dynamic NFC Forum Type 4 Tag served by the card-side transports.

- :mod:`.capability`  the capability container file (E103), written by the tag, read by
  the wallet
- :mod:`.type4`       the tag: NDEF Tag Application D2760000850101, CC and NDEF files,
  ``process_apdu`` like every emulated card, ``present``/``clear`` from the terminal's thread

The content is made with :mod:`emvcore.tapmode` (link and NDEF message).
"""

from card_emulation.tag.capability import NDEF_AID, CapabilityContainer
from card_emulation.tag.type4 import Type4Tag

__all__ = ["NDEF_AID", "CapabilityContainer", "Type4Tag"]
