"""What a harness raises when the code under test breaks a property (not merely crashes)."""

from __future__ import annotations


class PropertyViolation(AssertionError):
    """A property of the target does not hold for this input (a finding, like a crash)."""


def check(condition: bool, message: str) -> None:
    """Raise :class:`PropertyViolation` with ``message`` unless ``condition`` holds.

    >>> check(1 + 1 == 2, "arithmetic")
    >>> check(False, "decode(encode(x)) differs")
    Traceback (most recent call last):
    ...
    tests.fuzz.properties.PropertyViolation: decode(encode(x)) differs
    """
    if not condition:
        raise PropertyViolation(message)
