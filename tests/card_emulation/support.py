"""Plain helpers shared by the card_emulation and terminal tests (fixtures live in conftest)."""

from __future__ import annotations

from dataclasses import replace

from card_emulation import CardImage, Fault, personalize, profile
from emvcore import tlv
from emvcore.keyfile import IssuerKeySet
from emvcore.pan import luhn_check_digit
from emvcore.provisioning import TokenRecord

#: Test token BIN ranges of emvcore.keyfile.TEST_RANGES.
BINS = {"visa": "48953700", "mastercard": "53998300"}
PAR = "T001TESTPAR" + "0" * 17 + "1"  # 29 characters

#: Terminal data objects a PDOL or CDOL1 asks for, fixed so every value can be asserted.
TERMINAL = {
    0x9F66: bytes.fromhex("26804000"),
    0x9F02: bytes.fromhex("000000001250"),
    0x9F03: bytes.fromhex("000000000000"),
    0x9F1A: bytes.fromhex("0528"),
    0x95: bytes.fromhex("0000000000"),
    0x5F2A: bytes.fromhex("0978"),
    0x9A: bytes.fromhex("261122"),
    0x9C: bytes.fromhex("00"),
    0x9F37: bytes.fromhex("11223344"),
    0x9F35: bytes.fromhex("22"),
    0x9F34: bytes.fromhex("3F0000"),
}
#: The terminal tags every cryptogram covers (EMV Book 2 8.1.1), in order.
AC_TERMINAL_TAGS = (0x9F02, 0x9F03, 0x9F1A, 0x95, 0x5F2A, 0x9A, 0x9C, 0x9F37)

#: PDOL data for the visa profile's PDOL, in list order (33 bytes).
VISA_PDOL_DATA = b"".join(
    TERMINAL[t] for t in (0x9F66, 0x9F02, 0x9F03, 0x9F1A, 0x95, 0x5F2A, 0x9A, 0x9C, 0x9F37)
)
#: CDOL1 data for the mastercard profile's CDOL1, in list order (29 bytes).
MASTERCARD_CDOL1_DATA = b"".join(
    TERMINAL[t] for t in (0x9F02, 0x9F03, 0x9F1A, 0x95, 0x5F2A, 0x9A, 0x9C, 0x9F37, 0x9F35, 0x9F34)
)


def make_token(scheme: str, serial: int = 1234567, length: int = 16) -> str:
    """A Luhn-valid token in the scheme's test BIN range."""
    prefix = BINS[scheme]
    body = prefix + str(serial).zfill(length - len(prefix) - 1)
    return body + luhn_check_digit(body)


def token_record(
    scheme: str, serial: int = 1234567, *, length: int = 16, test: bool = True
) -> TokenRecord:
    return TokenRecord(make_token(scheme, serial, length), "2912", "01", PAR, scheme, test)


#: Personalized images by (issuer key set, profile, name, serial, faults): personalization
#: makes RSA keys (about 100 ms a card), so each distinct card is made once per session and
#: every test gets a fresh :class:`~card_emulation.EmvApplet` over the cached, immutable image.
_IMAGES: dict[tuple[int, str, str, int, frozenset[Fault]], tuple[IssuerKeySet, CardImage]] = {}


def make_card(
    keys: IssuerKeySet,
    profile_name: str,
    *,
    name: str | None = None,
    serial: int = 1234567,
    atc: int = 0,
    tamper: bool = False,
    faults: frozenset[Fault] = frozenset(),
) -> CardImage:
    """A personalized card image, cached per session (``atc`` applied to a copy)."""
    if tamper:
        faults = faults | {Fault.TAMPER_CRYPTOGRAM}
    name = name or f"test-{profile_name}"
    key = (id(keys), profile_name, name, serial, frozenset(faults))
    cached = _IMAGES.get(key)
    if cached is None or cached[0] is not keys:
        record = token_record(profile(profile_name).scheme, serial)
        image = personalize(name, profile_name, record, keys, faults=faults)
        _IMAGES[key] = cached = (keys, image)
    card = cached[1]
    return replace(card, atc=atc) if atc else card


def split(response: bytes) -> tuple[bytes, int]:
    """(data, status word) of a response APDU."""
    assert len(response) >= 2
    return response[:-2], int.from_bytes(response[-2:], "big")


def gpo_command(pdol_data: bytes) -> bytes:
    body = tlv.encode(0x83, pdol_data)
    return bytes.fromhex("80A80000") + bytes([len(body)]) + body + b"\x00"


def generate_ac_command(cdol1_data: bytes, p1: int = 0x80) -> bytes:
    return bytes([0x80, 0xAE, p1, 0x00, len(cdol1_data)]) + cdol1_data + b"\x00"


def external_authenticate_command(data: bytes) -> bytes:
    return bytes([0x00, 0x82, 0x00, 0x00, len(data)]) + data


def ac_data(terminal: dict[int, bytes], aip: bytes, atc: bytes, iad: bytes) -> dict[int, bytes]:
    """The transaction data a cryptogram covers: terminal tags, then AIP, ATC and IAD."""
    data = {tag: terminal[tag] for tag in AC_TERMINAL_TAGS}
    data.update({0x82: aip, 0x9F36: atc, 0x9F10: iad})
    return data
