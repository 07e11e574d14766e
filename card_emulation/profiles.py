"""Card profiles: the static, per-product data of an emulated contactless application.

A profile is what an issuer's card product defines once for every card: the AID and its
kernel, the PDOL and CDOL1 the card asks the terminal for, the AIP, the record layout the
AFL points at, and the cryptogram version. Personalization (:mod:`.image`) adds what is
per card: token, expiry, PSN, PAR, keys and the ATC.

Two profiles ship:

``visa``
    A Visa-style token on the qVSDC path (EMV Contactless Book C-3): the ARQC, ATC, IAD
    and CTQ come back in the GET PROCESSING OPTIONS response (format 2, tag 77); the
    PDOL asks for the TTQ and the transaction data; cryptogram version ``visa-cvn18``.
``mastercard``
    A Mastercard-style token on the M/Chip path (Book C-2): no PDOL, AIP and AFL from GPO,
    records with CDOL1, then GENERATE AC returns the ARQC; cryptogram version
    ``mastercard-cvn17``.
``visa-phone``, ``mastercard-phone``
    The same on a phone: above the CVM Required Limit the phone verifies its holder itself
    (CDCVM); until the holder has unlocked it, it answers "See Phone" (C-3: GPO '6986';
    C-2: an AAC with POS Cardholder Interaction Information) and the tap is presented again.

Every profile offers offline data authentication: the applet signs with its ICC key.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from card_emulation.errors import ProfileError


@dataclass(frozen=True, slots=True)
class Profile:
    """Static data of one card product."""

    name: str
    scheme: str
    description: str
    aid: bytes
    label: str
    priority: int
    kernel_id: int
    cryptogram_version: str
    aip: bytes
    pdol: bytes
    cdol1: bytes
    cryptogram_in_gpo: bool
    #: Offline data authentication: fDDA on the C-3 path, CDA on the C-2 path.
    oda: bool = True
    #: A phone: verifies its holder itself (CDCVM) and asks to be looked at ("See Phone").
    consumer_device: bool = False
    #: Card Transaction Qualifiers 9F6C (C-3 only; byte 2 b8 is set after CDCVM).
    ctq: bytes = bytes(2)
    #: Ceiling of the 2-byte ATC; past it the card refuses to make cryptograms.
    atc_limit: int = 0xFFFF
    issuer_country: int = 528
    application_currency: int = 978


VISA = Profile(
    name="visa",
    scheme="visa",
    description="Visa-style token, qVSDC (C-3): ARQC in the GPO response, CVN 18",
    aid=bytes.fromhex("A0000000031010"),
    label="VISA CREDIT",
    priority=1,
    kernel_id=3,
    cryptogram_version="visa-cvn18",
    # AIP byte 1: b6 DDA (fDDA) supported (Book 3 Annex C1).
    aip=bytes.fromhex("2000"),
    # TTQ, amount, other amount, country, TVR, currency, date, type, UN.
    pdol=bytes.fromhex("9F66049F02069F03069F1A0295055F2A029A039C019F3704"),
    cdol1=b"",
    cryptogram_in_gpo=True,
)

MASTERCARD = Profile(
    name="mastercard",
    scheme="mastercard",
    description="Mastercard-style token, M/Chip (C-2): ARQC from GENERATE AC, CVN 17",
    aid=bytes.fromhex("A0000000041010"),
    label="MASTERCARD",
    priority=2,
    kernel_id=2,
    cryptogram_version="mastercard-cvn17",
    # AIP byte 1: b5 cardholder verification, b4 terminal risk management, b1 CDA; byte 2 b8
    # EMV mode (Book 3 Annex C1, Book C-2).
    aip=bytes.fromhex("1980"),
    pdol=b"",
    # Amount, other amount, country, TVR, currency, date, type, UN, terminal type, CVM results.
    cdol1=bytes.fromhex("9F02069F03069F1A0295055F2A029A039C019F37049F35019F3403"),
    cryptogram_in_gpo=False,
)

VISA_PHONE = replace(
    VISA,
    name="visa-phone",
    description="Visa-style phone wallet (C-3): CDCVM on the phone, 'See Phone' until unlocked",
    consumer_device=True,
)

MASTERCARD_PHONE = replace(
    MASTERCARD,
    name="mastercard-phone",
    description="Mastercard-style phone wallet (C-2): on-device CVM, 'See Phone' until unlocked",
    # AIP byte 1 adds b2: on-device cardholder verification supported (Book C-2).
    aip=bytes.fromhex("1B80"),
    consumer_device=True,
)

PROFILES: dict[str, Profile] = {p.name: p for p in (VISA, MASTERCARD, VISA_PHONE, MASTERCARD_PHONE)}


def profile(name: str) -> Profile:
    """Look a profile up by name; the error lists the known ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ProfileError(f"unknown profile {name!r} (known: {', '.join(PROFILES)})") from None
