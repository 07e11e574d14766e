"""The counter rules and the future-key register engine, exhaustively on small counters.

The engine is the same for TDES (21 bits, 10 one-bits) and AES (32 bits, 16 one-bits);
run over every counter of narrow fields with a cheap, traceable derivation, it must give
each valid counter exactly once, in order, with the key the host walk gives, then refuse.
"""

from __future__ import annotations

import hashlib
from math import comb

import pytest

from emvcore.crypto.dukpt.counter import (
    AES_COUNTER,
    TDES_COUNTER,
    CounterRules,
    FutureKeyRegisters,
    derive_along_counter,
)
from emvcore.errors import DukptError, DukptExhaustedError

pytestmark = pytest.mark.filterwarnings("error")


def derive(parent: bytes, counter: int) -> bytes:
    return hashlib.sha256(parent + counter.to_bytes(8, "big")).digest()[:8]


INITIAL = b"initial!"


@pytest.mark.parametrize(("bits", "max_ones"), [(4, 4), (6, 2), (8, 3), (10, 5), (12, 6)])
def test_registers_give_every_valid_counter_once_then_refuse(bits: int, max_ones: int) -> None:
    rules = CounterRules(bits, max_ones)
    registers = FutureKeyRegisters(INITIAL, rules, derive)
    used: list[int] = []
    with pytest.raises(DukptExhaustedError):
        while True:
            peeked = registers.peek()
            counter, key = registers.use()
            assert (counter, key) == peeked
            assert key == derive_along_counter(INITIAL, counter, bits, derive)
            used.append(counter)
    valid = [c for c in range(1, 1 << bits) if rules.is_valid(c)]
    assert used == valid
    assert len(used) == sum(comb(bits, ones) for ones in range(1, max_ones + 1))
    with pytest.raises(DukptExhaustedError):
        registers.use()


def test_used_keys_are_erased() -> None:
    registers = FutureKeyRegisters(INITIAL, CounterRules(8, 3), derive)
    counter, key = registers.use()
    assert counter == 1 and key not in registers.registers
    assert INITIAL not in registers.registers
    assert "initial" not in repr(registers) and key.hex() not in repr(registers)


def test_next_counter_matches_the_engine() -> None:
    rules = CounterRules(10, 4)
    registers = FutureKeyRegisters(INITIAL, rules, derive)
    counter, _ = registers.use()
    while True:
        try:
            following = rules.next_counter(counter)
        except DukptExhaustedError:
            with pytest.raises(DukptExhaustedError):
                registers.use()
            break
        assert registers.use()[0] == following
        counter = following


@pytest.mark.parametrize(
    ("rules", "counter", "following"),
    [
        (AES_COUNTER, 1, 2),
        (AES_COUNTER, 0x0000FFFF, 0x00010000),
        (AES_COUNTER, 0x0001FFFE, 0x00020000),
        (AES_COUNTER, 0xFFFE8000, 0xFFFF0000),
        (TDES_COUNTER, 0x0FF801, 0x0FF802),
        (TDES_COUNTER, 0x0FFC00, 0x100000),
    ],
)
def test_published_counter_steps(rules: CounterRules, counter: int, following: int) -> None:
    assert rules.next_counter(counter) == following


@pytest.mark.parametrize(("rules", "last"), [(AES_COUNTER, 0xFFFF0000), (TDES_COUNTER, 0x1FF800)])
def test_last_counter_is_exhausted(rules: CounterRules, last: int) -> None:
    assert rules.is_valid(last)
    with pytest.raises(DukptExhaustedError, match="exhausted"):
        rules.next_counter(last)


@pytest.mark.parametrize("counter", [0, -1, 1 << 32, 0x0001FFFF, 0xFFFFFFFF])
def test_invalid_aes_counters(counter: int) -> None:
    assert not AES_COUNTER.is_valid(counter)
    with pytest.raises(DukptError):
        AES_COUNTER.check(counter)
