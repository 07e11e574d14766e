"""Transaction Sequence Counter 9F41: one number per transaction, kept across restarts.

EMV Book 3 Annex A names 9F41 "Transaction Sequence Counter", n 4-8: a counter the
terminal maintains and increments by one for each transaction. The Entry Point takes the
next value at Start A (Book B 3.1, once per transaction: a Start B/C/D restart of the same
transaction keeps it). A counter is injected: :class:`MemoryCounter` for tests and
emulated terminals, :class:`FileCounter` for a terminal that must not repeat a number
after a power cut (the value is on disk before it is used).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Protocol

from emvcore.numeric import encode_n

#: 9F41 is sent as n 8 (4 bytes); after 99999999 the counter starts again at 1.
MAX_SEQUENCE = 99_999_999


class SequenceCounter(Protocol):
    """Hands out Transaction Sequence Counter values."""

    def next(self) -> int:
        """The next value (1 after a fresh start)."""
        ...


def encode_sequence(value: int) -> bytes:
    """The 9F41 value, n 8.

    >>> encode_sequence(42).hex()
    '00000042'
    """
    return encode_n(value, 4)


def _after(value: int) -> int:
    return 1 if value >= MAX_SEQUENCE else value + 1


class MemoryCounter:
    """A counter in memory (lost with the process).

    >>> counter = MemoryCounter()
    >>> counter.next(), counter.next(), MemoryCounter(MAX_SEQUENCE).next()
    (1, 2, 1)
    """

    def __init__(self, last: int = 0) -> None:
        self._last = last
        self._lock = threading.Lock()

    def next(self) -> int:
        """The next value."""
        with self._lock:
            self._last = _after(self._last)
            return self._last


class FileCounter:
    """A counter kept in a small text file (the last value handed out, in decimal).

    The new value is written to a temporary file, flushed to disk and renamed over the old
    one before it is returned, so a number is never handed out twice, even across a crash.
    A missing file starts at 1; an unreadable one is an error, never silently reset.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def next(self) -> int:
        """The next value, durable before it is returned."""
        with self._lock:
            try:
                text = self.path.read_text(encoding="ascii").strip()
            except FileNotFoundError:
                text = "0"
            if not text.isdigit():
                raise ValueError(f"transaction sequence counter file {self.path} is corrupt")
            value = _after(int(text))
            self.path.parent.mkdir(parents=True, exist_ok=True)
            scratch = self.path.with_name(self.path.name + ".tmp")
            with scratch.open("w", encoding="ascii") as handle:
                handle.write(f"{value}\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(scratch, self.path)
            return value
