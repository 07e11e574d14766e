"""The card side against ISO/IEC 7816-4 and EMV Book 3: every command, every wrong field.

For every profile, each command the applet knows is first sent as it should be, in the state
where it is allowed (the baseline), then with a wrong CLA, INS, P1-P2, Lc or Le, or out of
order, and the status word is checked against ISO/IEC 7816-4 5.1.3 (Tables 5-6) and EMV
Book 3 6.3.5 and 6.5:

====================  ======================================================================
``6E00``              class not supported: a CLA other than the command's (00 or 80)
``6D00``              instruction not supported (INTERNAL AUTHENTICATE included: this card
                      does fDDA and CDA, never DDA)
``6A86``              incorrect P1-P2
``6700``              wrong length: Lc / data field inconsistent with the command
``6A80``              incorrect data field (GPO data not in an '83' template)
``6A82`` / ``6A83``   READ RECORD: SFI not on the card / record not in the SFI
``6986``              READ RECORD of SFI 0 ("current EF"): the card selects no EF
``6A88``              GET DATA of a data object the card does not hold
``6985``              conditions of use not satisfied: the command out of order
``6Cxx``              wrong Le: xx is the exact length; the re-sent command succeeds
``61xx``              no Le (Ne = 0) but data to return: fetched with GET RESPONSE
====================  ======================================================================

A refused command leaves the transaction where it was: the baseline command still succeeds
after every refusal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest

from card_emulation import PROFILES, EmvApplet, Fault, PersonalizationError
from card_emulation.records import MAX_RECORD_LENGTH, build_records
from emvcore import tlv
from emvcore.apdu import PPSE_NAME, CommandApdu
from emvcore.dol import dol_data_length, parse_dol
from emvcore.keyfile import IssuerKeySet
from tests.card_emulation.support import make_card, split


def _send(applet: EmvApplet, command: CommandApdu | bytes) -> tuple[bytes, int]:
    raw = command.encode() if isinstance(command, CommandApdu) else command
    return split(applet.process_apdu(raw))


def _pdol_data(applet: EmvApplet) -> bytes:
    return bytes(dol_data_length(parse_dol(applet.profile.pdol)))


def _cdol1_data(applet: EmvApplet) -> bytes:
    return bytes(dol_data_length(parse_dol(applet.profile.cdol1)))


def select_ppse(applet: EmvApplet) -> CommandApdu:
    return CommandApdu(0x00, 0xA4, 0x04, 0x00, PPSE_NAME, 256)


def select_aid(applet: EmvApplet) -> CommandApdu:
    return CommandApdu(0x00, 0xA4, 0x04, 0x00, applet.profile.aid, 256)


def gpo(applet: EmvApplet) -> CommandApdu:
    return CommandApdu(0x80, 0xA8, 0x00, 0x00, tlv.encode(0x83, _pdol_data(applet)), 256)


def read_record(applet: EmvApplet) -> CommandApdu:
    return CommandApdu(0x00, 0xB2, 0x01, 0x0C, le=256)


def generate_ac(applet: EmvApplet) -> CommandApdu:
    return CommandApdu(0x80, 0xAE, 0x80, 0x00, _cdol1_data(applet), 256)


def get_data(applet: EmvApplet) -> CommandApdu:
    return CommandApdu(0x80, 0xCA, 0x9F, 0x36, le=256)


def external_authenticate(applet: EmvApplet) -> CommandApdu:
    return CommandApdu(0x00, 0x82, 0x00, 0x00, bytes(8))


def _run(applet: EmvApplet, *steps: Callable[[EmvApplet], CommandApdu]) -> None:
    for step in steps:
        assert _send(applet, step(applet))[1] == 0x9000, step.__name__


def idle(applet: EmvApplet) -> None:
    """A card just powered in the field."""


def ppse_selected(applet: EmvApplet) -> None:
    _run(applet, select_ppse)


def app_selected(applet: EmvApplet) -> None:
    _run(applet, select_ppse, select_aid)


def initiated(applet: EmvApplet) -> None:
    _run(applet, select_ppse, select_aid, gpo)


def cryptogram_issued(applet: EmvApplet) -> None:
    initiated(applet)
    if not applet.profile.cryptogram_in_gpo:
        _run(applet, generate_ac)


@dataclass(frozen=True)
class Command:
    """A command, the state that allows it, and the status word it then answers."""

    build: Callable[[EmvApplet], CommandApdu]
    prepare: Callable[[EmvApplet], None]
    ok: int = 0x9000
    returns_data: bool = True


COMMANDS: dict[str, Command] = {
    "select-ppse": Command(select_ppse, idle),
    "select-aid": Command(select_aid, ppse_selected),
    "gpo": Command(gpo, app_selected),
    "read-record": Command(read_record, initiated),
    "generate-ac": Command(generate_ac, initiated),
    "get-data": Command(get_data, app_selected),
    # A made-up ARPC: the card checks it and says "verification failed" (Book 3 6.5.4.4).
    "external-authenticate": Command(external_authenticate, cryptogram_issued, 0x6300, False),
}


def _applies(profile_name: str, command: str) -> bool:
    # qVSDC: the cryptogram comes with GPO; the card has no GENERATE AC to give (6985 below).
    return not (command == "generate-ac" and PROFILES[profile_name].cryptogram_in_gpo)


PAIRS = [(p, c) for p in sorted(PROFILES) for c in COMMANDS if _applies(p, c)]
IDS = [f"{p}-{c}" for p, c in PAIRS]


@pytest.fixture
def make(keys: IssuerKeySet) -> Callable[[str, str], tuple[EmvApplet, Command]]:
    def prepared(profile_name: str, name: str) -> tuple[EmvApplet, Command]:
        applet = EmvApplet(make_card(keys, profile_name))
        command = COMMANDS[name]
        command.prepare(applet)
        return applet, command

    return prepared


def _still_works(applet: EmvApplet, command: Command) -> None:
    """The refusal changed nothing: the command as it should be is still accepted."""
    assert _send(applet, command.build(applet))[1] == command.ok


@pytest.mark.parametrize(("profile_name", "name"), PAIRS, ids=IDS)
def test_baseline(
    make: Callable[..., tuple[EmvApplet, Command]], profile_name: str, name: str
) -> None:
    applet, command = make(profile_name, name)
    data, sw = _send(applet, command.build(applet))
    assert sw == command.ok
    assert bool(data) is (command.returns_data and sw == 0x9000)


@pytest.mark.parametrize("cla", [0x01, 0x04, 0x0C, 0x10, 0x84, 0x8C, 0xA0, 0xFF, "swapped"])
@pytest.mark.parametrize(("profile_name", "name"), PAIRS, ids=IDS)
def test_wrong_class_is_6e00(
    make: Callable[..., tuple[EmvApplet, Command]], profile_name: str, name: str, cla: int | str
) -> None:
    applet, command = make(profile_name, name)
    good = command.build(applet)
    wrong = good.cla ^ 0x80 if cla == "swapped" else cla
    assert isinstance(wrong, int)
    assert _send(applet, replace(good, cla=wrong)) == (b"", 0x6E00)
    _still_works(applet, command)


#: Instructions ISO/IEC 7816-4 defines that this card does not implement, and invalid ones.
UNKNOWN_INS = [0x88, 0x20, 0x84, 0xB0, 0xD6, 0x2C, 0x2A, 0x70, 0xE2,
               0xB3, 0xA5, 0x00, 0x60, 0x90, 0xFE]  # fmt: skip
#: The issuer script commands (EMV Book 3 6.5) the card implements, with their one class.
SCRIPT_INS = {0x16: 0x84, 0x18: 0x84, 0x1E: 0x84, 0x24: 0x84, 0xDA: 0x04}


#: (INS, a class other than the command's own) for every script command.
OTHER_CLASSES = [
    (ins, cla) for ins in sorted(SCRIPT_INS) for cla in (0x00, 0x80, 0x0C, 0x8C)
    if cla != SCRIPT_INS[ins]
]  # fmt: skip


@pytest.mark.parametrize(("ins", "cla"), OTHER_CLASSES,
                         ids=[f"{i:02X}-{c:02X}" for i, c in OTHER_CLASSES])  # fmt: skip
@pytest.mark.parametrize("profile_name", sorted(PROFILES))
def test_a_script_command_in_another_class_is_6e00(
    make: Callable[..., tuple[EmvApplet, Command]], profile_name: str, cla: int, ins: int
) -> None:
    applet, command = make(profile_name, "read-record")
    assert _send(applet, CommandApdu(cla, ins, 0x00, 0x00, bytes(8))) == (b"", 0x6E00)
    _still_works(applet, command)


@pytest.mark.parametrize("ins", sorted(SCRIPT_INS), ids=[f"{i:02X}" for i in sorted(SCRIPT_INS)])
@pytest.mark.parametrize("profile_name", sorted(PROFILES))
def test_a_script_command_without_an_arqc_is_6985(
    make: Callable[..., tuple[EmvApplet, Command]], profile_name: str, ins: int
) -> None:
    """Secure messaging keys come from the transaction's ARQC: none yet, nothing to check."""
    applet, _ = make(profile_name, "select-aid")
    assert _send(applet, CommandApdu(SCRIPT_INS[ins], ins, 0x00, 0x00, bytes(8))) == (
        b"",
        0x6985,
    )


