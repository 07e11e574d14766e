"""The DUKPT transaction counter and future-key registers, shared by TDES and AES DUKPT.

Both DUKPT variants grow a tree of keys from the initial key by the one-bits of the
transaction counter, most significant bit first (ANSI X9.24-1-2009 Annex A, ANSI
X9.24-3-2017 section 6); they differ only in the counter's width, the most one-bits a
counter may have, and the one-way function that derives a child key. This module holds
what they share, with that function passed in as ``derive(parent_key, counter)``:

- :class:`CounterRules`: width and one-bit limit, the next valid counter (a counter at the
  limit jumps by its lowest one-bit, so invalid counters are skipped), exhaustion;
- :func:`derive_along_counter`: the host-side walk from the initial key to the key of one
  counter, from the KSN alone;
- :class:`FutureKeyRegisters`: the originating device's state machine, one register per
  counter bit, each key erased once used.

    >>> AES_COUNTER.next_counter(0x0000FFFF)   # 16 one-bits: jump to the next valid counter
    65536
    >>> TDES_COUNTER.is_valid(0x1FF800), TDES_COUNTER.is_valid(0x1FFC00)
    (True, False)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from emvcore.errors import DukptError, DukptExhaustedError

__all__ = [
    "AES_COUNTER",
    "TDES_COUNTER",
    "CounterRules",
    "DeriveChild",
    "FutureKeyRegisters",
    "derive_along_counter",
]

DeriveChild = Callable[[bytes, int], bytes]
"""``derive(parent_key, counter) -> child_key``: the key of ``counter`` from its parent's."""


def _lowest_bit(counter: int) -> int:
    return counter & -counter


@dataclass(frozen=True, slots=True)
class CounterRules:
    """A DUKPT transaction counter: ``bits`` wide, at most ``max_one_bits`` one-bits."""

    bits: int
    max_one_bits: int

    @property
    def limit(self) -> int:
        """One past the largest counter the field can hold (``2 ** bits``)."""
        return 1 << self.bits

    def is_valid(self, counter: int) -> bool:
        """True for a counter a device may use: not zero, in range, not too many one-bits.

        >>> AES_COUNTER.is_valid(0), AES_COUNTER.is_valid(0x1FFFE), AES_COUNTER.is_valid(0x1FFFF)
        (False, True, False)
        """
        return 0 < counter < self.limit and counter.bit_count() <= self.max_one_bits

    def check(self, counter: int) -> None:
        """Raise :class:`DukptError` unless :meth:`is_valid`; the message says why."""
        if not 0 < counter < self.limit:
            raise DukptError(f"a transaction counter is 1 to {self.limit - 1:#x}, not {counter:#x}")
        if counter.bit_count() > self.max_one_bits:
            raise DukptError(
                f"transaction counter {counter:#x} has {counter.bit_count()} one-bits; "
                f"at most {self.max_one_bits} are allowed"
            )

    def next_counter(self, counter: int) -> int:
        """The counter after ``counter``, skipping the ones with too many one-bits.

        Below the one-bit limit the counter is incremented; at the limit the lowest one-bit
        is added instead (X9.24-1 A.2 "New Key-3", X9.24-3 6.5 "Update State for next
        Transaction"), which lands on the next counter within the limit. Past the last
        counter the device is exhausted: :class:`DukptExhaustedError`.

        >>> hex(AES_COUNTER.next_counter(0x1FFFE)), hex(TDES_COUNTER.next_counter(0x0FFC00))
        ('0x20000', '0x100000')
        >>> AES_COUNTER.next_counter(0xFFFF0000)
        Traceback (most recent call last):
        ...
        emvcore.errors.DukptExhaustedError: the transaction counter is exhausted after 0xffff0000
        """
        self.check(counter)
        if counter.bit_count() < self.max_one_bits:
            following = counter + 1
        else:
            following = counter + _lowest_bit(counter)
        if following >= self.limit:
            raise DukptExhaustedError(f"the transaction counter is exhausted after {counter:#x}")
        return following


AES_COUNTER = CounterRules(bits=32, max_one_bits=16)
"""AES DUKPT: a 32-bit counter with at most 16 one-bits (ANSI X9.24-3-2017 section 6.1)."""

TDES_COUNTER = CounterRules(bits=21, max_one_bits=10)
"""TDES DUKPT: a 21-bit counter with at most 10 one-bits (ANSI X9.24-1-2009 A.1)."""


