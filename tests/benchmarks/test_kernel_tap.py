"""Kernel time per tap against the in-process emulated card (DESIGN.md bar: median <= 5 ms).

Run by `make bench`; prints figures, asserts only that every tap reached Online Request.
Figures are wall-clock per full tap: SELECT PPSE, SELECT AID, GPO, READ RECORDs, GENERATE AC
where the path has it, data record built, plus the card's own cryptography.
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
from terminal.readers.emulated import LoopbackReader

TAPS = 2000


def _reader(scheme: str, prefix: str) -> LoopbackReader:
    token = prefix + luhn_check_digit(prefix)
    record = TokenRecord(token, "2912", "00", "T001" + "B" * 25, scheme, True)
    card = personalize("bench", scheme, record, generate_test_issuer_keys())
    return LoopbackReader(EmvApplet(card))


@pytest.mark.parametrize(
    ("scheme", "prefix"), [("visa", "489537001234567"), ("mastercard", "539983001234567")]
)
def test_kernel_tap_time(scheme: str, prefix: str) -> None:
    reader, kernel = _reader(scheme, prefix), Kernel()
    samples = []
    for _ in range(TAPS):
        txn = Transaction(1250, "EUR")
        start = time.perf_counter()
        result = kernel.run(reader, txn)
        samples.append(time.perf_counter() - start)
        assert result.outcome is Outcome.ONLINE_REQUEST
    samples.sort()
    ms = [s * 1000 for s in samples]
    print(
        f"\nkernel tap, {scheme:10s} in-process, {TAPS} taps: median {statistics.median(ms):.3f} ms, "
        f"p90 {ms[int(TAPS * 0.9)]:.3f} ms, p99 {ms[int(TAPS * 0.99)]:.3f} ms, max {ms[-1]:.3f} ms"
    )
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(200):
        kernel.run(reader, Transaction(1250, "EUR"))
    profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(8)
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:2500])
