"""Personalization: a token record and the issuer's keys in, a card image out.

:func:`personalize` turns a token provisioning record (from the acquirer's token vault) and
the issuer key file into a :class:`~card_emulation.image.CardImage`: the ICC master key for
application cryptograms is derived from the issuer master key (EMV Book 2 A1.4, option A or
B as the cryptogram version prescribes), and, for profiles with offline data
authentication, the card gets an ICC key pair and certificates over its static data
(:mod:`.oda`).
"""

from __future__ import annotations

from dataclasses import replace

from card_emulation.errors import PersonalizationError
from card_emulation.image import CardImage, Fault, check_name
from card_emulation.oda import certify
from card_emulation.profiles import profile
from card_emulation.records import oda_records
from emvcore.crypto.cvn import cryptogram_version
from emvcore.errors import IssuerKeyNotFoundError
from emvcore.keyfile import IssuerKeySet
from emvcore.oda.certificates import static_data_to_authenticate
from emvcore.provisioning import TokenRecord

#: Certificate expiry (MMYY) used for the "expired certificate" faults.
EXPIRED = "0120"


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
    card = CardImage(
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
    if not prof.oda:
        return card
    # Certify the static data of the records marked for ODA, plus the AIP (9F4A = 82).
    # TAMPER_STATIC_DATA changes a record after certification: certify the genuine records.
    genuine = replace(card, faults=faults - {Fault.TAMPER_STATIC_DATA})
    static = static_data_to_authenticate(oda_records(genuine, prof), aip=prof.aip)
    mmyy = record.expiry[2:] + record.expiry[:2]
    oda = certify(
        rid=prof.aid[:5],
        pan=record.token,
        static_data=static,
        expiry=EXPIRED if Fault.EXPIRED_ICC_CERTIFICATE in faults else mmyy,
        issuer_expiry=EXPIRED if Fault.EXPIRED_ISSUER_CERTIFICATE in faults else mmyy,
    )
    return replace(card, oda=oda)
