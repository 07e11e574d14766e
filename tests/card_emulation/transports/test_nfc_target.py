"""The nfcpy target loop against a scripted ContactlessFrontend: what the udp driver hands
over (the raw RATS) and what PN53x/RC-S380 drivers hand over (the first I-block, the chip
having answered RATS), S(WTX) while the card computes, S(DESELECT), and RF off."""

from __future__ import annotations

import threading
import time

import nfc.clf
import pytest

from card_emulation.transports.nfc_target import NfcTarget
from tests.readers.stacks import Recorder, SlowCard


class ScriptedFrontend:
    """listen() activates once with ``first``; exchange() plays the reader's ``frames``."""

    def __init__(self, first: bytes, frames: list[bytes | type[Exception]]) -> None:
        self.first, self.frames = first, list(frames)
        self.sent: list[bytes] = []
        self.listens = 0
        #: Set when the target listens again, i.e. it has finished with the first card.
        self.listening_again = threading.Event()

    def listen(self, target: nfc.clf.LocalTarget, timeout: float) -> nfc.clf.LocalTarget | None:
        self.listens += 1
        if self.listens > 1:
            self.listening_again.set()
            time.sleep(0.01)  # a radio with no card in range, not spinning the CPU
            return None
        assert target.sel_res == b"\x20" and len(target.sdd_res) == 4
        return nfc.clf.LocalTarget("106A", tt4_cmd=bytearray(self.first))

    def exchange(self, data: bytearray | None, timeout: float) -> bytearray:
        if data is not None:
            self.sent.append(bytes(data))
        if timeout == 0:
            return bytearray()
        if not self.frames:
            raise nfc.clf.BrokenLinkError("RFOFF")
        frame = self.frames.pop(0)
        if isinstance(frame, type):
            raise frame("scripted")
        return bytearray(frame)

    def close(self) -> None:
        pass


def serve_once(card: object, frontend: ScriptedFrontend, **options: object) -> NfcTarget:
    target = NfcTarget(card, "udp:127.0.0.1:9", **options)  # type: ignore[arg-type]
    target._clf = frontend
    thread = threading.Thread(target=target.serve, daemon=True)
    thread.start()
    frontend.listening_again.wait(5)
    target._closed.set()
    thread.join(5)
    return target


def test_udp_hands_over_the_rats() -> None:
    card = Recorder(b"\x6f\x00\x90\x00")
    frontend = ScriptedFrontend(bytes.fromhex("E080"), [bytes.fromhex("02 00A4040000"), b"\xc2"])
    target = serve_once(card, frontend)
    assert frontend.sent == [bytes.fromhex("0578008000"), bytes.fromhex("02 6F009000"), b"\xc2"]
    assert card.commands == [bytes.fromhex("00A4040000")] and target.sessions == 1


def test_pn53x_hands_over_the_first_i_block() -> None:
    card = Recorder(b"\x90\x00")
    frontend = ScriptedFrontend(bytes.fromhex("02 00A4040000"), [bytes.fromhex("03 00B2010C00")])
    serve_once(card, frontend)
    assert frontend.sent == [bytes.fromhex("02 9000"), bytes.fromhex("03 9000")]
    assert card.commands == [bytes.fromhex("00A4040000"), bytes.fromhex("00B2010C00")]


def test_a_busy_card_asks_for_more_time() -> None:
    card = SlowCard(Recorder(b"\x90\x00"), 0.2, frozenset({0xA8}))
    wtx = bytes.fromhex("F2 04")
    frontend = ScriptedFrontend(
        bytes.fromhex("E080"), [bytes.fromhex("02 80A8000000"), wtx, wtx, wtx]
    )
    target = serve_once(card, frontend, wtxm=4)
    requests = [f for f in frontend.sent if f[0] == 0xF2]
    assert requests and all(f == wtx for f in requests)
    assert frontend.sent[-1] == bytes.fromhex("02 9000")
    assert target.wtx_sent == len(requests)


@pytest.mark.parametrize("loss", [nfc.clf.BrokenLinkError, nfc.clf.TimeoutError])
def test_link_loss_ends_the_session_and_listens_again(loss: type[Exception]) -> None:
    frontend = ScriptedFrontend(bytes.fromhex("E080"), [loss])
    target = serve_once(Recorder(), frontend, idle_timeout=0.3)
    assert frontend.listens >= 2 and target.sessions == 1


def test_a_device_that_goes_away_stops_serving_with_the_reason() -> None:
    class Unplugged(ScriptedFrontend):
        def listen(self, target: nfc.clf.LocalTarget, timeout: float) -> None:
            raise OSError(19, "No such device")

    target = NfcTarget(Recorder(), "usb:001:004")
    target.open = lambda: setattr(target, "_clf", Unplugged(b"", []))  # type: ignore[method-assign]
    target.start()
    deadline = time.monotonic() + 5
    while target.serving and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not target.serving
    assert str(target.failure) == "nfcpy device 'usb:001:004' failed: No such device"
    target.close()
