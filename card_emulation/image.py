"""A personalized card: the per-card data and keys an applet runs on.

A :class:`CardImage` holds the token (DPAN), its expiry, PSN and PAR, the ICC master key
for application cryptograms, the ATC, the ODA keys and certificates, the secure messaging key for issuer scripts, and
any deliberate
faults. The card never holds the funding PAN. :mod:`.personalization` makes images.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import StrEnum

from card_emulation.errors import PersonalizationError
from card_emulation.oda import OdaKeys

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


class Fault(StrEnum):
    """Deliberate misbehaviour a tester can personalize into a card (``tap-card --fault``).

    Finer-grained, per-command faults for hostile-card tests are in :mod:`.faults`.
    """

    #: Flip one bit of every application cryptogram the card returns.
    TAMPER_CRYPTOGRAM = "tamper-cryptogram"
    #: Flip one bit of every signed dynamic application data (fDDA / CDA) the card returns.
    TAMPER_SIGNATURE = "tamper-signature"
    #: Flip one bit of the issuer public key certificate (90).
    TAMPER_ISSUER_CERTIFICATE = "tamper-issuer-certificate"
    #: Flip one bit of the ICC public key certificate (9F46).
    TAMPER_ICC_CERTIFICATE = "tamper-icc-certificate"
    #: Change a record marked for ODA after its certification.
    TAMPER_STATIC_DATA = "tamper-static-data"
    #: Certify the ICC key with an expiry in the past.
    EXPIRED_ICC_CERTIFICATE = "expired-icc-certificate"
    #: Certify the issuer key with an expiry in the past.
    EXPIRED_ISSUER_CERTIFICATE = "expired-issuer-certificate"
    #: Name a CA public key index (8F) the terminal does not have.
    UNKNOWN_CA_INDEX = "unknown-ca-index"


@dataclass(frozen=True, slots=True)
class CardImage:
    """Everything that makes one emulated card: profile, token data, keys, counters, faults."""

    name: str
    profile: str
    token: str
    expiry: str
    psn: str
    par: str
    dki: int
    icc_mk: bytes = field(repr=False)
    atc: int = 0
    faults: frozenset[Fault] = frozenset()
    test: bool = True
    oda: OdaKeys | None = None
    #: MK_SMI, the secure messaging integrity master key that issuer script MACs come
    #: under (EMV Book 2 9.2, A1.3); None: the card refuses script commands (6985).
    icc_mk_smi: bytes | None = field(default=None, repr=False)

    def with_atc(self, atc: int) -> CardImage:
        """A copy with a new ATC (the only field that changes in a card's life here)."""
        return replace(self, atc=atc)


def check_name(name: str) -> str:
    """Card names become file names: lower-case letters, digits, '-' and '_' only."""
    if not _NAME.fullmatch(name):
        raise PersonalizationError(
            f"card name {name!r} must be 1-40 of a-z, 0-9, '-' and '_', starting with a letter or digit"
        )
    return name
