"""APDUs (ISO/IEC 7816-4 section 5.1) and EMV commands (EMV Book 3 section 6.5)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emvcore import apdu
from emvcore.apdu import (
    CDA_REQUESTED,
    SW,
    CommandApdu,
    CryptogramType,
    Ins,
    ResponseApdu,
    describe_sw,
)
from emvcore.errors import ApduError

H = bytes.fromhex


# --- the seven cases ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "encoded"),
    [
        (CommandApdu(0x00, 0x82, 0, 0), "00820000"),  # 1
        (CommandApdu(0x80, 0xCA, 0x9F, 0x36, le=256), "80CA9F3600"),  # 2S, Le 00
        (CommandApdu(0x00, 0xC0, 0, 0, le=0x1C), "00C000001C"),  # 2S
        (CommandApdu(0x00, 0x82, 0, 0, H("0102")), "00820000020102"),  # 3S
        (CommandApdu(0x00, 0xA4, 4, 0, H("A0000000031010"), 256),
         "00A4040007A000000003101000"),  # 4S
        (CommandApdu(0x00, 0xB0, 0, 0, le=257), "00B00000000101"),  # 2E
        (CommandApdu(0x00, 0xB0, 0, 0, le=65536), "00B00000000000"),  # 2E, Le 0000
        (CommandApdu(0x00, 0xD6, 0, 0, bytes(256)), "00D6000000" + "0100" + "00" * 256),  # 3E
        (CommandApdu(0x00, 0x2A, 0, 0, bytes(300), 65536),
         "002A000000012C" + "00" * 300 + "0000"),  # 4E
        (CommandApdu(0x00, 0x2A, 0, 0, b"\x01", 1000), "002A0000000001" + "01" + "03E8"),  # 4E
    ],
)  # fmt: skip
def test_encode_decode_known(command: CommandApdu, encoded: str) -> None:
    assert command.encode() == H(encoded)
    assert CommandApdu.decode(H(encoded)) == command


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "0 bytes is shorter than its 4-byte header"),
        ("00A404", "3 bytes"),
        ("80A8000005830100", "Lc says 5 bytes, 3 present"),
        ("80A8000002830000AA", "Lc says 2 bytes, 4 present"),
        ("00B0000000AA", "extended length marker '00' in a 6-byte command"),
        ("00B0000000000001", "extended Lc '0000' is not allowed"),
        ("00D60000000005AABB", "extended Lc says 5 bytes, 2 present"),
        ("00D60000000001AABBCCDD", "extended Lc says 1 bytes, 4 present"),
    ],
)
def test_decode_errors(raw: str, message: str) -> None:
    with pytest.raises(ApduError, match=message):
        CommandApdu.decode(H(raw))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"cla": 256}, {"ins": -1}, {"p1": 300}, {"p2": -2}, {"le": 0}, {"le": 65537},
        {"data": bytes(65536)},
    ],
)  # fmt: skip
def test_construction_is_checked(kwargs: dict[str, object]) -> None:
    fields: dict[str, object] = {"cla": 0, "ins": 0xA4, "p1": 4, "p2": 0} | kwargs
    with pytest.raises(ApduError):
        CommandApdu(**fields)  # type: ignore[arg-type]


def test_data_is_normalised_to_bytes() -> None:
    command = CommandApdu(0, 0xA4, 4, 0, bytearray(b"\x01"))  # type: ignore[arg-type]
    assert type(command.data) is bytes
    assert command == CommandApdu(0, 0xA4, 4, 0, b"\x01")


def test_extended_mixes_are_encoded_in_one_form() -> None:
    # data fits short but Ne does not: both go extended (ISO/IEC 7816-4 5.1)
    assert CommandApdu(0, 0x2A, 0, 0, b"\x01", 257).encode() == H("002A000000000101" + "0101")
    assert CommandApdu(0, 0x2A, 0, 0, bytes(256), 5).encode()[4:7] == H("000100")


commands = st.builds(
    CommandApdu,
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 255),
    st.one_of(st.binary(max_size=300), st.binary(min_size=255, max_size=258)),
    st.one_of(
        st.none(), st.integers(1, 300), st.integers(1, 65536), st.sampled_from([256, 257, 65536])
    ),
)


@settings(max_examples=300)
@given(commands)
def test_command_round_trip_over_all_cases(command: CommandApdu) -> None:
    raw = command.encode()
    assert CommandApdu.decode(raw) == command
    assert CommandApdu.decode(raw).encode() == raw


@settings(max_examples=300)
@given(st.binary(max_size=40))
def test_fuzz_command_decode(raw: bytes) -> None:
    try:
        command = CommandApdu.decode(raw)
    except ApduError:
        return
    assert len(command.encode()) <= len(raw)


# --- responses ------------------------------------------------------------------------


def test_response_apdu() -> None:
    response = ResponseApdu.decode(H("770A9F2701809F3602000190 00"))
    assert response.data == H("770A9F2701809F36020001")
    assert (response.sw1, response.sw2, response.sw, response.ok) == (0x90, 0x00, 0x9000, True)
    assert response.encode() == H("770A9F2701809F360200019000")
    error = ResponseApdu.decode(H("6985"))
    assert (error.data, error.sw, error.ok) == (b"", SW.CONDITIONS_NOT_SATISFIED, False)
    for raw in (b"", b"\x90"):
        with pytest.raises(ApduError, match="has no status word"):
            ResponseApdu.decode(raw)
    with pytest.raises(ApduError, match="SW1 256"):
        ResponseApdu(b"", 256, 0)


@settings(max_examples=300)
@given(st.binary(max_size=300), st.integers(0, 255), st.integers(0, 255))
def test_response_round_trip(data: bytes, sw1: int, sw2: int) -> None:
    response = ResponseApdu(data, sw1, sw2)
    assert ResponseApdu.decode(response.encode()) == response


# --- status words ---------------------------------------------------------------------


@pytest.mark.parametrize("sw", list(SW), ids=lambda s: s.name)
def test_every_sw_has_its_own_text(sw: SW) -> None:
    text = describe_sw(sw)
    assert text and "unknown" not in text and f"{sw:04X}" not in text


@pytest.mark.parametrize(
    ("sw", "text"),
    [
        (0x6110, "16 bytes still available (use GET RESPONSE)"),
        (0x6100, "256 bytes still available (use GET RESPONSE)"),
        (0x6C08, "wrong Le; exact length is 8"),
        (0x63C2, "verification failed, counter 2"),
        (0x6281, "warning: state of non-volatile memory unchanged (6281)"),
        (0x6381, "warning: state of non-volatile memory changed (6381)"),
        (0x6400, "execution error: state of non-volatile memory unchanged (6400)"),
        (0x6581, "execution error: state of non-volatile memory changed (6581)"),
        (0x6600, "execution error: security-related issue (6600)"),
        (0x6881, "checking error: functions in CLA not supported (6881)"),
        (0x6999, "checking error: command not allowed (6999)"),
        (0x6A84, "checking error: wrong parameters (6A84)"),
        (0x9123, "unknown status word 9123"),
        (0x0000, "unknown status word 0000"),
    ],
)
def test_sw_families(sw: int, text: str) -> None:
    assert describe_sw(sw) == text


@pytest.mark.parametrize("sw", [-1, 0x10000])
def test_describe_sw_out_of_range(sw: int) -> None:
    with pytest.raises(ApduError):
        describe_sw(sw)


# --- EMV commands ---------------------------------------------------------------------


def test_select() -> None:
    assert apdu.select_ppse().encode() == H("00A404000E325041592E5359532E444446303100")
    assert apdu.select(H("A0000000041010"), next_occurrence=True).encode() == H(
        "00A4040207A000000004101000"
    )
    for name in (b"", bytes(17)):
        with pytest.raises(ApduError, match="DF name"):
            apdu.select(name)


def test_get_processing_options() -> None:
    assert apdu.get_processing_options(b"").encode() == H("80A8000002830000")
    pdol_data = H("36004000000000001000")
    assert apdu.get_processing_options(pdol_data).encode() == H(
        "80A800000C830A" + "36004000000000001000" + "00"
    )
    assert apdu.get_processing_options(bytes(200)).encode()[4:8] == H("CB8381C8")
    with pytest.raises(ApduError, match="exceeds the short Lc"):
        apdu.get_processing_options(bytes(253))


def test_read_record() -> None:
    assert apdu.read_record(1, 1).encode() == H("00B2010C00")
    assert apdu.read_record(2, 3).encode() == H("00B2031400")
    assert apdu.read_record(30, 255).encode() == H("00B2FFF400")
    for sfi, record in ((0, 1), (31, 1), (1, 0), (1, 256)):
        with pytest.raises(ApduError):
            apdu.read_record(sfi, record)


def test_generate_ac() -> None:
    cdol = bytes(29)
    assert apdu.generate_ac(CryptogramType.ARQC, cdol).encode() == H(
        "80AE80001D" + "00" * 29 + "00"
    )
    assert apdu.generate_ac(CryptogramType.TC | CDA_REQUESTED, cdol).p1 == 0x50
    assert apdu.generate_ac(CryptogramType.AAC, cdol).p1 == 0x00
    with pytest.raises(ApduError, match="reserved"):
        apdu.generate_ac(0xC0, cdol)
    with pytest.raises(ApduError):
        apdu.generate_ac(0x100, cdol)
    with pytest.raises(ApduError):
        apdu.generate_ac(CryptogramType.ARQC, bytes(256))


def test_get_data_external_authenticate_get_response() -> None:
    assert apdu.get_data(0x9F36).encode() == H("80CA9F3600")
    assert apdu.get_data(0x9F17).encode() == H("80CA9F1700")
    with pytest.raises(ApduError):
        apdu.get_data(0x10000)
    arpc = H("1122334455667788") + H("3030")
    assert apdu.external_authenticate(arpc).encode() == H("008200000A11223344556677883030")
    for size in (7, 17):
        with pytest.raises(ApduError, match=f"{size} bytes of data"):
            apdu.external_authenticate(bytes(size))
    assert apdu.get_response(256).encode() == H("00C0000000")
    for le in (0, 257):
        with pytest.raises(ApduError):
            apdu.get_response(le)


def test_enums() -> None:
    assert (int(Ins.GENERATE_AC), int(Ins.COMPUTE_CRYPTOGRAPHIC_CHECKSUM)) == (0xAE, 0x2A)
    assert CryptogramType(0x80) is CryptogramType.ARQC
    assert apdu.PPSE_NAME == b"2PAY.SYS.DDF01"
