"""The records a card's AFL points at, built from its image and profile.

Both personalization (which certifies the static data of the records marked for offline
data authentication) and the applet (which serves them with READ RECORD) build records
here, so the certified data and the served data cannot drift apart.

Layouts (SFI, record): the account data sits in a record marked for ODA; the certificate
records are never marked for ODA (their contents cannot certify themselves). The certificate
data is split over two records, the issuer's (8F, 90, 9F32, 92) and the ICC's (9F46, 9F47,
9F48): a short READ RECORD (Le '00') asks for at most 256 bytes (ISO/IEC 7816-4 5.1, EMV
Book 1 9.4), and the seven data objects together are about 380 bytes with these key sizes.
:func:`build_records` refuses a record longer than that.
"""

from __future__ import annotations

import calendar

from card_emulation.errors import PersonalizationError
from card_emulation.image import CardImage, Fault
from card_emulation.profiles import Profile
from emvcore import tlv
from emvcore.apdu import PPSE_NAME
from emvcore.numeric import encode_cn, encode_n
from emvcore.pan import encode_track2
from emvcore.tags import Tag

Records = dict[tuple[int, int], bytes]

#: Most response data a short command can ask for: Le '00' means Ne = 256 (ISO/IEC 7816-4 5.1).
MAX_RECORD_LENGTH = 256


def expiry_date(yymm: str) -> bytes:
    """Application Expiration Date 5F24 (YYMMDD): the last day of the expiry month."""
    year, month = 2000 + int(yymm[:2]), int(yymm[2:])
    return encode_n(yymm + f"{calendar.monthrange(year, month)[1]:02d}", 3)


def _account(card: CardImage, prof: Profile) -> list[tuple[int, bytes]]:
    items: list[tuple[int, bytes]] = [
        (Tag.PAN, encode_cn(card.token)),
        (Tag.APPLICATION_EXPIRATION_DATE, expiry_date(card.expiry)),
        (Tag.PSN, encode_n(card.psn, 1)),
        (Tag.ISSUER_COUNTRY_CODE, encode_n(prof.issuer_country, 2)),
        (Tag.PAR, card.par.encode("ascii")),
    ]
    if prof.oda:
        items.append((Tag.SDA_TAG_LIST, bytes([Tag.AIP])))
    return items


def _risk(prof: Profile) -> list[tuple[int, bytes]]:
    return [
        (Tag.CDOL1, prof.cdol1),
        # CVM list: X and Y, then: signature if supported; no CVM if supported (Book 3 C3).
        (Tag.CVM_LIST, bytes(8) + bytes.fromhex("1E031F03")),
        (Tag.IAC_DEFAULT, bytes.fromhex("0000000000")),
        (Tag.IAC_DENIAL, bytes.fromhex("0000000000")),
        (Tag.IAC_ONLINE, bytes.fromhex("FC50BCF800")),
        (Tag.APPLICATION_CURRENCY_CODE, encode_n(prof.application_currency, 2)),
    ]


def _certificates(card: CardImage) -> tuple[list[tuple[int, bytes]], list[tuple[int, bytes]]]:
    """The issuer's certificate record (8F, 90, 9F32, 92) and the ICC's (9F46, 9F47, 9F48)."""
    oda = card.oda
    assert oda is not None
    issuer_cert, icc_cert = oda.issuer_certificate, oda.icc_certificate
    if Fault.TAMPER_ISSUER_CERTIFICATE in card.faults:
        issuer_cert = issuer_cert[:20] + bytes([issuer_cert[20] ^ 0x01]) + issuer_cert[21:]
    if Fault.TAMPER_ICC_CERTIFICATE in card.faults:
        icc_cert = icc_cert[:20] + bytes([icc_cert[20] ^ 0x01]) + icc_cert[21:]
    ca_index = 0xEE if Fault.UNKNOWN_CA_INDEX in card.faults else oda.ca_index
    issuer: list[tuple[int, bytes]] = [
        (Tag.CA_PUBLIC_KEY_INDEX, bytes([ca_index])),
        (Tag.ISSUER_PUBLIC_KEY_CERTIFICATE, issuer_cert),
        (Tag.ISSUER_PUBLIC_KEY_EXPONENT, oda.issuer_exponent),
    ]
    if oda.issuer_remainder:
        issuer.append((Tag.ISSUER_PUBLIC_KEY_REMAINDER, oda.issuer_remainder))
    icc: list[tuple[int, bytes]] = [
        (Tag.ICC_PUBLIC_KEY_CERTIFICATE, icc_cert),
        (Tag.ICC_PUBLIC_KEY_EXPONENT, oda.icc_exponent),
    ]
    if oda.icc_remainder:
        icc.append((Tag.ICC_PUBLIC_KEY_REMAINDER, oda.icc_remainder))
    return issuer, icc


