"""The exception tree of :mod:`card_emulation`::

    CardEmulationError
     ├── ProfileError          an unknown profile name
     ├── PersonalizationError  a token record or issuer key that cannot make a card
     ├── CardStoreError        a card file that is missing, unreadable or malformed
     └── TransportError        a transport cannot reach its reader stack (vpcd, nfcpy)

APDU-level problems are never exceptions: the applet answers them with the status word
ISO/IEC 7816-4 and the EMV books prescribe, as a real card would.
"""

from __future__ import annotations


class CardEmulationError(Exception):
    """Base class of every error raised by card_emulation."""


class ProfileError(CardEmulationError):
    """No profile of that name."""


class PersonalizationError(CardEmulationError):
    """A card cannot be personalized from the token record and issuer keys given."""


class CardStoreError(CardEmulationError):
    """A card file is missing, unreadable or malformed."""


class TransportError(CardEmulationError):
    """A transport cannot reach its reader stack (vpcd not listening, nfcpy device missing)."""