@pytest.mark.parametrize("ins", UNKNOWN_INS, ids=[f"{i:02X}" for i in UNKNOWN_INS])
@pytest.mark.parametrize("cla", [0x00, 0x80])
@pytest.mark.parametrize("profile_name", sorted(PROFILES))
def test_unknown_instruction_is_6d00(
    make: Callable[..., tuple[EmvApplet, Command]], profile_name: str, cla: int, ins: int
) -> None:
    applet, command = make(profile_name, "read-record")
    assert _send(applet, CommandApdu(cla, ins, 0x00, 0x00, le=256)) == (b"", 0x6D00)
    assert _send(applet, CommandApdu(cla, ins, 0x00, 0x00, b"\x01\x02", 256)) == (b"", 0x6D00)
    _still_works(applet, command)


#: (command, P1, P2, status word): parameters the command does not accept.
WRONG_P1P2: list[tuple[str, int, int, int]] = [
    *(("select-aid", p1, p2, 0x6A86) for p1, p2 in ((0x00, 0x00), (0x02, 0x00), (0x08, 0x00),
                                                     (0x04, 0x01), (0x04, 0x0C), (0x04, 0x03))),
    *(("gpo", p1, p2, 0x6A86) for p1, p2 in ((0x01, 0x00), (0x00, 0x01), (0xFF, 0xFF))),
    # READ RECORD P2: b3-b1 must be 100 ("record number in P1"); SFI 31 is RFU.
    *(("read-record", 0x01, p2, 0x6A86) for p2 in (0x08, 0x0D, 0x0E, 0x0F, 0x0B, 0xFC)),
    ("read-record", 0x01, 0x04, 0x6986),  # SFI 0: the current EF, and none is selected
    ("read-record", 0x01, (10 << 3) | 4, 0x6A82),  # an SFI the card does not have
    ("read-record", 0x01, (30 << 3) | 4, 0x6A82),
    ("read-record", 0x00, 0x0C, 0x6A83),  # record 0 of SFI 1
    ("read-record", 0x09, 0x0C, 0x6A83),  # record 9 of SFI 1
    # GENERATE AC P1: b8-b7 = 11 is RFU; b6 and b4-b1 are RFU; P2 is 00 (Book 3 Table 12).
    *(("generate-ac", p1, 0x00, 0x6A86) for p1 in (0xC0, 0xA0, 0x88, 0x84, 0x82, 0x81)),
    ("generate-ac", 0x80, 0x01, 0x6A86),
    # GET DATA of objects this card does not hold (Book 3 6.5.7: 9F13, 9F17, 9F4F ...).
    *(("get-data", p1, p2, 0x6A88) for p1, p2 in ((0x9F, 0x13), (0x9F, 0x17), (0x9F, 0x4F),
                                                   (0x00, 0x5A), (0x00, 0x00))),
    *(("external-authenticate", p1, p2, 0x6A86) for p1, p2 in ((0x01, 0x00), (0x00, 0x01))),
]  # fmt: skip
P1P2_CASES = [(p, *case) for p in sorted(PROFILES) for case in WRONG_P1P2 if _applies(p, case[0])]


