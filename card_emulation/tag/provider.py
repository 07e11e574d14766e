"""The Type 4 Tag as the terminal's tag provider: ``tap-terminal tag`` finds it here.

The terminal never imports card_emulation: its tag mode looks up the entry point group
``tap.tags`` (pyproject ``[project.entry-points."tap.tags"]``), where this distribution
registers :func:`open_tag`, as ``tap.cards`` holds :func:`card_emulation.provider.stored_card`.
The tag is served by one of the card-side transports:

- ``memory``           no radio: the terminal (or a test) calls ``process_apdu`` itself;
- ``vpcd[:PORT]``      inside pcscd, a PC/SC reader of vsmartcard's vpcd driver;
- ``nfc:PATH``         an nfcpy device listening as a Type 4A target (``nfc:udp:127.0.0.1:PORT``).
"""

from __future__ import annotations

from collections.abc import Callable

from card_emulation.tag.type4 import Type4Tag
from card_emulation.transports.vpcd import DEFAULT_PORT

Content = bytes | Callable[[], bytes]


class ServedTag:
    """A :class:`Type4Tag` in the field of one transport: ``present``, ``clear``, ``close``."""

    def __init__(self, transport: str) -> None:
        self.tag = Type4Tag()
        self.transport = transport
        self._close: Callable[[], None] = lambda: None
        kind, _, rest = transport.partition(":")
        if kind == "memory":
            return
        if kind == "vpcd":
            from card_emulation.transports.vpcd import VpcdCard

            vpcd = VpcdCard(self.tag, port=int(rest) if rest else DEFAULT_PORT)
            vpcd.start()
            self._close = vpcd.remove
        elif kind == "nfc" and rest:
            from card_emulation.transports.nfc_target import NfcTarget

            target = NfcTarget(self.tag, rest)
            target.start()
            self._close = target.close
        else:
            raise LookupError(f"unknown tag transport {transport!r} (memory, vpcd[:PORT], nfc:PATH)")

    def process_apdu(self, apdu: bytes) -> bytes:
        """The tag's answer to one command APDU (the ``memory`` transport's radio)."""
        return self.tag.process_apdu(apdu)

    def present(self, content: Content) -> None:
        """Present an NDEF message (or a callable making one at every tap)."""
        self.tag.present(content)

    def clear(self) -> None:
        """Present the idle message: nothing to pay."""
        self.tag.clear()

    def close(self) -> None:
        """Leave the field (stop the transport)."""
        self.tag.clear()
        self._close()


def open_tag(transport: str = "memory") -> ServedTag:
    """A dynamic Type 4 Tag served by ``transport`` (module docstring); idle at first."""
    return ServedTag(transport)
