"""``tap-card serve``: keep one card in a real reader stack until Ctrl-C.

The vpcd card reconnects when pcscd restarts (the driver's port goes away and comes back);
the nfcpy target listens again after every tap. Both stop on SIGINT or SIGTERM, which takes
the card out of the field cleanly.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

from rich.console import Console

from card_emulation.applet import EmvApplet
from card_emulation.personalization import personalize
from card_emulation.profiles import profile
from card_emulation.transports import ApduCard, TransportError
from emvcore.keyfile import generate_test_issuer_keys
from emvcore.pan import luhn_check_digit
from emvcore.provisioning import TokenRecord

#: Prefixes inside the BIN ranges of the generated test issuer keys (emvcore.keyfile).
_THROWAWAY_PREFIX = {"visa": "489537990000", "mastercard": "539983990000"}
#: Seconds between two attempts to reach a vpcd port that is not listening (yet).
RECONNECT = 1.0


def parse_host_port(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``:PORT``, on loopback) as a pair.

    >>> parse_host_port("127.0.0.1:35963")
    ('127.0.0.1', 35963)
    >>> parse_host_port(":1234")
    ('127.0.0.1', 1234)
    """
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise TransportError(f"{value!r} is not HOST:PORT")
    return host or "127.0.0.1", int(port)


def throwaway_card(profile_name: str) -> EmvApplet:
    """A card of ``profile_name`` under fresh test issuer keys, known to no acquirer."""
    prof = profile(profile_name)
    prefix = _THROWAWAY_PREFIX.get(prof.scheme, "999999000000") + "123"
    record = TokenRecord(prefix + luhn_check_digit(prefix), "3012", "00", "T001" + "0" * 25,
                         prof.scheme, True)  # fmt: skip
    image = personalize("throwaway", profile_name, record, generate_test_issuer_keys())
    return EmvApplet(image)


class _Stop:
    """SIGINT/SIGTERM set an event instead of raising in the middle of an exchange."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def __enter__(self) -> threading.Event:
        self._old = {
            sig: signal.signal(sig, self._handle) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        return self.event

    def __exit__(self, *_: object) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.event.set()


def serve_vpcd(card: ApduCard, address: str, *, label: str, console: Console) -> None:
    """Keep ``card`` in the vpcd reader at ``address`` until SIGINT/SIGTERM."""
    from card_emulation.transports.vpcd import VpcdCard

    host, port = parse_host_port(address)
    vpcd = VpcdCard(card, host, port)
    waiting_said = False
    with _Stop() as stop:
        while not stop.is_set():
            try:
                vpcd.start()
            except TransportError as exc:
                if not waiting_said:
                    console.print(f"{exc}; retrying every {RECONNECT:g} s (Ctrl-C to stop)")
                    waiting_said = True
                stop.wait(RECONNECT)
                continue
            waiting_said = False
            console.print(f"{label} is in the vpcd reader at {host}:{port} (Ctrl-C removes it)")
            while vpcd.present and not stop.wait(0.2):
                pass
            if not stop.is_set():
                console.print("vpcd closed the connection (pcscd stopped?); reconnecting")
        vpcd.remove()
    console.print(f"{label} removed after {vpcd.apdus} APDUs")


def serve_nfc(card: ApduCard, path: str, *, label: str, console: Console) -> None:
    """Listen as a Type 4A card on the nfcpy device ``path`` until SIGINT/SIGTERM."""
    from card_emulation.transports.nfc_target import NfcTarget

    target = NfcTarget(card, path)
    with _Stop() as stop:
        target.start()
        console.print(f"{label} listens as a Type 4A card on {path} (Ctrl-C removes it)")
        while target.serving and not stop.wait(0.5):
            pass
    target.close()
    if target.failure is not None:
        raise target.failure
    console.print(f"{label} removed after {target.sessions} activations")
