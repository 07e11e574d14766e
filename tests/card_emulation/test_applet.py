"""EmvApplet.process_apdu: the happy sequences, every refusal, the ATC and the tamper fault."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from card_emulation import CardImage, EmvApplet, State
from card_emulation import profiles as profiles_module
from emvcore import tlv
from emvcore.crypto.cvn import cryptogram_version
from emvcore.keyfile import IssuerKeySet
from emvcore.numeric import encode_cn
from emvcore.pan import encode_track2
from tests.card_emulation.support import (
    MASTERCARD_CDOL1_DATA,
    PAR,
    TERMINAL,
    VISA_PDOL_DATA,
    ac_data,
    external_authenticate_command,
    generate_ac_command,
    gpo_command,
    make_card,
    split,
)

SELECT_PPSE = bytes.fromhex("00A404000E325041592E5359532E444446303100")
VISA_AID = bytes.fromhex("A0000000031010")
MASTERCARD_AID = bytes.fromhex("A0000000041010")
GET_DATA_ATC = bytes.fromhex("80CA9F3600")
EMPTY_GPO = bytes.fromhex("80A8000002830000")


def select(aid: bytes, p1: int = 0x04, p2: int = 0x00) -> bytes:
    return bytes([0x00, 0xA4, p1, p2, len(aid)]) + aid + b"\x00"


def read_record(sfi: int, number: int) -> bytes:
    return bytes([0x00, 0xB2, number, (sfi << 3) | 4, 0x00])


def send(applet: EmvApplet, command: bytes) -> tuple[bytes, int]:
    return split(applet.process_apdu(command))


def ok(applet: EmvApplet, command: bytes) -> bytes:
    data, sw = send(applet, command)
    assert sw == 0x9000, f"{command.hex()} -> {sw:04X}"
    return data


def initiate(applet: EmvApplet) -> dict[int, bytes]:
    """SELECT PPSE, SELECT AID, GPO; the flattened GPO response."""
    ok(applet, SELECT_PPSE)
    ok(applet, select(applet.profile.aid))
    pdol_data = VISA_PDOL_DATA if applet.profile.name == "visa" else b""
    return tlv.flatten(tlv.decode_one(ok(applet, gpo_command(pdol_data))).value)


def arqc_of(applet: EmvApplet) -> tuple[bytes, dict[int, bytes]]:
    """Run a transaction up to the ARQC; the cryptogram and the data it covers."""
    gpo = initiate(applet)
    if applet.profile.name == "visa":
        issued = gpo
    else:
        issued = tlv.flatten(
            tlv.decode_one(ok(applet, generate_ac_command(MASTERCARD_CDOL1_DATA))).value
        )
    data = ac_data(TERMINAL, gpo[0x82], issued[0x9F36], issued[0x9F10])
    return issued[0x9F26], data


# -- the happy sequences --------------------------------------------------------------------


def test_select_ppse_fci_visa(visa_card: CardImage) -> None:
    data = ok(EmvApplet(visa_card), SELECT_PPSE)
    assert data.hex().upper() == (
        "6F34840E325041592E5359532E4444463031A522BF0C1F611D"
        "4F07A0000000031010500B5649534120435245444954870101"
        "9F2A0103"
    )
    entry = tlv.flatten(tlv.find(data, 0x61) or b"")
    assert entry == {0x4F: VISA_AID, 0x50: b"VISA CREDIT", 0x87: b"\x01", 0x9F2A: b"\x03"}


def test_select_ppse_fci_mastercard(mastercard_card: CardImage) -> None:
    data = ok(EmvApplet(mastercard_card), SELECT_PPSE)
    entry = tlv.flatten(tlv.find(data, 0x61) or b"")
    assert entry == {0x4F: MASTERCARD_AID, 0x50: b"MASTERCARD", 0x87: b"\x02", 0x9F2A: b"\x02"}
    assert tlv.find(data, 0x84) == b"2PAY.SYS.DDF01"


def test_select_aid_fci_visa_has_the_pdol(visa_card: CardImage) -> None:
    applet = EmvApplet(visa_card)
    data = ok(applet, select(VISA_AID))
    assert data.hex().upper() == (
        "6F368407A0000000031010A52B500B5649534120435245444954870101"
        "9F38189F66049F02069F03069F1A0295055F2A029A039C019F3704"
    )
    assert applet.state is State.APP_SELECTED


def test_select_aid_fci_mastercard_has_no_pdol(mastercard_card: CardImage) -> None:
    data = ok(EmvApplet(mastercard_card), select(MASTERCARD_AID))
    assert tlv.flatten(tlv.decode_one(data).value) == {
        0x84: MASTERCARD_AID,
        0x50: b"MASTERCARD",
        0x87: b"\x02",
    }


def test_visa_full_sequence(visa_card: CardImage) -> None:
    applet = EmvApplet(visa_card)
    version = cryptogram_version("visa-cvn18")
    gpo = initiate(applet)
    assert applet.state is State.INITIATED
    # fDDA: the Signed Dynamic Application Data (9F4B) and 9F69 come with the cryptogram.
    assert set(gpo) == {0x82, 0x94, 0x57, 0x9F27, 0x9F36, 0x9F26, 0x9F10, 0x9F6C, 0x9F4B, 0x9F69}
    assert gpo[0x82] == bytes.fromhex("2000")
    # SFI 1 records 1-3 (account; issuer certificate; ICC certificate), record 1 for ODA.
    assert gpo[0x94] == bytes.fromhex("08010301")
    assert gpo[0x57] == encode_track2(visa_card.token, "2912")
    assert gpo[0x9F27] == b"\x80"
    assert gpo[0x9F36] == b"\x00\x01"
    assert gpo[0x9F10] == bytes.fromhex("06011203A00000")
    assert gpo[0x9F6C] == b"\x00\x00"
    data = ac_data(TERMINAL, gpo[0x82], gpo[0x9F36], gpo[0x9F10])
    assert version.verify_ac(visa_card.icc_mk, data, gpo[0x9F26])

    record = tlv.decode_one(ok(applet, read_record(1, 1)))
    assert record.tag == 0x70
    assert tlv.flatten(record.value) == {
        0x5A: encode_cn(visa_card.token),
        0x5F24: bytes.fromhex("291231"),
        0x5F34: b"\x01",
        0x5F28: bytes.fromhex("0528"),
        0x9F24: PAR.encode(),
        0x9F4A: b"\x82",  # SDA Tag List: the AIP is signed too
    }
    issuer = tlv.flatten(tlv.decode_one(ok(applet, read_record(1, 2))).value)
    assert set(issuer) == {0x8F, 0x90, 0x9F32, 0x92}
    icc = tlv.flatten(tlv.decode_one(ok(applet, read_record(1, 3))).value)
    assert set(icc) == {0x9F46, 0x9F47, 0x9F48}
    assert ok(applet, GET_DATA_ATC) == bytes.fromhex("9F36020001")

    tag_91 = version.issuer_authentication_data(
        visa_card.icc_mk, data, gpo[0x9F26], approved=True, arc=b"00"
    )
    assert len(tag_91) == 8
    assert send(applet, external_authenticate_command(tag_91)) == (b"", 0x9000)
    assert applet.state is State.FINISHED


def test_mastercard_full_sequence(mastercard_card: CardImage) -> None:
    applet = EmvApplet(mastercard_card)
    version = cryptogram_version("mastercard-cvn17")
    gpo = initiate(applet)
    # AIP: cardholder verification, terminal risk management, CDA; AFL: SFI 1, SFI 2 (both
    # records for ODA), SFI 3 the issuer's and the ICC's certificates.
    assert gpo == {
        0x82: bytes.fromhex("1980"),
        0x94: bytes.fromhex("080101001001020218010200"),
    }
    assert mastercard_card.atc == 0 and applet.card.atc == 0  # no cryptogram yet

    records = {
        (sfi, n): tlv.flatten(tlv.decode_one(ok(applet, read_record(sfi, n))).value)
        for sfi, n in ((1, 1), (2, 1), (2, 2))
    }
    assert records[(1, 1)] == {0x57: encode_track2(mastercard_card.token, "2912")}
    assert records[(2, 1)][0x5A] == encode_cn(mastercard_card.token)
    assert records[(2, 1)][0x9F24] == PAR.encode()
    assert records[(2, 2)][0x8C] == bytes.fromhex(
        "9F02069F03069F1A0295055F2A029A039C019F37049F35019F3403"
    )
    assert records[(2, 2)][0x9F42] == bytes.fromhex("0978")

    response = tlv.decode_one(ok(applet, generate_ac_command(MASTERCARD_CDOL1_DATA)))
    assert response.tag == 0x77
    issued = tlv.flatten(response.value)
    assert issued[0x9F27] == b"\x80"
    assert issued[0x9F36] == b"\x00\x01"
    assert issued[0x9F10] == bytes.fromhex("0111A0000000000000000000000000000000")
    assert applet.state is State.CRYPTOGRAM_ISSUED
    data = ac_data(TERMINAL, gpo[0x82], issued[0x9F36], issued[0x9F10])
    assert version.verify_ac(mastercard_card.icc_mk, data, issued[0x9F26])
    assert ok(applet, GET_DATA_ATC) == bytes.fromhex("9F36020001")

    tag_91 = version.issuer_authentication_data(
        mastercard_card.icc_mk, data, issued[0x9F26], approved=True, arc=b"00"
    )
    assert tag_91[8:] == b"00"
    assert send(applet, external_authenticate_command(tag_91)) == (b"", 0x9000)


def test_wrong_issuer_authentication_data_is_refused(applet: EmvApplet) -> None:
    arqc, data = arqc_of(applet)
    tag_91 = applet.cvn.issuer_authentication_data(
        applet.card.icc_mk, data, arqc, approved=True, arc=b"00"
    )
    flipped = bytes([tag_91[0] ^ 0x80]) + tag_91[1:]
    assert send(applet, external_authenticate_command(flipped)) == (b"", 0x6300)
    # Once answered, the card does not take a second try.
    assert send(applet, external_authenticate_command(tag_91)) == (b"", 0x6985)


def test_tag_91_for_another_arqc_is_refused(applet: EmvApplet) -> None:
    _, data = arqc_of(applet)
    other = bytes(8)
    tag_91 = applet.cvn.issuer_authentication_data(
        applet.card.icc_mk, data, other, approved=True, arc=b"00"
    )
    assert send(applet, external_authenticate_command(tag_91))[1] == 0x6300


def test_partial_aid_selection_by_a_five_byte_prefix(applet: EmvApplet) -> None:
    data = ok(applet, select(applet.profile.aid[:5]))
    assert tlv.find(data, 0x84) == applet.profile.aid
    assert applet.state is State.APP_SELECTED


# -- refusals ---------------------------------------------------------------------------------


def test_gpo_before_select_is_6985(applet: EmvApplet) -> None:
    pdol_data = VISA_PDOL_DATA if applet.profile.name == "visa" else b""
    assert send(applet, gpo_command(pdol_data))[1] == 0x6985
    ok(applet, SELECT_PPSE)
    assert send(applet, gpo_command(pdol_data))[1] == 0x6985  # PPSE is not an application


def test_read_record_before_gpo_is_6985(applet: EmvApplet) -> None:
    assert send(applet, read_record(1, 1))[1] == 0x6985
    ok(applet, select(applet.profile.aid))
    assert send(applet, read_record(1, 1))[1] == 0x6985


def test_generate_ac_twice_is_6985(mastercard_card: CardImage) -> None:
    applet = EmvApplet(mastercard_card)
    initiate(applet)
    ok(applet, generate_ac_command(MASTERCARD_CDOL1_DATA))
    assert send(applet, generate_ac_command(MASTERCARD_CDOL1_DATA)) == (b"", 0x6985)
    assert applet.card.atc == 1


def test_generate_ac_on_the_qvsdc_path_is_6985(visa_card: CardImage) -> None:
    applet = EmvApplet(visa_card)
    initiate(applet)
    assert send(applet, generate_ac_command(MASTERCARD_CDOL1_DATA))[1] == 0x6985


def test_generate_ac_before_gpo_is_6985(mastercard_card: CardImage) -> None:
    applet = EmvApplet(mastercard_card)
    ok(applet, select(MASTERCARD_AID))
    assert send(applet, generate_ac_command(MASTERCARD_CDOL1_DATA))[1] == 0x6985


def test_external_authenticate_without_an_arqc_is_6985(mastercard_card: CardImage) -> None:
    applet = EmvApplet(mastercard_card)
    command = external_authenticate_command(bytes(10))
    assert send(applet, command)[1] == 0x6985
    initiate(applet)  # GPO made, no GENERATE AC yet
    assert send(applet, command)[1] == 0x6985


def test_external_authenticate_after_an_aac_is_6985(mastercard_card: CardImage) -> None:
    applet = EmvApplet(mastercard_card)
    initiate(applet)
    issued = tlv.flatten(
        tlv.decode_one(ok(applet, generate_ac_command(MASTERCARD_CDOL1_DATA, p1=0x00))).value
    )
    assert issued[0x9F27] == b"\x00"
    assert send(applet, external_authenticate_command(bytes(10)))[1] == 0x6985


def test_tc_request_is_answered_with_an_arqc(mastercard_card: CardImage) -> None:
    applet = EmvApplet(mastercard_card)
    initiate(applet)
    issued = tlv.flatten(
        tlv.decode_one(ok(applet, generate_ac_command(MASTERCARD_CDOL1_DATA, p1=0x40))).value
    )
    assert issued[0x9F27] == b"\x80"


@pytest.mark.parametrize("length", [0, 1, 32, 34])
def test_wrong_pdol_data_length_is_6700(visa_card: CardImage, length: int) -> None:
    applet = EmvApplet(visa_card)
    ok(applet, select(VISA_AID))
    assert send(applet, gpo_command(bytes(length))) == (b"", 0x6700)
    assert visa_card.atc == applet.card.atc == 0


def test_pdol_data_for_a_card_without_pdol_is_6700(mastercard_card: CardImage) -> None:
    applet = EmvApplet(mastercard_card)
    ok(applet, select(MASTERCARD_AID))
    assert send(applet, gpo_command(b"\x00"))[1] == 0x6700


@pytest.mark.parametrize("length", [0, 32, 34])
def test_wrong_cdol1_data_length_is_6700(mastercard_card: CardImage, length: int) -> None:
    applet = EmvApplet(mastercard_card)
    initiate(applet)
    command = generate_ac_command(bytes(length)) if length else bytes.fromhex("80AE800000")
    assert send(applet, command)[1] == 0x6700
    assert applet.card.atc == 0


@pytest.mark.parametrize(
    "command",
    ["80A8000002820000", "80A80000039F0100", "80A80000028305"],
    ids=["not-template-83", "other-tag", "truncated-tlv"],
)
def test_gpo_data_not_a_command_template_is_6a80(visa_card: CardImage, command: str) -> None:
    applet = EmvApplet(visa_card)
    ok(applet, select(VISA_AID))
    assert send(applet, bytes.fromhex(command))[1] == 0x6A80


@pytest.mark.parametrize("command", ["0084000008", "80200080", "00B0000000", "0088000000"])
def test_unknown_instruction_is_6d00(applet: EmvApplet, command: str) -> None:
    assert send(applet, bytes.fromhex(command)) == (b"", 0x6D00)


@pytest.mark.parametrize(
    "command",
    [
        "80A404000E325041592E5359532E444446303100",
        "00A8000002830000",
        "80B2010C00",
        "00AE800000",
        "00CA9F3600",
        "80820000080000000000000000",
    ],
)
def test_wrong_class_is_6e00(applet: EmvApplet, command: str) -> None:
    assert send(applet, bytes.fromhex(command)) == (b"", 0x6E00)


def test_bad_p1_p2_is_6a86(mastercard_card: CardImage) -> None:
    applet = EmvApplet(mastercard_card)
    assert send(applet, select(MASTERCARD_AID, p1=0x00))[1] == 0x6A86
    assert send(applet, select(MASTERCARD_AID, p2=0x01))[1] == 0x6A86
    ok(applet, select(MASTERCARD_AID))
    assert send(applet, bytes.fromhex("80A8010002830000"))[1] == 0x6A86
    ok(applet, gpo_command(b""))
    assert send(applet, bytes.fromhex("00B2010800"))[1] == 0x6A86  # P2 b3-b1 must be 100
    assert send(applet, generate_ac_command(MASTERCARD_CDOL1_DATA, p1=0xC0))[1] == 0x6A86
    assert send(applet, generate_ac_command(MASTERCARD_CDOL1_DATA, p1=0x81))[1] == 0x6A86
    assert (
        send(
            applet,
            bytes([0x80, 0xAE, 0x80, 0x01, len(MASTERCARD_CDOL1_DATA)]) + MASTERCARD_CDOL1_DATA,
        )[1]
        == 0x6A86
    )
    assert applet.card.atc == 0
    ok(applet, generate_ac_command(MASTERCARD_CDOL1_DATA))
    assert send(applet, bytes.fromhex("00820100080000000000000000"))[1] == 0x6A86


def test_record_not_in_the_afl_is_6a83_and_an_unknown_sfi_6a82(applet: EmvApplet) -> None:
    initiate(applet)
    assert send(applet, read_record(1, 4)) == (b"", 0x6A83)  # SFI 1 exists, record 4 not
    assert send(applet, read_record(4, 1)) == (b"", 0x6A82)  # ISO/IEC 7816-4: file not found
    assert send(applet, bytes.fromhex("00B2000400"))[1] == 0x6986  # SFI 0: no current EF


def test_visa_has_no_sfi_2(visa_card: CardImage) -> None:
    applet = EmvApplet(visa_card)
    initiate(applet)
    assert send(applet, read_record(2, 1))[1] == 0x6A82


@pytest.mark.parametrize(
    "name",
    [
        "A0000000041010",
        "A0000000031020",
        "A000000003",
        "A0000000031010FF",
        "A00000000310",
        "325041592E5359532E4444463032",
    ],
)
def test_unknown_aid_is_6a82(visa_card: CardImage, name: str) -> None:
    applet = EmvApplet(visa_card)
    aid = bytes.fromhex(name)
    expected = 0x9000 if VISA_AID.startswith(aid) and len(aid) >= 5 else 0x6A82
    assert send(applet, select(aid))[1] == expected


def test_too_short_a_prefix_and_next_occurrence_are_6a82(visa_card: CardImage) -> None:
    applet = EmvApplet(visa_card)
    assert send(applet, select(VISA_AID[:4])) == (b"", 0x6A82)
    assert send(applet, select(VISA_AID, p2=0x02)) == (b"", 0x6A82)
    assert send(applet, select(b"2PAY.SYS.DDF01", p2=0x02)) == (b"", 0x6A82)
    assert send(applet, bytes.fromhex("00A40400")) == (b"", 0x6A82)  # no name at all


def test_get_data(applet: EmvApplet) -> None:
    assert send(applet, GET_DATA_ATC) == (b"", 0x6985)  # nothing selected
    ok(applet, SELECT_PPSE)
    assert ok(applet, GET_DATA_ATC) == bytes.fromhex("9F36020000")
    assert send(applet, bytes.fromhex("80CA9F1700")) == (b"", 0x6A88)


def test_external_authenticate_wrong_length_is_6700(visa_card: CardImage) -> None:
    applet = EmvApplet(visa_card)
    initiate(applet)
    assert send(applet, external_authenticate_command(bytes(7)))[1] == 0x6700
    assert send(applet, external_authenticate_command(bytes(17)))[1] == 0x6700
    assert applet.state is State.INITIATED  # a malformed command does not end the transaction


@pytest.mark.parametrize(
    "raw",
    ["", "00", "00A4", "00A404", "00A40400FF", "00A404000E3250", "00A4040000", "00A40400000001"],
)
def test_truncated_apdus_answer_a_status_word(applet: EmvApplet, raw: str) -> None:
    response = applet.process_apdu(bytes.fromhex(raw))
    assert len(response) == 2
    assert response in (b"\x67\x00", b"\x6a\x82")


def test_reset_keeps_the_atc(visa_card: CardImage) -> None:
    applet = EmvApplet(visa_card)
    initiate(applet)
    applet.reset()
    assert applet.state is State.IDLE
    assert applet.card.atc == 1
    assert send(applet, read_record(1, 1))[1] == 0x6985


# -- the ATC ----------------------------------------------------------------------------------


def test_visa_atc_increments_once_per_gpo(visa_card: CardImage) -> None:
    seen: list[int] = []
    applet = EmvApplet(visa_card, on_atc=lambda image: seen.append(image.atc))
    atcs = []
    for _ in range(3):
        gpo = initiate(applet)
        ok(applet, read_record(1, 1))
        ok(applet, GET_DATA_ATC)
        atcs.append(gpo[0x9F36])
    assert atcs == [b"\x00\x01", b"\x00\x02", b"\x00\x03"]
    assert seen == [1, 2, 3]
    assert applet.card.atc == 3
    assert visa_card.atc == 0  # the image is immutable; the applet holds the new one


def test_mastercard_atc_moves_only_with_generate_ac(mastercard_card: CardImage) -> None:
    seen: list[CardImage] = []
    applet = EmvApplet(mastercard_card, on_atc=seen.append)
    initiate(applet)
    for sfi, n in ((1, 1), (2, 1), (2, 2)):
        ok(applet, read_record(sfi, n))
    assert seen == []
    ok(applet, generate_ac_command(MASTERCARD_CDOL1_DATA))
    assert [image.atc for image in seen] == [1]
    assert seen[0] == mastercard_card.with_atc(1)
    initiate(applet)
    ok(applet, generate_ac_command(MASTERCARD_CDOL1_DATA, p1=0x00))  # an AAC counts too
    assert [image.atc for image in seen] == [1, 2]


def test_atc_at_0xffff_refuses_cryptograms(card: CardImage) -> None:
    seen: list[CardImage] = []
    applet = EmvApplet(card.with_atc(0xFFFF), on_atc=seen.append)
    ok(applet, select(applet.profile.aid))
    if applet.profile.name == "visa":
        assert send(applet, gpo_command(VISA_PDOL_DATA)) == (b"", 0x6985)
        # A refused GPO initiates nothing: no record is readable.
        assert send(applet, read_record(1, 1))[1] == 0x6985
    else:
        ok(applet, gpo_command(b""))
        assert send(applet, generate_ac_command(MASTERCARD_CDOL1_DATA)) == (b"", 0x6985)
    assert seen == []
    assert applet.card.atc == 0xFFFF
    assert send(applet, external_authenticate_command(bytes(10)))[1] == 0x6985


def test_profile_atc_limit(visa_card: CardImage, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        profiles_module.PROFILES, "visa", replace(profiles_module.VISA, atc_limit=2)
    )
    seen: list[int] = []
    applet = EmvApplet(visa_card, on_atc=lambda image: seen.append(image.atc))
    assert initiate(applet)[0x9F36] == b"\x00\x01"
    assert initiate(applet)[0x9F36] == b"\x00\x02"
    ok(applet, select(VISA_AID))
    data, sw = send(applet, gpo_command(VISA_PDOL_DATA))
    assert (data, sw) == (b"", 0x6985)
    assert seen == [1, 2]


# -- the tamper fault -------------------------------------------------------------------------


@pytest.mark.parametrize("profile_name", ["visa", "mastercard"])
def test_tampered_cryptogram_fails_verification(keys: IssuerKeySet, profile_name: str) -> None:
    honest = EmvApplet(make_card(keys, profile_name))
    tampered = EmvApplet(make_card(keys, profile_name, tamper=True))
    good, data = arqc_of(honest)
    bad, bad_data = arqc_of(tampered)
    assert data == bad_data
    assert honest.cvn.verify_ac(honest.card.icc_mk, data, good)
    assert not tampered.cvn.verify_ac(tampered.card.icc_mk, bad_data, bad)
    assert bytes([bad[0] ^ 0x01]) + bad[1:] == good


# -- nothing raises -----------------------------------------------------------------------------

_HEADERS = st.sampled_from(
    [
        bytes.fromhex(h)
        for h in (
            "00A40400",
            "00A40402",
            "80A80000",
            "00B2010C",
            "00B20114",
            "80AE8000",
            "80AE4000",
            "80CA9F36",
            "00820000",
            "00C00000",
        )
    ]
)


@st.composite
def apdus(draw: st.DrawFn) -> bytes:
    """Arbitrary bytes, or a known header with an arbitrary (often well-formed) body."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=300))
    header = draw(_HEADERS)
    data = draw(st.binary(max_size=40))
    body = (bytes([len(data)]) + data) if data else b""
    le = draw(st.sampled_from([b"", b"\x00"]))
    return header + body + le


@settings(
    max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(apdus(), max_size=6), st.sampled_from([0, 1, 2]))
def test_process_apdu_never_raises(card: CardImage, commands: list[bytes], start: int) -> None:
    applet = EmvApplet(card)
    # Start from IDLE, from the selected application, or from the initiated transaction.
    if start >= 1:
        ok(applet, select(applet.profile.aid))
    if start == 2:
        ok(applet, gpo_command(VISA_PDOL_DATA if card.profile == "visa" else b""))
    for command in commands:
        response = applet.process_apdu(command)
        assert isinstance(response, bytes)
        assert len(response) >= 2
        assert 0 <= applet.card.atc <= 0xFFFF
