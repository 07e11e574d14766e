"""Kernel time per tap against the in-process emulated card (DESIGN.md bar: median <= 5 ms).

Run by `make bench`; prints figures, asserts only that every tap reached Online Request.
A tap is the whole exchange, offline data authentication included: SELECT PPSE, SELECT
AID, GPO, READ RECORDs, GENERATE AC on the C-2 path, certificate recovery (issuer, ICC),
the fDDA or CDA signature check, CVM and the data record, plus the emulated card's own
work (its ARQC and its RSA signature), through the loopback reader the product uses.

The profile runs the same taps on one thread (card called inline) so it shows where the
time goes, kernel and card together.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import statistics
import time

import pytest

from card_emulation import EmvApplet, personalize
from emvcore.keyfile import generate_test_issuer_keys
from emvcore.pan import luhn_check_digit
from emvcore.provisioning import TokenRecord
from terminal.kernel import Kernel, Outcome, Transaction
from terminal.readers.base import CardInfo, Reader
from terminal.readers.emulated import LoopbackReader
from tests.benchmarks.report import Report

TAPS = 2000
PROFILED_TAPS = 300


class _InlineReader(Reader):
    """The card called on the kernel's own thread: for the profile only."""

    def __init__(self, card: EmvApplet) -> None:
        super().__init__()
        self.card = card

    def _wait_for_card(self, timeout: float | None) -> CardInfo:
        return CardInfo(atr=b"")

    def _wait_for_removal(self, timeout: float | None) -> bool:
        return True

    def _transmit(self, apdu: bytes) -> bytes:
        return self.card.process_apdu(apdu)


def _applet(profile: str, scheme: str, prefix: str) -> EmvApplet:
    token = prefix + luhn_check_digit(prefix)
    record = TokenRecord(token, "2912", "00", "T001" + "B" * 25, scheme, True)
    return EmvApplet(personalize("bench", profile, record, generate_test_issuer_keys()))


@pytest.mark.parametrize(
    ("profile", "scheme", "prefix"),
    [("visa", "visa", "489537001234567"), ("mastercard", "mastercard", "539983001234567")],
)
def test_kernel_tap_time(profile: str, scheme: str, prefix: str, bench_report: Report) -> None:
    applet = _applet(profile, scheme, prefix)
    reader, kernel = LoopbackReader(applet), Kernel()
    samples = []
    for _ in range(TAPS):
        txn = Transaction(1250, "EUR")
        start = time.perf_counter()
        result = kernel.run(reader, txn)
        samples.append((time.perf_counter() - start) * 1000)
        assert result.outcome is Outcome.ONLINE_REQUEST
        assert result.oda_performed
    samples.sort()
    print(
        f"\nkernel tap with ODA, {profile:10s} (C-{result.kernel_id}), {TAPS} taps: "
        f"median {statistics.median(samples):.3f} ms, p90 {samples[int(TAPS * 0.9)]:.3f} ms, "
        f"p99 {samples[int(TAPS * 0.99)]:.3f} ms, max {samples[-1]:.3f} ms"
    )
    bench_report.add(
        "kernel",
        f"tap with ODA in-process, {profile} (C-{result.kernel_id})",
        f"{TAPS} taps, loopback reader",
        median_ms=statistics.median(samples),
        p99_ms=samples[int(TAPS * 0.99)],
        max_ms=samples[-1],
    )
    inline = _InlineReader(applet)
    profile_run = cProfile.Profile()
    profile_run.enable()
    for _ in range(PROFILED_TAPS):
        kernel.run(inline, Transaction(1250, "EUR"))
    profile_run.disable()
    out = io.StringIO()
    stats = pstats.Stats(profile_run, stream=out)
    total_ms = stats.total_tt * 1000 / PROFILED_TAPS  # type: ignore[attr-defined]
    print(
        f"profile, one thread, {PROFILED_TAPS} taps: {total_ms:.3f} ms a tap; top functions by own time:"
    )
    stats.sort_stats("tottime").print_stats(10)
    rows = [
        line for line in out.getvalue().splitlines() if ("(" in line and "/" in line) or "{" in line
    ]
    print("\n".join(rows[:10]))