@pytest.mark.parametrize(
    ("profile_name", "name", "p1", "p2", "sw"),
    P1P2_CASES,
    ids=[f"{p}-{n}-{p1:02X}{p2:02X}" for p, n, p1, p2, _ in P1P2_CASES],
)
def test_wrong_p1_p2(
    make: Callable[..., tuple[EmvApplet, Command]],
    profile_name: str, name: str, p1: int, p2: int, sw: int,
) -> None:  # fmt: skip
    applet, command = make(profile_name, name)
    assert _send(applet, replace(command.build(applet), p1=p1, p2=p2)) == (b"", sw)
    _still_works(applet, command)


def _data_variants(applet: EmvApplet, name: str) -> list[tuple[bytes | None, int]]:
    """(data field, status word) for each wrong data field of a command (None: no Lc)."""
    if name in ("select-ppse", "select-aid"):
        return [(bytes(17), 0x6700)]  # a DF name is at most 16 bytes
    if name == "gpo":
        pdol = _pdol_data(applet)
        return [
            (None, 0x6700),  # the '83' template is mandatory
            (tlv.encode(0x83, pdol + b"\x00"), 0x6700),  # not the PDOL's length
            *([(tlv.encode(0x83, pdol[:-1]), 0x6700)] if pdol else []),
            (tlv.encode(0x82, pdol), 0x6A80),  # not an '83' template
        ]
    if name in ("read-record", "get-data"):
        return [(b"\x00", 0x6700), (bytes(4), 0x6700)]  # case 2 commands carry no data
    if name == "generate-ac":
        cdol1 = _cdol1_data(applet)
        return [(None, 0x6700), (cdol1[:-1], 0x6700), (cdol1 + b"\x00", 0x6700)]
    assert name == "external-authenticate"
    return [(None, 0x6700), (bytes(7), 0x6700), (bytes(17), 0x6700)]  # 8 to 16 bytes