def derive_along_counter(initial_key: bytes, counter: int, bits: int, derive: DeriveChild) -> bytes:
    """The key of ``counter``: one derivation per one-bit, most significant first.

    This is the receiving (host) side of DUKPT (X9.24-1 A.6, X9.24-3 6.6): starting from
    the initial key with a working counter of zero, each one-bit of ``counter`` is set in
    the working counter and the key is replaced by ``derive(key, working_counter)``. It
    checks nothing; the caller decides whether the counter is one a device may use.

    >>> trace: list[int] = []
    >>> _ = derive_along_counter(b"k", 0b1011, 4, lambda key, c: trace.append(c) or key)
    >>> [bin(c) for c in trace]
    ['0b1000', '0b1010', '0b1011']
    """
    key = initial_key
    working = 0
    for bit in reversed(range(bits)):
        mask = 1 << bit
        if counter & mask:
            working |= mask
            key = derive(key, working)
    return key


class FutureKeyRegisters:
    """The originating device's DUKPT state: one future-key register per counter bit.

    Register ``i`` holds the key of the counter that the current counter's path reaches by
    setting bit ``i``. Loading the initial key fills every register (counter zero with each
    single bit set) and erases the initial key. Each transaction uses the register of the
    counter's lowest one-bit; afterwards, if the counter is below its one-bit limit, the
    registers below that bit are filled from the key just used; the used key is erased and
    the counter moves on (X9.24-1 A.2, X9.24-3 6.5). A register found empty is skipped by
    adding its bit to the counter, and past the last counter the device is exhausted.

    The keys never appear in a ``repr``. ``registers`` exposes them for test vectors (the
    intermediate derivation keys of X9.24-3), read-only.
    """

    __slots__ = ("_counter", "_derive", "_registers", "_rules")

    def __init__(self, initial_key: bytes, rules: CounterRules, derive: DeriveChild) -> None:
        self._rules = rules
        self._derive = derive
        self._registers: list[bytes | None] = [None] * rules.bits
        self._fill(initial_key, 0, rules.bits - 1)
        self._counter = 1

    @classmethod
    def restore(
        cls,
        registers: tuple[bytes | None, ...],
        counter: int,
        rules: CounterRules,
        derive: DeriveChild,
    ) -> FutureKeyRegisters:
        """The registers as :attr:`registers` and :attr:`counter` saved them (a state file).

        >>> derive: DeriveChild = lambda key, c: key + c.to_bytes(4, "big")
        >>> saved = FutureKeyRegisters(b"k", TDES_COUNTER, derive)
        >>> _ = saved.use()
        >>> again = FutureKeyRegisters.restore(saved.registers, saved.counter, TDES_COUNTER, derive)
        >>> again.peek() == saved.peek()
        True
        """
        if len(registers) != rules.bits:
            raise DukptError(f"a DUKPT state holds {rules.bits} registers, not {len(registers)}")
        if not 0 < counter <= rules.limit:
            raise DukptError(f"a saved transaction counter is 1 to {rules.limit:#x}")
        state = cls.__new__(cls)
        state._rules = rules
        state._derive = derive
        state._registers = list(registers)
        state._counter = counter
        return state

    def __repr__(self) -> str:
        filled = sum(register is not None for register in self._registers)
        return f"FutureKeyRegisters(counter={self._counter:#x}, filled={filled})"

    def _fill(self, parent_key: bytes, counter: int, top_bit: int) -> None:
        for bit in range(top_bit, -1, -1):
            self._registers[bit] = self._derive(parent_key, counter | (1 << bit))

    @property
    def counter(self) -> int:
        """The counter of the next transaction (before empty registers are skipped)."""
        return self._counter

    @property
    def registers(self) -> tuple[bytes | None, ...]:
        """The future-key registers, index ``i`` for counter bit ``i`` (``None``: erased)."""
        return tuple(self._registers)

    def _seek(self) -> tuple[int, int]:
        """Skip to a counter whose register holds a key: (counter, register index)."""
        counter = self._counter
        while True:
            if counter >= self._rules.limit:
                raise DukptExhaustedError("the transaction counter is exhausted")
            index = _lowest_bit(counter).bit_length() - 1
            if self._registers[index] is not None:
                return counter, index
            counter += 1 << index

    def peek(self) -> tuple[int, bytes]:
        """The next transaction's counter and key, leaving the state as it is."""
        counter, index = self._seek()
        key = self._registers[index]
        assert key is not None  # _seek returns a filled register
        return counter, key

    def use(self) -> tuple[int, bytes]:
        """The next transaction's counter and key; the key is erased and the counter moves on.

        The state is advanced before the key is returned, so a key is never handed out
        twice even if the caller fails to finish the transaction.
        """
        counter, index = self._seek()
        key = self._registers[index]
        assert key is not None
        if counter.bit_count() < self._rules.max_one_bits:
            self._fill(key, counter, index - 1)
            following = counter + 1
        else:
            following = counter + (1 << index)
        self._registers[index] = None
        self._counter = following
        return counter, key
