"""Reading structured choices out of a fuzzer's bytes, the same way every time.

atheris ships a ``FuzzedDataProvider``, but the harnesses must also run without atheris
(the corpus replay in every ``pytest`` run, the hypothesis fallback), so they read their
input through this small, pure reader instead. Every method is total: once the bytes run
out it returns the smallest answer (``0``, ``b""``, ``False``), so any byte string is a
valid input and a corpus file means the same thing on every machine.

>>> s = ByteStream(bytes([7, 2, 0xAA, 0xBB, 0xCC]))
>>> s.byte(), s.chunk(), s.rest(), s.byte(), s.exhausted
(7, b'\\xaa\\xbb', b'\\xcc', 0, True)
"""

from __future__ import annotations


class ByteStream:
    """A cursor over fuzz input; every read is bounded by what is left."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)
        self.pos = 0

    @property
    def exhausted(self) -> bool:
        """Whether every byte has been read."""
        return self.pos >= len(self.data)

    def byte(self) -> int:
        """The next byte, or 0 when none is left."""
        if self.exhausted:
            return 0
        value = self.data[self.pos]
        self.pos += 1
        return value

    def flag(self) -> bool:
        """The low bit of the next byte."""
        return bool(self.byte() & 1)

    def below(self, bound: int) -> int:
        """A number in ``0..bound-1`` from one byte (two when ``bound`` exceeds 256).

        >>> ByteStream(bytes([9])).below(4), ByteStream(b"").below(4)
        (1, 0)
        """
        if bound <= 1:
            return 0
        value = self.byte()
        if bound > 0x100:
            value = (value << 8) | self.byte()
        return value % bound

    def take(self, count: int) -> bytes:
        """The next ``count`` bytes, or fewer when the input ends first."""
        out = self.data[self.pos : self.pos + max(count, 0)]
        self.pos += len(out)
        return out

    def chunk(self, limit: int = 255) -> bytes:
        """A length byte (taken modulo ``limit + 1``), then that many bytes."""
        return self.take(self.byte() % (limit + 1))

    def rest(self) -> bytes:
        """Everything not read yet."""
        return self.take(len(self.data) - self.pos)

    def digits(self, limit: int = 19) -> str:
        """A string of decimal digits (possibly empty), one per byte of a chunk."""
        return "".join(str(b % 10) for b in self.chunk(limit))