@pytest.mark.parametrize(("profile_name", "name"), PAIRS, ids=IDS)
def test_wrong_data_field_length(
    make: Callable[..., tuple[EmvApplet, Command]], profile_name: str, name: str
) -> None:
    applet, _ = make(profile_name, name)
    for data, sw in _data_variants(applet, name):
        applet, command = make(profile_name, name)  # each refusal on a fresh card
        wrong = replace(command.build(applet), data=data or b"")
        assert _send(applet, wrong) == (b"", sw), (data, hex(sw))
        _still_works(applet, command)


@pytest.mark.parametrize(
    "raw",
    ["00B2", "00B20C", "00A4040005A0000000", "00A4040002A000000000", "00B2010C000000AA",
     "00A40400000003A0"],
    ids=["2-bytes", "3-bytes", "lc-past-the-end", "lc-short-of-the-end", "extended-lc-0000",
         "extended-lc-past-the-end"],
)  # fmt: skip
@pytest.mark.parametrize("profile_name", sorted(PROFILES))
def test_malformed_apdu_is_6700(
    make: Callable[..., tuple[EmvApplet, Command]], profile_name: str, raw: str
) -> None:
    applet, command = make(profile_name, "read-record")
    assert _send(applet, bytes.fromhex(raw)) == (b"", 0x6700)
    _still_works(applet, command)


DATA_PAIRS = [(p, c) for p, c in PAIRS if COMMANDS[c].returns_data]
DATA_IDS = [f"{p}-{c}" for p, c in DATA_PAIRS]


def _full_length(
    make: Callable[..., tuple[EmvApplet, Command]], profile_name: str, name: str
) -> int:
    applet, command = make(profile_name, name)
    data, sw = _send(applet, command.build(applet))
    assert sw == 0x9000
    return len(data)


@pytest.mark.parametrize(("profile_name", "name"), DATA_PAIRS, ids=DATA_IDS)
def test_le_shorter_than_the_data_is_6cxx_with_the_exact_length(
    make: Callable[..., tuple[EmvApplet, Command]], profile_name: str, name: str
) -> None:
    length = _full_length(make, profile_name, name)
    for le in sorted({1, 4, length - 1}):
        applet, command = make(profile_name, name)
        good = command.build(applet)
        assert _send(applet, replace(good, le=le)) == (b"", 0x6C00 | (length & 0xFF))
        # ISO/IEC 7816-4 5.3.4: re-send with Le = SW2; the refused command changed nothing.
        data, sw = _send(applet, replace(good, le=length))
        assert (len(data), sw) == (length, 0x9000)


@pytest.mark.parametrize("le", [256, 65536], ids=["short-00", "extended-0000"])
@pytest.mark.parametrize(("profile_name", "name"), DATA_PAIRS, ids=DATA_IDS)
def test_le_at_least_the_data_returns_it_all(
    make: Callable[..., tuple[EmvApplet, Command]], profile_name: str, name: str, le: int
) -> None:
    length = _full_length(make, profile_name, name)
    applet, command = make(profile_name, name)
    data, sw = _send(applet, replace(command.build(applet), le=le))
    assert (len(data), sw) == (length, 0x9000)


def _get_response(le: int) -> CommandApdu:
    return CommandApdu(0x00, 0xC0, 0x00, 0x00, le=le)


