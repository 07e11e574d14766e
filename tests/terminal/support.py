"""Test doubles for the terminal tests: scripted readers and card wrappers."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from card_emulation import EmvApplet
from emvcore import tlv
from terminal.readers.base import CardInfo, Reader
from terminal.readers.emulated import LoopbackReader


class ScriptedReader(Reader):
    """A backend whose card answers with scripted byte frames (nfcpy-style), recording commands."""

    name = "scripted"

    def __init__(self, frames: Sequence[bytes | str], *, repeat_last: bool = False) -> None:
        super().__init__()
        self.frames = [bytes.fromhex(f) if isinstance(f, str) else f for f in frames]
        self.repeat_last = repeat_last
        self.sent: list[bytes] = []
        self.closed = False

    def _wait_for_card(self, timeout: float | None) -> CardInfo:
        return CardInfo(atr=b"\x3b\x80\x80\x01\x01")

    def _wait_for_removal(self, timeout: float | None) -> bool:
        return True

    def _transmit(self, apdu: bytes) -> bytes:
        self.sent.append(apdu)
        if self.repeat_last and len(self.frames) == 1:
            return self.frames[0]
        return self.frames.pop(0)

    def close(self) -> None:
        self.closed = True


class RecordingReader(LoopbackReader):
    """A loopback reader that records each command and response and can act on them."""

    def __init__(
        self, card: object, *, after: Callable[[RecordingReader, bytes, bytes], None] | None = None
    ) -> None:
        super().__init__(card)  # type: ignore[arg-type]
        self.log: list[tuple[bytes, bytes]] = []
        self._after = after

    @property
    def instructions(self) -> list[int]:
        return [command[1] for command, _ in self.log]

    def _transmit(self, apdu: bytes) -> bytes:
        response = super()._transmit(apdu)
        self.log.append((apdu, response))
        if self._after is not None:
            self._after(self, apdu, response)
        return response


class PatchedCard:
    """Wraps a card; ``patch(command, response) -> response`` rewrites answers, ``rewrite`` commands."""

    def __init__(
        self,
        card: EmvApplet,
        patch: Callable[[bytes, bytes], bytes] | None = None,
        rewrite: Callable[[bytes], bytes] | None = None,
    ) -> None:
        self.card = card
        self.patch = patch
        self.rewrite = rewrite

    def process_apdu(self, apdu: bytes) -> bytes:
        if self.rewrite is not None:
            apdu = self.rewrite(apdu)
        response = self.card.process_apdu(apdu)
        return self.patch(apdu, response) if self.patch is not None else response


class TwoApplicationCard:
    """A card with two applications behind one PPSE, each entry with the priority given."""

    def __init__(self, applets: Sequence[EmvApplet], priorities: Sequence[int | None]) -> None:
        self.applets = list(applets)
        self.priorities = list(priorities)
        self.current: EmvApplet | None = None

    def _ppse(self) -> bytes:
        entries = b""
        for applet, priority in zip(self.applets, self.priorities, strict=True):
            items = [(0x4F, applet.profile.aid), (0x50, applet.profile.label.encode())]
            if priority is not None:
                items.append((0x87, bytes([priority])))
            items.append((0x9F2A, bytes([applet.profile.kernel_id])))
            entries += tlv.encode(0x61, tlv.encode_many(items))
        return ppse_fci(entries)

    def process_apdu(self, apdu: bytes) -> bytes:
        if apdu[:4] == bytes.fromhex("00A40400") and b"2PAY.SYS.DDF01" in apdu:
            self.current = None
            return self._ppse() + b"\x90\x00"
        if apdu[:2] == bytes.fromhex("00A4"):
            for applet in self.applets:
                response = applet.process_apdu(apdu)
                if response[-2:] == b"\x90\x00":
                    self.current = applet
                    return response
            return b"\x6a\x82"
        if self.current is None:
            return b"\x69\x85"
        return self.current.process_apdu(apdu)


def ppse_fci(entries: bytes) -> bytes:
    """A PPSE FCI around directory entries (each a complete tag 61)."""
    return tlv.encode(
        0x6F, tlv.encode(0x84, b"2PAY.SYS.DDF01") + tlv.encode(0xA5, tlv.encode(0xBF0C, entries))
    )


def entry(
    aid: str, priority: int | None = None, kernel: int | None = None, label: bytes = b""
) -> bytes:
    """One PPSE directory entry (tag 61)."""
    items = [(0x4F, bytes.fromhex(aid))]
    if label:
        items.append((0x50, label))
    if priority is not None:
        items.append((0x87, bytes([priority])))
    if kernel is not None:
        items.append((0x9F2A, bytes([kernel])))
    return tlv.encode(0x61, tlv.encode_many(items))