def layout(card: CardImage, prof: Profile) -> dict[tuple[int, int], list[tuple[int, bytes]]]:
    """The data objects of each record, by (SFI, record number).

    The certificate records exist once the card has been certified; personalization builds
    the ODA records (which never include them) before that, to certify them.
    """
    with_oda = prof.oda and card.oda is not None
    if prof.cryptogram_in_gpo:
        contents = {(1, 1): _account(card, prof)}
        if with_oda:
            contents[(1, 2)], contents[(1, 3)] = _certificates(card)
        return contents
    contents = {
        (1, 1): [(Tag.TRACK2, encode_track2(card.token, card.expiry))],
        (2, 1): _account(card, prof),
        (2, 2): _risk(prof),
    }
    if with_oda:
        contents[(3, 1)], contents[(3, 2)] = _certificates(card)
    return contents


def afl(prof: Profile) -> bytes:
    """Application File Locator 94: SFI, first, last, records for ODA (Book 3 10.2)."""
    if prof.cryptogram_in_gpo:
        entries = [(1, 1, 3, 1)] if prof.oda else [(1, 1, 1, 0)]
    else:
        entries = [(1, 1, 1, 0), (2, 1, 2, 2 if prof.oda else 0)]
        if prof.oda:
            entries.append((3, 1, 2, 0))
    return b"".join(bytes([sfi << 3, first, last, oda]) for sfi, first, last, oda in entries)


def build_records(card: CardImage, prof: Profile) -> Records:
    """Every record the AFL names, encoded as READ RECORD returns it (tag 70 template)."""
    records = {
        key: tlv.encode(0x70, tlv.encode_many(items)) for key, items in layout(card, prof).items()
    }
    for (sfi, number), record in records.items():
        if len(record) > MAX_RECORD_LENGTH:
            raise PersonalizationError(
                f"record {number} of SFI {sfi} is {len(record)} bytes; a short READ RECORD "
                f"returns at most {MAX_RECORD_LENGTH}"
            )
    if Fault.TAMPER_STATIC_DATA in card.faults:
        # Change the issuer country after certification: the static data no longer match.
        key = (1, 1) if prof.cryptogram_in_gpo else (2, 1)
        records[key] = records[key].replace(encode_n(prof.issuer_country, 2), encode_n(999, 2))
    return records


def oda_records(card: CardImage, prof: Profile) -> list[tuple[int, bytes]]:
    """The records the AFL marks for ODA, in AFL order, as (SFI, record data)."""
    records = build_records(card, prof)
    found = []
    entries = afl(prof)
    for i in range(0, len(entries), 4):
        sfi, first, count = entries[i] >> 3, entries[i + 1], entries[i + 3]
        found += [(sfi, records[(sfi, n)]) for n in range(first, first + count)]
    return found


def ppse_fci(profile: Profile) -> bytes:
    """FCI of the PPSE with the profile's one directory entry (Book B 3.3.2)."""
    entry = tlv.encode_many(
        [
            (Tag.AID, profile.aid),
            (Tag.APPLICATION_LABEL, profile.label.encode("ascii")),
            (Tag.APPLICATION_PRIORITY, bytes([profile.priority])),
            (Tag.KERNEL_IDENTIFIER, bytes([profile.kernel_id])),
        ]
    )
    discretionary = tlv.encode(0xBF0C, tlv.encode(0x61, entry))
    return tlv.encode(0x6F, tlv.encode(0x84, PPSE_NAME) + tlv.encode(0xA5, discretionary))


def application_fci(profile: Profile) -> bytes:
    """FCI of the application (Book 1 11.3.4) with the PDOL when the card has one."""
    proprietary = [
        (Tag.APPLICATION_LABEL, profile.label.encode("ascii")),
        (Tag.APPLICATION_PRIORITY, bytes([profile.priority])),
    ]
    if profile.pdol:
        proprietary.append((Tag.PDOL, profile.pdol))
    return tlv.encode(
        0x6F, tlv.encode(0x84, profile.aid) + tlv.encode(0xA5, tlv.encode_many(proprietary))
    )