@pytest.mark.parametrize(("profile_name", "name"), DATA_PAIRS, ids=DATA_IDS)
def test_no_le_is_61xx_and_get_response_gives_the_data(
    make: Callable[..., tuple[EmvApplet, Command]], profile_name: str, name: str
) -> None:
    length = _full_length(make, profile_name, name)
    applet, command = make(profile_name, name)
    good = command.build(applet)
    assert _send(applet, replace(good, le=None)) == (b"", 0x6100 | (length & 0xFF))
    first, sw = _send(applet, _get_response(3))  # fewer than announced: the rest stays
    assert (len(first), sw) == (3, 0x6100 | ((length - 3) & 0xFF))
    rest, sw = _send(applet, _get_response(length - 3))
    assert (len(first + rest), sw) == (length, 0x9000)
    tlv.decode_one(first + rest)  # the response, whole
    assert _send(applet, _get_response(256)) == (b"", 0x6985)  # nothing left to fetch


@pytest.mark.parametrize("profile_name", sorted(PROFILES))
def test_get_response_refusals(
    make: Callable[..., tuple[EmvApplet, Command]], profile_name: str
) -> None:
    applet, command = make(profile_name, "get-data")
    assert _send(applet, _get_response(256)) == (b"", 0x6985)  # nothing announced
    assert _send(applet, replace(command.build(applet), le=None))[1] == 0x6105
    # A malformed GET RESPONSE is refused and the data still waits for a proper one.
    assert _send(applet, replace(_get_response(5), p1=1)) == (b"", 0x6A86)
    assert _send(applet, replace(_get_response(5), data=b"\x00")) == (b"", 0x6700)
    assert _send(applet, _get_response(5)) == (bytes.fromhex("9F36020000"), 0x9000)
    # Any other command, even a refused one, discards it.
    for other in (command.build(applet), replace(_get_response(5), cla=0x80)):
        assert _send(applet, replace(command.build(applet), le=None))[1] == 0x6105
        assert _send(applet, other)[1] in (0x9000, 0x6D00)
        assert _send(applet, _get_response(5)) == (b"", 0x6985)


#: (command, state it is sent in): each out of order is "conditions of use not satisfied".
OUT_OF_ORDER: list[tuple[str, Callable[[EmvApplet], None]]] = [
    ("gpo", idle),
    ("gpo", ppse_selected),
    ("gpo", initiated),  # a second GPO
    ("read-record", idle),
    ("read-record", app_selected),
    ("generate-ac", app_selected),
    ("generate-ac", cryptogram_issued),  # a second GENERATE AC: this card is online-only
    ("get-data", idle),
    ("external-authenticate", app_selected),
]
ORDER_CASES = [
    (p, name, state) for p in sorted(PROFILES) for name, state in OUT_OF_ORDER if _applies(p, name)
]


@pytest.mark.parametrize(
    ("profile_name", "name", "state"),
    ORDER_CASES,
    ids=[f"{p}-{n}-in-{s.__name__}" for p, n, s in ORDER_CASES],
)
def test_out_of_order_is_6985(
    keys: IssuerKeySet, profile_name: str, name: str, state: Callable[[EmvApplet], None]
) -> None:
    applet = EmvApplet(make_card(keys, profile_name))
    state(applet)
    atc = applet.card.atc
    assert _send(applet, COMMANDS[name].build(applet)) == (b"", 0x6985)
    assert applet.card.atc == atc  # no cryptogram was made


@pytest.mark.parametrize(
    "profile_name", [p for p in sorted(PROFILES) if PROFILES[p].cryptogram_in_gpo]
)
def test_generate_ac_on_a_qvsdc_card_is_6985(keys: IssuerKeySet, profile_name: str) -> None:
    applet = EmvApplet(make_card(keys, profile_name))
    initiated(applet)
    assert _send(applet, generate_ac(applet)) == (b"", 0x6985)


CARDS = [(p, f) for p in sorted(PROFILES) for f in (None, *sorted(Fault))]


@pytest.mark.parametrize(
    ("profile_name", "fault"), CARDS, ids=[f"{p}-{f or 'genuine'}" for p, f in CARDS]
)
def test_every_record_of_every_card_fits_a_short_read_record(
    keys: IssuerKeySet, profile_name: str, fault: Fault | None
) -> None:
    card = make_card(keys, profile_name, faults=frozenset({fault}) if fault else frozenset())
    records = build_records(card, PROFILES[profile_name])
    assert len(records) >= 2
    assert max(len(r) for r in records.values()) <= MAX_RECORD_LENGTH


def test_a_record_over_256_bytes_is_refused_at_personalization(keys: IssuerKeySet) -> None:
    card = make_card(keys, "mastercard")
    assert card.oda is not None
    huge = replace(card, oda=replace(card.oda, icc_remainder=bytes(200)))
    with pytest.raises(
        PersonalizationError, match=r"record 2 of SFI 3 is \d+ bytes; .* at most 256"
    ):
        build_records(huge, PROFILES["mastercard"])
