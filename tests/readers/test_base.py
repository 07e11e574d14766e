"""The Reader base class's shared 61xx/6Cxx handling, the loopback reader and the registry."""

from __future__ import annotations

import threading
import time

import pytest

from card_emulation import EmvApplet
from emvcore.dol import dol_data_length, parse_dol
from emvcore.keyfile import IssuerKeySet
from terminal.errors import CardRemovedError, NoCardError, ReaderError, ReaderUnavailableError
from terminal.readers import BACKENDS, backend, open_reader
from terminal.readers.base import MAX_GET_RESPONSE, CardInfo
from terminal.readers.emulated import EMULATED_ATR, EmulatedReader, LoopbackReader
from tests.card_emulation.support import gpo_command, make_card
from tests.terminal.support import ScriptedReader

GET_DATA = bytes.fromhex("80CA9F3600")


@pytest.fixture(params=["visa", "mastercard"])
def applet(request: pytest.FixtureRequest, keys: IssuerKeySet) -> EmvApplet:
    """Both profiles in the loopback reader (the conformance suite's ``applet`` is one visa)."""
    return EmvApplet(make_card(keys, request.param))


def test_plain_response_passes_through() -> None:
    reader = ScriptedReader(["9F360200019000"])
    assert reader.transceive(GET_DATA) == bytes.fromhex("9F360200019000")
    assert reader.sent == [GET_DATA]


@pytest.mark.parametrize("sw", ["6A82", "6985", "6300", "9000"])
def test_status_words_are_returned_as_is(sw: str) -> None:
    assert ScriptedReader([sw]).transceive(GET_DATA) == bytes.fromhex(sw)


def test_61xx_chaining_concatenates_data() -> None:
    # Some cards send data with 61xx; every part is kept, in order.
    reader = ScriptedReader(["6F0A6105", "01020304056103", "AABBCC9000"])
    assert reader.transceive(GET_DATA) == bytes.fromhex("6F0A0102030405AABBCC9000")
    assert reader.sent == [GET_DATA, bytes.fromhex("00C0000005"), bytes.fromhex("00C0000003")]


def test_6100_asks_for_256_bytes() -> None:
    reader = ScriptedReader(["6100", bytes(256) + b"\x90\x00"])
    assert reader.transceive(GET_DATA) == bytes(256) + b"\x90\x00"
    assert reader.sent[1] == bytes.fromhex("00C0000000")


def test_6cxx_resends_the_same_command_with_le() -> None:
    reader = ScriptedReader(["6C05", "9F360200019000"])
    assert reader.transceive(GET_DATA) == bytes.fromhex("9F360200019000")
    assert reader.sent == [GET_DATA, bytes.fromhex("80CA9F3605")]


def test_6cxx_on_a_case_4_command_keeps_the_data() -> None:
    command = bytes.fromhex("80A8000002830000")
    reader = ScriptedReader(["6C10", "6108", "00112233445566779000"])
    assert reader.transceive(command) == bytes.fromhex("00112233445566779000")
    assert reader.sent == [command, bytes.fromhex("80A8000002830010"), bytes.fromhex("00C0000008")]


def test_6c00_means_le_256() -> None:
    reader = ScriptedReader(["6C00", "9000"])
    reader.transceive(bytes.fromhex("00B2010C"))
    assert reader.sent[1] == bytes.fromhex("00B2010C00")


def test_6cxx_on_something_that_is_not_an_apdu() -> None:
    with pytest.raises(ReaderError, match="not an APDU"):
        ScriptedReader(["6C05"]).transceive(b"\x00\xa4")


def test_61xx_forever_stops() -> None:
    reader = ScriptedReader(["6110"], repeat_last=True)
    with pytest.raises(ReaderError) as exc:
        reader.transceive(GET_DATA)
    assert str(exc.value) == f"card kept answering 61xx after {MAX_GET_RESPONSE} GET RESPONSE"
    assert len(reader.sent) == 1 + MAX_GET_RESPONSE
    assert set(reader.sent[1:]) == {bytes.fromhex("00C0000010")}


