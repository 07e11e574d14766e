"""The records a card's AFL points at, built from its image and profile.

Both personalization (which certifies the static data of the records marked for offline
data authentication) and the applet (which serves them with READ RECORD) build records
here, so the certified data and the served data cannot drift apart.

Layouts (SFI, record): the account data sits in a record marked for ODA; the certificate
record is never marked for ODA (its contents cannot certify themselves).
"""

from __future__ import annotations

import calendar

from card_emulation.image import CardImage, Fault
from card_emulation.profiles import Profile
from emvcore import tlv
from emvcore.numeric import encode_cn, encode_n
from emvcore.pan import encode_track2
from emvcore.tags import Tag

Records = dict[tuple[int, int], bytes]


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


def _certificates(card: CardImage) -> list[tuple[int, bytes]]:
    oda = card.oda
    assert oda is not None
    issuer_cert, icc_cert = oda.issuer_certificate, oda.icc_certificate
    if Fault.TAMPER_ISSUER_CERTIFICATE in card.faults:
        issuer_cert = issuer_cert[:20] + bytes([issuer_cert[20] ^ 0x01]) + issuer_cert[21:]
    if Fault.TAMPER_ICC_CERTIFICATE in card.faults:
        icc_cert = icc_cert[:20] + bytes([icc_cert[20] ^ 0x01]) + icc_cert[21:]
    ca_index = 0xEE if Fault.UNKNOWN_CA_INDEX in card.faults else oda.ca_index
    items: list[tuple[int, bytes]] = [
        (Tag.CA_PUBLIC_KEY_INDEX, bytes([ca_index])),
        (Tag.ISSUER_PUBLIC_KEY_CERTIFICATE, issuer_cert),
        (Tag.ISSUER_PUBLIC_KEY_EXPONENT, oda.issuer_exponent),
        (Tag.ICC_PUBLIC_KEY_CERTIFICATE, icc_cert),
        (Tag.ICC_PUBLIC_KEY_EXPONENT, oda.icc_exponent),
    ]
    if oda.issuer_remainder:
        items.append((Tag.ISSUER_PUBLIC_KEY_REMAINDER, oda.issuer_remainder))
    if oda.icc_remainder:
        items.append((Tag.ICC_PUBLIC_KEY_REMAINDER, oda.icc_remainder))
    return items


def layout(card: CardImage, prof: Profile) -> dict[tuple[int, int], list[tuple[int, bytes]]]:
    """The data objects of each record, by (SFI, record number).

    The certificate record exists once the card has been certified; personalization builds
    the ODA records (which never include it) before that, to certify them.
    """
    with_oda = prof.oda and card.oda is not None
    if prof.cryptogram_in_gpo:
        contents = {(1, 1): _account(card, prof)}
        if with_oda:
            contents[(1, 2)] = _certificates(card)
        return contents
    contents = {
        (1, 1): [(Tag.TRACK2, encode_track2(card.token, card.expiry))],
        (2, 1): _account(card, prof),
        (2, 2): _risk(prof),
    }
    if with_oda:
        contents[(3, 1)] = _certificates(card)
    return contents


def afl(prof: Profile) -> bytes:
    """Application File Locator 94: SFI, first, last, records for ODA (Book 3 10.2)."""
    if prof.cryptogram_in_gpo:
        entries = [(1, 1, 2, 1)] if prof.oda else [(1, 1, 1, 0)]
    else:
        entries = [(1, 1, 1, 0), (2, 1, 2, 2 if prof.oda else 0)]
        if prof.oda:
            entries.append((3, 1, 1, 0))
    return b"".join(bytes([sfi << 3, first, last, oda]) for sfi, first, last, oda in entries)


def build_records(card: CardImage, prof: Profile) -> Records:
    """Every record the AFL names, encoded as READ RECORD returns it (tag 70 template)."""
    records = {
        key: tlv.encode(0x70, tlv.encode_many(items)) for key, items in layout(card, prof).items()
    }
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
