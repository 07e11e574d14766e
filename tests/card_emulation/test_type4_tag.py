"""The Type 4 Tag's command set, status words, and atomic content changes."""

from __future__ import annotations

import threading

import pytest

from card_emulation.errors import CapabilityError, TagError
from card_emulation.tag import CapabilityContainer, Type4Tag
from card_emulation.wallet import read_ndef
from emvcore.tapmode import IDLE_MESSAGE, encode_message

SELECT_APP = bytes.fromhex("00A4040007D276000085010100")
SELECT_APP_0C = bytes.fromhex("00A4040C07D2760000850101")
SELECT_CC = bytes.fromhex("00A4000C02E103")
SELECT_NDEF = bytes.fromhex("00A4000C02E104")


def message(n: int) -> bytes:
    uri = f"https://pay.example/tap/v1/cs_{n:020d}?n=AAAAAAAAAAAAAAAA&t=SHOP0001&m=x"
    return encode_message(uri, "com.example.wallet")


def selected(*, file: bytes | None = SELECT_NDEF, content: bytes | None = None) -> Type4Tag:
    tag = Type4Tag()
    if content is not None:
        tag.present(content)
    assert tag.process_apdu(SELECT_APP) == b"\x90\x00"
    if file is not None:
        assert tag.process_apdu(file) == b"\x90\x00"
    return tag


@pytest.mark.parametrize(
    ("setup", "apdu", "answer"),
    [
        (None, "80A4040007D2760000850101", "6E00"),
        (None, "00CA000000", "6D00"),
        (None, "00A40400", "6700"),  # case 1: no name
        (None, "00A4040007D27600008501", "6700"),  # Lc says 7, 5 present
        (None, SELECT_APP_0C.hex(), "9000"),
        (None, "00A4040007D2760000850100", "6A82"),  # mapping 1.0 name: not supported
        (None, "00A4040007A000000003101000", "6A82"),
        (None, SELECT_CC.hex(), "6A82"),  # file before the application
        (None, "00A4040203D27600", "6A86"),
        (None, "00A4000002E103", "6A86"),  # P2 00 (FCI) is mapping 1.0
        ("app", "00A4000C03E10300", "6700"),
        ("app", "00A4000C02E105", "6A82"),
        ("app", "00B000000F", "6986"),  # no file selected
        ("app", "00D6000001FF", "6986"),
        ("cc", "00B0000F01", "6B00"),  # offset = the CC's size
        ("cc", "00B0800001", "6B00"),  # P1 b8: SFI addressing
        ("cc", "00B00000", "6700"),  # no Le
        ("cc", "00B000000002", "6700"),  # a truncated extended Le
        ("cc", "00B000000001FF", "6700"),  # extended Le 511 > MLe
        ("cc", "00B0000000FFFF", "6700"),  # extended Le 65535 > MLe
        ("cc", "00B0000002", "000F9000"),
        ("cc", "00B0000E05", "FF9000"),  # a read past the end stops at the end
        ("ndef", "00B003FF01", "009000"),  # the last byte of the 1024-byte file
        ("ndef", "00B0040001", "6B00"),
        ("ndef", "00D6000002AABB", "6982"),  # read-only: write access FF
        ("cc", "00D6000001FF", "6982"),
    ],
)
def test_command_set(setup: str | None, apdu: str, answer: str) -> None:
    files = {"app": None, "cc": SELECT_CC, "ndef": SELECT_NDEF}
    tag = Type4Tag() if setup is None else selected(file=files[setup])
    assert tag.process_apdu(bytes.fromhex(apdu)).hex().upper() == answer


def test_the_capability_container_announces_a_read_only_ndef_file() -> None:
    tag = selected(file=SELECT_CC)
    cc = CapabilityContainer.decode(tag.process_apdu(bytes.fromhex("00B000000F"))[:-2])
    assert (cc.version, cc.mle, cc.mlc, cc.ndef_file_size) == (0x20, 256, 255, 1024)
    assert cc.ndef_file_id == bytes.fromhex("E104") and cc.read_only


def test_the_ndef_file_is_nlen_then_the_message() -> None:
    tag = selected(content=message(1))
    head = tag.process_apdu(bytes.fromhex("00B0000002"))
    assert head == len(message(1)).to_bytes(2, "big") + b"\x90\x00"
    body = tag.process_apdu(bytes([0, 0xB0, 0, 2, len(message(1))]))
    assert body[:-2] == message(1)


def test_idle_and_cleared_tags_present_the_empty_message() -> None:
    tag = Type4Tag()
    assert read_ndef(tag.process_apdu) == IDLE_MESSAGE
    tag.present(message(1))
    assert read_ndef(tag.process_apdu) == message(1)
    tag.clear()
    assert read_ndef(tag.process_apdu) == IDLE_MESSAGE


def test_a_reader_keeps_its_snapshot_until_it_selects_again() -> None:
    tag = selected(content=message(1))
    nlen = tag.process_apdu(bytes.fromhex("00B0000002"))
    tag.present(IDLE_MESSAGE)  # the terminal moves on mid-read
    rest = tag.process_apdu(bytes([0, 0xB0, 0, 2, len(message(1))]))
    assert nlen[:-2] + rest[:-2] == len(message(1)).to_bytes(2, "big") + message(1)
    assert read_ndef(tag.process_apdu) == IDLE_MESSAGE  # a new SELECT sees the new content


def test_concurrent_changes_never_mix_two_messages() -> None:
    tag = Type4Tag(mle=0x0F)  # 15-byte reads: many commands per message, many chances to mix
    messages = {message(n) for n in range(8)} | {IDLE_MESSAGE}
    stop = threading.Event()

    def terminal() -> None:
        while not stop.is_set():
            for m in messages:
                tag.present(m)

    thread = threading.Thread(target=terminal, daemon=True)
    thread.start()
    try:
        seen = [read_ndef(tag.process_apdu) for _ in range(300)]
    finally:
        stop.set()
        thread.join(5)
    assert set(seen) <= messages
    assert len(set(seen)) > 1  # the content did change under the reader


def test_a_per_tap_content_is_made_at_each_select() -> None:
    made: list[int] = []

    def fresh() -> bytes:
        made.append(1)
        return message(len(made))

    tag = Type4Tag()
    tag.present(fresh)
    assert read_ndef(tag.process_apdu) == message(1)
    assert read_ndef(tag.process_apdu) == message(2)
    assert tag.selections == 2


def test_a_message_larger_than_the_file_is_refused_when_presented() -> None:
    tag = Type4Tag(ndef_file_size=64)
    with pytest.raises(TagError, match="exceeds"):
        tag.present(message(1))
    tag.present(lambda: message(1))  # a per-tap maker that overflows: the tag shows nothing
    assert tag.process_apdu(SELECT_APP) == bytes.fromhex("6A82")


def test_a_reset_deselects() -> None:
    tag = selected(file=SELECT_CC)
    tag.reset()
    assert tag.process_apdu(bytes.fromhex("00B0000002")) == bytes.fromhex("6986")
    assert tag.process_apdu(SELECT_CC) == bytes.fromhex("6A82")


@pytest.mark.parametrize(
    "fields", [{"mle": 14, "mlc": 1}, {"mle": 15, "mlc": 0}, {"mle": 15, "mlc": 1, "ndef_file_size": 4}]
)
def test_capability_limits(fields: dict[str, int]) -> None:
    fields.setdefault("ndef_file_size", 1024)
    with pytest.raises(CapabilityError):
        CapabilityContainer(**fields)
