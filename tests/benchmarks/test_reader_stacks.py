"""Taps and APDU round trips through the real reader stacks (DESIGN.md bar: a tap through
pcscd + vpcd, card already present, median at most 100 ms).

Run by `make bench` (under scripts/services.sh, which starts the private pcscd). Prints
figures, asserts only that every tap reached Online Request. A "tap" is what the terminal
does once a card is in the field: wait_for_card (PC/SC: connect and GET UID; nfcpy: RF
reset, polling, anticollision, RATS/ATS) then the kernel: SELECT PPSE, SELECT AID, GPO,
READ RECORDs, GENERATE AC where the path has it. The round trip is one SELECT PPSE (20
bytes out, 56 back), through each transport.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import pytest

from card_emulation import EmvApplet, personalize
from emvcore.keyfile import generate_test_issuer_keys
from emvcore.pan import luhn_check_digit
from emvcore.provisioning import TokenRecord
from terminal.kernel import Kernel, Outcome, Transaction
from tests.benchmarks.report import Report
from tests.readers.stacks import RIGS, Rig

TAPS = 200
ROUND_TRIPS = 2000
SELECT_PPSE = bytes.fromhex("00A404000E325041592E5359532E444446303100")
STACKS = {"loopback": "in-process loopback", "pcsc": "pcscd + vpcd", "nfc": "nfcpy udp"}
PREFIX = {"visa": "489537001234567", "mastercard": "539983001234567"}


def _applet(scheme: str) -> EmvApplet:
    token = PREFIX[scheme] + luhn_check_digit(PREFIX[scheme])
    record = TokenRecord(token, "2912", "00", "T001" + "B" * 25, scheme, True)
    return EmvApplet(personalize("bench", scheme, record, generate_test_issuer_keys()))


def _add(report: Report, name: str, samples: list[float]) -> None:
    """A row of the session's report: median, p99 and max of ``samples`` (seconds)."""
    ms = sorted(s * 1000 for s in samples)
    report.add(
        "reader",
        name,
        f"{len(ms)} samples",
        median_ms=statistics.median(ms),
        p99_ms=ms[min(len(ms) - 1, int(len(ms) * 0.99))],
        max_ms=ms[-1],
    )


def _figures(label: str, samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    n = len(ms)
    return (
        f"{label}: median {statistics.median(ms):.3f} ms, p90 {ms[int(n * 0.9)]:.3f} ms, "
        f"p99 {ms[min(n - 1, int(n * 0.99))]:.3f} ms, max {ms[-1]:.3f} ms ({n} samples)"
    )


def _time(count: int, action: Callable[[], None]) -> list[float]:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return samples


@pytest.mark.parametrize("stack", ["loopback", "pcsc", "nfc"])
@pytest.mark.parametrize("scheme", ["visa", "mastercard"])
def test_full_tap(stack: str, scheme: str, bench_report: Report) -> None:
    rig: Rig = RIGS[stack]()
    kernel = Kernel()
    try:
        rig.insert(_applet(scheme))
        rig.reader.wait_for_card(5)  # the card is in the field before the clock starts

        def tap() -> None:
            rig.reader.wait_for_card(5)
            result = kernel.run(rig.reader, Transaction(1250, "EUR"))
            assert result.outcome is Outcome.ONLINE_REQUEST, result.reason

        tap()
        samples = _time(TAPS, tap)
        print("\n" + _figures(f"full tap, {scheme:10s} through {stack:8s}", samples))
        _add(bench_report, f"tap, {scheme} through {STACKS[stack]}", samples)
    finally:
        rig.close()


@pytest.mark.parametrize("stack", ["loopback", "pcsc", "nfc"])
def test_apdu_round_trip(stack: str, bench_report: Report) -> None:
    rig: Rig = RIGS[stack]()
    try:
        rig.insert(_applet("visa"))
        rig.reader.wait_for_card(5)
        rig.reader.transceive(SELECT_PPSE)

        def round_trip() -> None:
            assert rig.reader.transceive(SELECT_PPSE)[-2:] == b"\x90\x00"

        samples = _time(ROUND_TRIPS, round_trip)
        print("\n" + _figures(f"APDU round trip through {stack:8s}", samples))
        _add(bench_report, f"APDU round trip (SELECT PPSE) through {STACKS[stack]}", samples)
    finally:
        rig.close()


def test_vpcd_round_trip_without_tcp_quickack() -> None:
    """What TCP_QUICKACK saves: vpcd writes length and payload separately (Nagle + delayed ACK)."""
    from card_emulation.transports.vpcd import VpcdCard
    from tests.readers.stacks import PcscRig

    rig = PcscRig()
    try:
        vpcd = VpcdCard(_applet("visa"), port=rig.port, quickack=False)
        vpcd.start()
        rig.vpcd = vpcd
        rig.reader.wait_for_card(5)

        def round_trip() -> None:
            assert rig.reader.transceive(SELECT_PPSE)[-2:] == b"\x90\x00"

        round_trip()
        print(
            "\n"
            + _figures(
                "APDU round trip through pcsc     without TCP_QUICKACK", _time(40, round_trip)
            )
        )
    finally:
        rig.close()
