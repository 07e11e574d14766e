"""Offline data authentication on the terminal side (EMV Book 2 sections 5 and 6).

Recovers the issuer public key with the CA public key named by the card (RID of the AID,
index 8F), then the ICC public key over the static data to be authenticated (the records
the AFL marks for ODA, plus the AIP when the SDA Tag List asks for it). The kernel paths
then check a dynamic signature with it: fDDA on the C-3 path, CDA on the C-2 path. The
cryptography is :mod:`emvcore.oda`; this module only gathers the card's data objects.
"""

from __future__ import annotations

from emvcore.errors import OdaError
from emvcore.oda.certificates import RecoveredKey, recover_icc_key, recover_issuer_key
from emvcore.oda.certificates import static_data_to_authenticate as _static_data
from emvcore.oda.failures import OdaFailure
from emvcore.tags import Tag
from terminal.kernel.session import CardSession
from terminal.kernel.tvr import TvrBit

#: Failures that mean the card left out data ODA needs: "ICC data missing" as well as the
#: method's failed bit (Book 3 10.3, Annex C5; see :mod:`emvcore.oda.failures`).
MISSING_DATA = frozenset(
    {OdaFailure.ISSUER_CERT_MISSING, OdaFailure.ICC_CERT_MISSING, OdaFailure.SDAD_MISSING}
)


def record_failure(session: CardSession, exc: OdaError, method_failed: TvrBit) -> None:
    """Set the TVR bits of an ODA failure: the method's failed bit, and ICC data missing."""
    session.tvr.set(method_failed)
    if exc.failure in MISSING_DATA:
        session.tvr.set(TvrBit.ICC_DATA_MISSING)


def static_data(session: CardSession) -> bytes:
    """Static data to be authenticated (Book 2 5.4): ODA records, then the AIP if 9F4A lists 82."""
    sda_tag_list = session.card.get(Tag.SDA_TAG_LIST)
    if sda_tag_list not in (None, b"\x82"):
        raise OdaError(OdaFailure.STATIC_DATA_INVALID, "SDA Tag List may only list the AIP (82)")
    aip = session.card.get(Tag.AIP) if sda_tag_list else None
    return _static_data(session.oda_records, aip=aip)


def icc_public_key(session: CardSession) -> RecoveredKey:
    """The ICC public key, certified by the issuer, certified by a CA the terminal trusts."""
    card = session.card
    pan = session.pan()
    index = card.get(Tag.CA_PUBLIC_KEY_INDEX)
    if pan is None or index is None or len(index) != 1:
        session.tvr.set(TvrBit.ICC_DATA_MISSING)  # the card named no CA key (8F)
        raise OdaError(OdaFailure.CA_KEY_MISSING, "no CA public key index (8F) on the card")
    rid = session.candidate.aid[:5]
    capk = session.config.ca_keys.lookup(rid, index[0], today=session.today)
    issuer = recover_issuer_key(
        capk,
        card.get(Tag.ISSUER_PUBLIC_KEY_CERTIFICATE),
        card.get(Tag.ISSUER_PUBLIC_KEY_REMAINDER, b""),
        card.get(Tag.ISSUER_PUBLIC_KEY_EXPONENT),
        pan=pan,
        today=session.today,
    )
    return recover_icc_key(
        issuer,
        card.get(Tag.ICC_PUBLIC_KEY_CERTIFICATE),
        card.get(Tag.ICC_PUBLIC_KEY_REMAINDER, b""),
        card.get(Tag.ICC_PUBLIC_KEY_EXPONENT),
        pan=pan,
        static_data=static_data(session),
        today=session.today,
    )
