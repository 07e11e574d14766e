"""The exception tree of :mod:`card_emulation`::

    CardEmulationError
     ├── ProfileError          an unknown profile name
     ├── PersonalizationError  a token record or issuer key that cannot make a card
     ├── CardStoreError        a card file that is missing, unreadable or malformed
     ├── TransportError        a transport cannot reach its reader stack (vpcd, nfcpy)
     ├── TagError              a Type 4 Tag's NDEF content or capability container is unusable
     │    └── CapabilityError      a capability container that is not mapping 2.0 as we need
     └── WalletError           a phone wallet cannot read a tag or pay its session
          ├── TagReadError         a tag that does not answer as a Type 4 Tag (``sw`` when it said why)
          └── CheckoutError        the acquirer refused a checkout call or could not be reached (``code``)

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


class TagError(CardEmulationError):
    """A Type 4 Tag's NDEF content or capability container cannot be used."""


class CapabilityError(TagError):
    """A capability container that is not a mapping 2.0 CC with an NDEF File Control TLV."""


class WalletError(CardEmulationError):
    """A phone wallet cannot read a tag or pay the session it names."""


class TagReadError(WalletError):
    """The tag did not answer as a Type 4 Tag: ``sw`` is its status word when it gave one."""

    def __init__(self, message: str, *, sw: int | None = None) -> None:
        super().__init__(f"{message} (SW {sw:04X})" if sw is not None else message)
        self.sw = sw


class CheckoutError(WalletError):
    """The acquirer refused a checkout call (``code``: its problem code) or was unreachable.

    ``reason`` is the refusal's stable reason when the problem carried one (a forged link).
    """

    def __init__(self, message: str, *, code: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
