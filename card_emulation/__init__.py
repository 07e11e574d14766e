"""Emulated contactless EMV cards for testers: no hardware needed.

An emulated card is one object with ``process_apdu(bytes) -> bytes``
(:class:`EmvApplet`); transports (the terminal's in-process loopback reader today, vpcd
and nfcpy targets next) wrap that object. Cards are personalized from a token record and
the issuer key file (:func:`personalize`) and kept in a :class:`CardStore`.
"""

from card_emulation.applet import EmvApplet, State
from card_emulation.errors import (
    CardEmulationError,
    CardStoreError,
    PersonalizationError,
    ProfileError,
)
from card_emulation.image import CardImage, Fault, personalize
from card_emulation.profiles import PROFILES, Profile, profile
from card_emulation.store import CardStore

__all__ = [
    "PROFILES",
    "CardEmulationError",
    "CardImage",
    "CardStore",
    "CardStoreError",
    "EmvApplet",
    "Fault",
    "PersonalizationError",
    "Profile",
    "ProfileError",
    "State",
    "personalize",
    "profile",
]
