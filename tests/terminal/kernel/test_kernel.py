"""The kernel against the real emulated applet: outcomes, data record, hostile answers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from card_emulation import CardImage, EmvApplet
from emvcore import tlv
from emvcore.apdu import CryptogramType
from emvcore.crypto.cvn import cryptogram_version
from emvcore.keyfile import IssuerKeySet
from emvcore.numeric import encode_cn
from emvcore.pan import encode_track2, mask_pan
from terminal.kernel import Kernel, KernelConfig, Outcome, Transaction
from terminal.kernel.tvr import tvr_names
from terminal.readers.emulated import LoopbackReader
from tests.card_emulation.support import PAR, ac_data, make_card
from tests.terminal.conftest import UN
from tests.terminal.support import PatchedCard, RecordingReader, TwoApplicationCard, entry, ppse_fci

SELECT, GPO, READ_RECORD, GENERATE_AC, EXTERNAL_AUTHENTICATE = 0xA4, 0xA8, 0xB2, 0xAE, 0x82
VISA_AID = bytes.fromhex("A0000000031010")
MASTERCARD_AID = bytes.fromhex("A0000000041010")


def run(card: object, transaction: Transaction) -> tuple[RecordingReader, object]:
    reader = RecordingReader(card)
    return reader, Kernel().run(reader, transaction)


def test_online_request_visa(visa_card: CardImage, transaction: Transaction) -> None:
    applet = EmvApplet(visa_card)
    reader, result = run(applet, transaction)
    assert result.outcome is Outcome.ONLINE_REQUEST
    assert (result.reason, result.message) == ("online_request", "Authorising, please wait")
    assert (result.aid, result.kernel_id, result.label) == (VISA_AID, 3, "VISA CREDIT")
    assert result.cryptogram_type is CryptogramType.ARQC
    assert (result.masked_pan, result.par, result.atc) == (mask_pan(visa_card.token), PAR, 1)
    assert result.masked_pan == "489537******" + visa_card.token[-4:]
    record = tlv.flatten(result.data_record)
    assert record[0x9F02] == bytes.fromhex("000000001250")
    assert record[0x5F2A] == bytes.fromhex("0978")
    assert record[0x9F1A] == bytes.fromhex("0528")
    assert record[0x9A] == bytes.fromhex("261122")
    assert record[0x9F21] == bytes.fromhex("093005")
    assert record[0x9F37] == UN
    assert record[0x95] == bytes(5)
    assert record[0x82] == bytes.fromhex("2000")
    assert record[0x9F36] == b"\x00\x01"
    assert record[0x9F27] == b"\x80"
    assert record[0x9F10] == bytes.fromhex("06011203A00000")
    assert record[0x5A] == encode_cn(visa_card.token)
    assert record[0x57] == encode_track2(visa_card.token, "2912")
    assert record[0x9F24] == PAR.encode()
    assert record[0x84] == VISA_AID
    assert record[0x9F66] == bytes.fromhex("23804000")  # online cryptogram required (floor 0)
    # The cryptogram verifies over the data the terminal sent.
    data = ac_data(record, record[0x82], record[0x9F36], record[0x9F10])
    assert cryptogram_version("visa-cvn18").verify_ac(visa_card.icc_mk, data, record[0x9F26])
    assert record[0x9F26] == result.card_data[0x9F26]
    # qVSDC: no GENERATE AC; records (1,1) account data, (1,2) and (1,3) certificates.
    assert reader.instructions == [SELECT, SELECT, GPO, READ_RECORD, READ_RECORD, READ_RECORD]


def test_online_request_mastercard(mastercard_card: CardImage, transaction: Transaction) -> None:
    reader, result = run(EmvApplet(mastercard_card), transaction)
    assert result.outcome is Outcome.ONLINE_REQUEST
    assert (result.aid, result.kernel_id, result.label) == (MASTERCARD_AID, 2, "MASTERCARD")
    assert (result.masked_pan, result.par, result.atc) == (mask_pan(mastercard_card.token), PAR, 1)
    record = tlv.flatten(result.data_record)
    # CDA done; the amount is over the floor limit of 0 (Book 3 10.6.1).
    assert record[0x95] == bytes.fromhex("0000008000")
    assert result.oda_performed
    assert record[0x82] == bytes.fromhex("1980")
    assert record[0x9F36] == b"\x00\x01"
    assert record[0x9F37] == UN
    assert record[0x9F02] == bytes.fromhex("000000001250")
    assert record[0x5F2A] == bytes.fromhex("0978")
    # M/Chip IAD: DKI 01, CVN 11, CVR (ARQC, 2nd GENERATE AC not requested), DAC, counters.
    assert record[0x9F10] == bytes.fromhex("0111A0000000000000000000000000000000")
    assert record[0x5A] == encode_cn(mastercard_card.token)
    assert record[0x57] == encode_track2(mastercard_card.token, "2912")
    assert record[0x9F34] == bytes.fromhex("1F0302")  # no CVM, below the CVM limit
    data = ac_data(record, record[0x82], record[0x9F36], record[0x9F10])
    assert cryptogram_version("mastercard-cvn17").verify_ac(
        mastercard_card.icc_mk, data, record[0x9F26]
    )
    assert reader.instructions == [
        SELECT,
        SELECT,
        GPO,
        READ_RECORD,
        READ_RECORD,
        READ_RECORD,
        READ_RECORD,
        READ_RECORD,
        GENERATE_AC,
    ]
    generate_ac = reader.log[-1][0]
    assert generate_ac[:4] == bytes.fromhex("80AE9000")  # ARQC, CDA requested


def test_issuer_authentication(applet: EmvApplet, transaction: Transaction) -> None:
    reader = LoopbackReader(applet)
    kernel = Kernel()
    result = kernel.run(reader, transaction)
    record = tlv.flatten(result.data_record)
    data = ac_data(record, record[0x82], record[0x9F36], record[0x9F10])
    tag_91 = applet.cvn.issuer_authentication_data(
        applet.card.icc_mk, data, record[0x9F26], approved=True, arc=b"00"
    )
    assert kernel.issuer_authentication(reader, tag_91) is True
    # A second answer, or a wrong one on a fresh transaction, is refused.
    assert kernel.issuer_authentication(reader, tag_91) is False
    kernel.run(reader, transaction)
    assert kernel.issuer_authentication(reader, tag_91) is False
    kernel.run(reader, transaction)
    reader.remove()
    assert kernel.issuer_authentication(reader, tag_91) is None
    assert kernel.issuer_authentication(LoopbackReader(applet), bytes(3)) is None  # not 8-16 bytes


def test_priority_ordering_with_two_applications(
    keys: IssuerKeySet, transaction: Transaction
) -> None:
    visa, mastercard = EmvApplet(make_card(keys, "visa")), EmvApplet(make_card(keys, "mastercard"))
    card = TwoApplicationCard([visa, mastercard], [2, 1])
    reader, result = run(card, transaction)
    assert result.outcome is Outcome.ONLINE_REQUEST
    assert result.aid == MASTERCARD_AID
    assert reader.log[1][0] == bytes.fromhex("00A4040007A000000004101000")
    assert (visa.card.atc, mastercard.card.atc) == (0, 1)
    _, result = run(TwoApplicationCard([visa, mastercard], [1, 2]), transaction)
    assert result.aid == VISA_AID


def test_gpo_6985_selects_the_next_candidate(keys: IssuerKeySet, transaction: Transaction) -> None:
    exhausted = EmvApplet(make_card(keys, "visa", atc=0xFFFF))
    mastercard = EmvApplet(make_card(keys, "mastercard"))
    reader, result = run(TwoApplicationCard([exhausted, mastercard], [1, 2]), transaction)
    assert result.outcome is Outcome.ONLINE_REQUEST
    assert result.aid == MASTERCARD_AID
    assert reader.instructions[:4] == [SELECT, SELECT, GPO, SELECT]
    assert reader.log[2][1] == b"\x69\x85"


def test_gpo_6985_on_the_only_candidate(keys: IssuerKeySet, transaction: Transaction) -> None:
    _, result = run(EmvApplet(make_card(keys, "visa", atc=0xFFFF)), transaction)
    assert (result.outcome, result.reason) == (
        Outcome.END_APPLICATION,
        "gpo_conditions_not_satisfied",
    )


def test_card_removed_after_gpo(applet: EmvApplet, transaction: Transaction) -> None:
    def remove_after_gpo(reader: RecordingReader, command: bytes, response: bytes) -> None:
        if command[1] == GPO:
            reader.remove()

    reader = RecordingReader(applet, after=remove_after_gpo)
    result = Kernel().run(reader, transaction)
    assert (result.outcome, result.reason, result.message) == (
        Outcome.TRY_AGAIN,
        "card_removed",
        "Present card again",
    )
    assert result.data_record == b""


class Answers:
    """A card that answers every command with one fixed response."""

    def __init__(self, response: str) -> None:
        self.response = bytes.fromhex(response)

    def process_apdu(self, apdu: bytes) -> bytes:
        return self.response


@pytest.mark.parametrize(
    ("response", "outcome", "reason"),
    [
        ("6A82", Outcome.END_APPLICATION, "card_not_supported"),
        ("6D00", Outcome.END_APPLICATION, "card_not_supported"),
        ("9000", Outcome.END_APPLICATION, "ppse_malformed"),
        ("90", Outcome.TRY_AGAIN, "reader_error"),
    ],
)
def test_ppse_answers(
    response: str, outcome: Outcome, reason: str, transaction: Transaction
) -> None:
    result = Kernel().run(LoopbackReader(Answers(response)), transaction)
    assert (result.outcome, result.reason) == (outcome, reason)


def test_ppse_listing_only_an_unsupported_aid(transaction: Transaction) -> None:
    fci = ppse_fci(entry("A0000000251010", 1, 4, b"AMEX"))
    reader, result = run(Answers(fci.hex() + "9000"), transaction)
    assert (result.outcome, result.reason, result.message) == (
        Outcome.END_APPLICATION,
        "card_not_supported",
        "Insert, swipe or try another card",
    )
    assert len(reader.log) == 1


def _patch_record(target: tuple[int, int], extra: bytes) -> Callable[[bytes, bytes], bytes]:
    def patch(command: bytes, response: bytes) -> bytes:
        if (
            command[1] == READ_RECORD
            and (command[3] >> 3, command[2]) == target
            and response[-2:] == b"\x90\x00"
        ):
            body = tlv.decode_one(response[:-2]).value + extra
            return tlv.encode(0x70, body) + b"\x90\x00"
        return response

    return patch


def test_duplicate_tag_across_records(mastercard_card: CardImage, transaction: Transaction) -> None:
    # Record (1,1) holds 57; repeating it in record (2,1) is a duplicate (Book 3 10.2).
    extra = tlv.encode(0x57, encode_track2(mastercard_card.token, "2912"))
    card = PatchedCard(EmvApplet(mastercard_card), patch=_patch_record((2, 1), extra))
    reader, result = run(card, transaction)
    assert (result.outcome, result.reason) == (Outcome.END_APPLICATION, "duplicate_card_data")
    assert GENERATE_AC not in reader.instructions


def test_duplicate_tag_within_a_record(visa_card: CardImage, transaction: Transaction) -> None:
    card = PatchedCard(
        EmvApplet(visa_card), patch=_patch_record((1, 1), tlv.encode(0x5F34, b"\x02"))
    )
    _, result = run(card, transaction)
    assert (result.outcome, result.reason) == (Outcome.END_APPLICATION, "record_malformed")


def test_record_repeating_gpo_data_is_a_duplicate(
    visa_card: CardImage, transaction: Transaction
) -> None:
    card = PatchedCard(
        EmvApplet(visa_card), patch=_patch_record((1, 1), tlv.encode(0x9F36, b"\x00\x09"))
    )
    _, result = run(card, transaction)
    assert (result.outcome, result.reason) == (Outcome.END_APPLICATION, "duplicate_card_data")


def test_aac_from_generate_ac_is_declined(
    mastercard_card: CardImage, transaction: Transaction
) -> None:
    # The card is asked for an AAC instead of the ARQC the kernel requested: it declines offline.
    def ask_for_aac(command: bytes) -> bytes:
        return command[:2] + b"\x00" + command[3:] if command[1] == GENERATE_AC else command

    card = PatchedCard(EmvApplet(mastercard_card), rewrite=ask_for_aac)
    _, result = run(card, transaction)
    assert (result.outcome, result.reason, result.message) == (
        Outcome.DECLINED,
        "card_declined",
        "Not authorised",
    )
    assert result.cryptogram_type is CryptogramType.AAC
    assert result.data_record == b""
    assert result.atc == 1


NO_CDA = KernelConfig(cda_supported=False)


def test_tc_from_the_card_ends_the_application(
    mastercard_card: CardImage, transaction: Transaction
) -> None:
    # Without CDA the CID comes in clear: a TC where an ARQC was asked for is refused
    # (Book 3 6.5.5.4: a card may answer with the type asked for or a lower one).
    def cid_tc(command: bytes, response: bytes) -> bytes:
        if command[1] == GENERATE_AC:
            return response.replace(bytes.fromhex("9F270180"), bytes.fromhex("9F270140"))
        return response

    reader = RecordingReader(PatchedCard(EmvApplet(mastercard_card), patch=cid_tc))
    result = Kernel(NO_CDA).run(reader, transaction)
    assert (result.outcome, result.reason) == (Outcome.END_APPLICATION, "unexpected_cryptogram")


def test_cid_changed_under_cda_is_declined(
    mastercard_card: CardImage, transaction: Transaction
) -> None:
    # With CDA the CID is inside the signed data: changing it breaks the signature (Book 2 6.6.2).
    def cid_tc(command: bytes, response: bytes) -> bytes:
        if command[1] == GENERATE_AC:
            return response.replace(bytes.fromhex("9F270180"), bytes.fromhex("9F270140"))
        return response

    _, result = run(PatchedCard(EmvApplet(mastercard_card), patch=cid_tc), transaction)
    assert (result.outcome, result.reason) == (Outcome.DECLINED, "cda_failed:cda_mismatch")
    assert tvr_names(result.tvr) == ["CDA_FAILED", "FLOOR_LIMIT_EXCEEDED"]


MALFORMED = bytes.fromhex("6F0584")  # a template whose content runs past the end


@pytest.mark.parametrize(
    ("profile_name", "ins", "occurrence", "outcome", "reason"),
    [
        ("visa", SELECT, 0, Outcome.END_APPLICATION, "ppse_malformed"),
        ("visa", SELECT, 1, Outcome.END_APPLICATION, "select_fci_malformed"),
        ("visa", GPO, 0, Outcome.END_APPLICATION, "gpo_response_malformed"),
        ("visa", READ_RECORD, 0, Outcome.END_APPLICATION, "record_malformed"),
        ("mastercard", SELECT, 1, Outcome.END_APPLICATION, "select_fci_malformed"),
        ("mastercard", GPO, 0, Outcome.END_APPLICATION, "gpo_response_malformed"),
        ("mastercard", READ_RECORD, 2, Outcome.END_APPLICATION, "record_malformed"),
        ("mastercard", GENERATE_AC, 0, Outcome.END_APPLICATION, "generate_ac_malformed"),
    ],
)
def test_malformed_tlv_in_each_response(
    keys: IssuerKeySet,
    transaction: Transaction,
    profile_name: str,
    ins: int,
    occurrence: int,
    outcome: Outcome,
    reason: str,
) -> None:
    seen = {"count": 0}

    def corrupt(command: bytes, response: bytes) -> bytes:
        if command[1] == ins:
            seen["count"] += 1
            if seen["count"] == occurrence + 1:
                return MALFORMED + b"\x90\x00"
        return response

    card = PatchedCard(EmvApplet(make_card(keys, profile_name)), patch=corrupt)
    _, result = run(card, transaction)
    assert (result.outcome, result.reason) == (outcome, reason)


def _gpo(*items: tuple[int, str]) -> bytes:
    return tlv.encode(0x77, tlv.encode_many((tag, bytes.fromhex(value)) for tag, value in items))


@pytest.mark.parametrize(
    ("ins", "body", "reason"),
    [
        (GPO, tlv.encode(0x80, b"\xaa"), "gpo_response_malformed"),  # format 1, 1 byte
        (GPO, tlv.encode(0x70, bytes.fromhex("82022000")), "gpo_response_malformed"),  # not 77/80
        (GPO, _gpo((0x9F36, "0001")), "aip_missing"),
        (GPO, _gpo((0x82, "20"), (0x94, "08010100")), "aip_missing"),
        (GPO, tlv.encode(0x80, bytes.fromhex("2000")), "missing_9F26"),  # no records, no AC
        (GPO, _gpo((0x82, "2000"), (0x94, "080101")), "afl_malformed"),
        (GPO, _gpo((0x82, "2000"), (0x94, "00010100")), "afl_malformed"),  # SFI 0
        (GPO, _gpo((0x82, "2000"), (0x94, "F8010100")), "afl_malformed"),  # SFI 31
        (GPO, _gpo((0x82, "2000"), (0x94, "08000100")), "afl_malformed"),  # record 0
        (GPO, _gpo((0x82, "2000"), (0x94, "08020100")), "afl_malformed"),  # last < first
        (GPO, _gpo((0x82, "2000"), (0x94, "08010102")), "afl_malformed"),  # ODA > records
        (GPO, _gpo((0x82, "2000"), (0x94, "0801FF00")), "afl_malformed"),  # 255 records
        (GPO, _gpo((0x82, "2000"), (0x94, "08010400")), "read_record_failed"),  # record 4: 6A83
        (READ_RECORD, tlv.encode(0x77, bytes.fromhex("5A0100")), "record_malformed"),  # not 70
        (READ_RECORD, tlv.encode(0x70, bytes.fromhex("5A01")), "record_malformed"),  # truncated
    ],
)
def test_bad_card_data_ends_the_application(
    visa_card: CardImage, transaction: Transaction, ins: int, body: bytes, reason: str
) -> None:
    def patch(command: bytes, response: bytes) -> bytes:
        return body + b"\x90\x00" if command[1] == ins else response

    _, result = run(PatchedCard(EmvApplet(visa_card), patch=patch), transaction)
    assert (result.outcome, result.reason, result.message) == (
        Outcome.END_APPLICATION,
        reason,
        "Insert, swipe or try another card",
    )


def test_gpo_error_status_ends_the_application(
    visa_card: CardImage, transaction: Transaction
) -> None:
    def patch(command: bytes, response: bytes) -> bytes:
        return b"\x6a\x80" if command[1] == GPO else response

    _, result = run(PatchedCard(EmvApplet(visa_card), patch=patch), transaction)
    assert (result.outcome, result.reason) == (Outcome.END_APPLICATION, "gpo_failed")


def test_generate_ac_error_status_ends_the_application(
    mastercard_card: CardImage, transaction: Transaction
) -> None:
    def patch(command: bytes, response: bytes) -> bytes:
        return b"\x69\x85" if command[1] == GENERATE_AC else response

    _, result = run(PatchedCard(EmvApplet(mastercard_card), patch=patch), transaction)
    assert (result.outcome, result.reason) == (Outcome.END_APPLICATION, "generate_ac_failed")


def test_generate_ac_format_1(mastercard_card: CardImage, transaction: Transaction) -> None:
    # Response format 1 (tag 80): CID || ATC || AC || IAD.
    def to_format_1(command: bytes, response: bytes) -> bytes:
        if command[1] != GENERATE_AC:
            return response
        found = tlv.flatten(tlv.decode_one(response[:-2]).value)
        value = found[0x9F27] + found[0x9F36] + found[0x9F26] + found[0x9F10]
        return tlv.encode(0x80, value) + b"\x90\x00"

    # Format 1 cannot carry an SDAD, so only a card not asked for CDA may use it.
    reader = LoopbackReader(PatchedCard(EmvApplet(mastercard_card), patch=to_format_1))
    result = Kernel(NO_CDA).run(reader, transaction)
    assert (result.outcome, result.atc) == (Outcome.ONLINE_REQUEST, 1)
    record = tlv.flatten(result.data_record)
    data = ac_data(record, record[0x82], record[0x9F36], record[0x9F10])
    assert cryptogram_version("mastercard-cvn17").verify_ac(
        mastercard_card.icc_mk, data, record[0x9F26]
    )


# -- never an exception --------------------------------------------------------------------------


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    profile_name=st.sampled_from(["visa", "mastercard"]),
    step=st.integers(min_value=0, max_value=7),
    junk=st.binary(max_size=80),
    keep_sw=st.booleans(),
)
def test_any_response_gives_an_outcome(
    keys: IssuerKeySet,
    transaction: Transaction,
    profile_name: str,
    step: int,
    junk: bytes,
    keep_sw: bool,
) -> None:
    counter = {"n": 0}

    def patch(command: bytes, response: bytes) -> bytes:
        counter["n"] += 1
        if counter["n"] - 1 == step:
            return junk + (b"\x90\x00" if keep_sw else b"")
        return response

    card = PatchedCard(EmvApplet(make_card(keys, profile_name)), patch=patch)
    result = Kernel().run(LoopbackReader(card), transaction)
    assert isinstance(result.outcome, Outcome)
    if result.outcome is Outcome.ONLINE_REQUEST:
        assert result.masked_pan is not None and result.atc is not None


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.binary(max_size=60), min_size=1, max_size=12))
def test_arbitrary_card_never_raises(transaction: Transaction, responses: list[bytes]) -> None:
    class Script:
        def process_apdu(self, apdu: bytes) -> bytes:
            return responses.pop(0) if responses else b"\x6a\x82"

    result = Kernel().run(LoopbackReader(Script()), transaction)
    assert isinstance(result.outcome, Outcome)
