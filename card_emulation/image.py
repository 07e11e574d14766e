"""A personalized card: the per-card data and keys an applet runs on.

:func:`personalize` turns a token provisioning record (from the acquirer's token vault) and
the issuer key file into a :class:`CardImage`: the token (DPAN), its expiry, PSN and PAR,
the ICC master key for application cryptograms derived from the issuer master key (EMV
Book 2 A1.4, option A or B as the cryptogram version prescribes), and the ATC. The card never holds the funding PAN.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import StrEnum

from card_emulation.errors import PersonalizationError
from card_emulation.profiles import profile
from emvcore.crypto.cvn import cryptogram_version
from emvcore.errors import IssuerKeyNotFoundError
from emvcore.keyfile import IssuerKeySet
from emvcore.provisioning import TokenRecord

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


class Fault(StrEnum):
    """Deliberate misbehaviour a tester can personalize into a card."""

    #: Flip one bit of every application cryptogram the card returns.
    TAMPER_CRYPTOGRAM = "tamper-cryptogram"


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


def personalize(
    name: str,
    profile_name: str,
    record: TokenRecord,
    keys: IssuerKeySet,
    *,
    faults: frozenset[Fault] = frozenset(),
) -> CardImage:
    """Make a card of ``profile_name`` for the token in ``record`` with the issuer's keys."""
    prof = profile(profile_name)
    check_name(name)
    if record.scheme != prof.scheme:
        raise PersonalizationError(
            f"token record is for scheme {record.scheme!r}, profile {prof.name!r} is {prof.scheme!r}"
        )
    try:
        key = keys.for_pan(record.token)
    except IssuerKeyNotFoundError as exc:
        raise PersonalizationError(str(exc)) from None
    if key.cvn != prof.cryptogram_version:
        raise PersonalizationError(
            f"issuer key {key.label!r} is for {key.cvn}, profile {prof.name!r} uses {prof.cryptogram_version}"
        )
    if record.test and not keys.test_keys:
        raise PersonalizationError(
            "a test token record cannot be personalized with production keys"
        )
    return CardImage(
        name=name,
        profile=prof.name,
        token=record.token,
        expiry=record.expiry,
        psn=record.psn,
        par=record.par,
        dki=key.dki,
        icc_mk=cryptogram_version(key.cvn).derive_icc_mk(key.imk_ac, record.token, record.psn),
        faults=faults,
        test=keys.test_keys,
    )
