"""Emulated contactless EMV cards for testers: no hardware needed.

An emulated card is one object with ``process_apdu(bytes) -> bytes``
(:class:`EmvApplet`); transports wrap that object: the terminal's in-process loopback
reader, pcscd's vpcd driver and nfcpy targets (:mod:`card_emulation.transports`,
``tap-card serve``). :mod:`card_emulation.faults` makes hostile cards for tests. Cards
are personalized from a token record and the issuer key file (:func:`personalize`) and
kept in a :class:`CardStore`; the terminal's ``emulated:NAME`` reader finds them through the
``tap.cards`` entry point this distribution registers (:mod:`card_emulation.provider`),
without importing this package. The card protocol itself, :class:`emvcore.card.ApduCard`,
is emvcore's. Every error is a :class:`CardEmulationError` (tree in :mod:`card_emulation.errors`).
"""

from card_emulation.applet import EmvApplet, State
from card_emulation.errors import (
    CapabilityError,
    CardEmulationError,
    CardStoreError,
    CheckoutError,
    PersonalizationError,
    ProfileError,
    TagError,
    TagReadError,
    TransportError,
    WalletError,
)
from card_emulation.image import CardImage, Fault
from card_emulation.oda import OdaKeys
from card_emulation.personalization import personalize
from card_emulation.profiles import PROFILES, Profile, profile
from card_emulation.store import CardStore

__all__ = [
    "PROFILES",
    "CapabilityError",
    "CardEmulationError",
    "CardImage",
    "CardStore",
    "CardStoreError",
    "CheckoutError",
    "EmvApplet",
    "Fault",
    "OdaKeys",
    "PersonalizationError",
    "Profile",
    "ProfileError",
    "State",
    "TagError",
    "TagReadError",
    "TransportError",
    "WalletError",
    "personalize",
    "profile",
]