@pytest.mark.parametrize("frames", [["90"], [""], ["6102", "01"]])
def test_response_shorter_than_a_status_word(frames: list[str]) -> None:
    with pytest.raises(ReaderError, match=r"less than a status word"):
        ScriptedReader(frames).transceive(GET_DATA)


def test_context_manager_closes() -> None:
    reader = ScriptedReader([])
    with reader as same:
        assert same is reader
    assert reader.closed


# -- loopback ------------------------------------------------------------------------------------


def test_wait_for_card_times_out() -> None:
    reader = LoopbackReader()
    started = time.monotonic()
    with pytest.raises(NoCardError, match="no card presented"):
        reader.wait_for_card(0.05)
    assert time.monotonic() - started < 2


def test_wait_for_card_wakes_on_insert(applet: EmvApplet) -> None:
    reader = LoopbackReader()
    timer = threading.Timer(0.05, reader.insert, args=(applet,))
    timer.start()
    try:
        assert reader.wait_for_card(5) == CardInfo(atr=EMULATED_ATR)
    finally:
        timer.cancel()
    assert EMULATED_ATR == bytes.fromhex("3B8001800101")


def test_remove_mid_transaction(applet: EmvApplet) -> None:
    reader = LoopbackReader(applet)
    assert (
        reader.transceive(bytes.fromhex("00A404000E325041592E5359532E444446303100"))[-2:]
        == b"\x90\x00"
    )
    reader.remove()
    with pytest.raises(CardRemovedError, match="card removed from the field"):
        reader.transceive(bytes.fromhex("00A4040007") + applet.profile.aid + b"\x00")
    with pytest.raises(NoCardError):
        reader.wait_for_card(0.01)
    reader.insert(applet)
    assert reader.transceive(GET_DATA)[-2:] == b"\x90\x00"


# -- registry ------------------------------------------------------------------------------------


def test_registry() -> None:
    assert backend("emulated") is EmulatedReader
    with pytest.raises(ReaderUnavailableError) as exc:
        backend("nosuch")
    assert str(exc.value) == "unknown reader backend 'nosuch' (known: emulated, nfc, pcsc)"
    with pytest.raises(ReaderUnavailableError, match="unknown reader backend 'nosuch'"):
        open_reader("nosuch:x")


def test_missing_library_gives_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(BACKENDS, "fake", ("tap_no_such_module_xyz:Reader", "pcsc"))
    with pytest.raises(ReaderUnavailableError) as exc:
        backend("fake")
    assert str(exc.value) == (
        "reader backend 'fake' needs tap_no_such_module_xyz; install it with: pip install 'tap-stack[pcsc]'"
    )


def test_backend_without_from_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(BACKENDS, "loop", ("terminal.readers.emulated:LoopbackReader", None))
    assert backend("loop") is LoopbackReader
    monkeypatch.setitem(BACKENDS, "base", ("terminal.readers.base:Reader", None))
    with pytest.raises(ReaderUnavailableError, match="cannot be opened from a spec"):
        open_reader("base:x")


@pytest.mark.parametrize("le", ["05", "01", None], ids=["le-05", "le-01", "no-le"])
def test_the_emulated_card_s_6cxx_and_61xx_meet_the_reader_s_rules(
    applet: EmvApplet, le: str | None
) -> None:
    """The applet honours Le (6Cxx) and Ne = 0 (61xx); ``transceive`` gets the whole record."""
    reader = LoopbackReader(applet)
    reader.transceive(bytes.fromhex("00A404000E325041592E5359532E444446303100"))
    reader.transceive(bytes.fromhex("00A4040007") + applet.profile.aid + b"\x00")
    pdol_data = bytes(dol_data_length(parse_dol(applet.profile.pdol)))
    assert reader.transceive(gpo_command(pdol_data))[-2:] == b"\x90\x00"
    full = reader.transceive(bytes.fromhex("00B2010C00"))
    command = bytes.fromhex("00B2010C" + (le or ""))
    assert applet.process_apdu(command)[-2] in (0x6C, 0x61)  # the card alone refuses
    assert reader.transceive(command) == full  # the reader's rules recover the record
