"""Key components: a key entered by two or three custodians, none of whom sees the whole.

Each custodian holds one component and its key check value; the key is the XOR of all
components (ANSI X9.24-1 "key components", PCI PIN requirement 13: no one person holds a
full key). Before anything is combined, each component's KCV is checked against the one
on its form, so a mistyped digit is found with the custodian who typed it; the combined
key's KCV is checked against the key's own KCV.

TDES keys carry odd parity in the low bit of every byte (FIPS 46-3 section 3.1); a
component with a parity error is refused as mistyped. The XOR of two odd-parity components
has even parity, so the combined TDES key is parity-adjusted (DES ignores the parity bits:
the KCV is unchanged). AES keys have no parity.

    >>> one = KeyComponent.from_hex("0123456789ABCDEF 0123456789ABCDEF", "D5D44F")
    >>> two = KeyComponent.from_hex("1F3E5D7C9BBAD9F8 102032435464768A", "21BD36")
    >>> key = combine_components([one, two], KeyAlgorithm.TDES, expected_kcv=bytes.fromhex("28C269"))
    >>> key.hex().upper()
    '1F1C191A1310151610027625DCCEBA64'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from hmac import compare_digest

from emvcore.crypto.tdes import adjust_parity, xor
from emvcore.errors import CryptoError, KeyComponentError
from emvcore.keys.check_value import KeyAlgorithm, key_check_value

__all__ = ["KeyComponent", "combine_components", "has_odd_parity"]

_MIN_KCV, _MAX_KCV = 2, 8


def has_odd_parity(key: bytes) -> bool:
    """True when every byte of ``key`` has an odd number of one-bits (FIPS 46-3 3.1).

    >>> has_odd_parity(bytes.fromhex("0123456789ABCDEF")), has_odd_parity(bytes(8))
    (True, False)
    """
    return all(byte.bit_count() & 1 for byte in key)


@dataclass(frozen=True, slots=True)
class KeyComponent:
    """One custodian's component and the KCV printed on its form (3 bytes usually)."""

    value: bytes = field(repr=False)
    kcv: bytes

    @classmethod
    def from_hex(cls, value: str, kcv: str) -> KeyComponent:
        """A component as typed: hex digits, spaces allowed (errors never echo the value)."""
        try:
            return cls(bytes.fromhex(value), bytes.fromhex(kcv))
        except ValueError:
            raise KeyComponentError("a key component or its KCV is not hexadecimal") from None


def _kcv(key: bytes, algorithm: KeyAlgorithm, length: int, component: int | None) -> bytes:
    try:
        return key_check_value(key, algorithm, length)
    except CryptoError as error:
        raise KeyComponentError(str(error), component=component) from None


def _check_kcv_length(kcv: bytes, component: int | None, what: str) -> None:
    if not _MIN_KCV <= len(kcv) <= _MAX_KCV:
        raise KeyComponentError(
            f"the KCV of {what} is {_MIN_KCV} to {_MAX_KCV} bytes long, not {len(kcv)}",
            component=component,
        )


def combine_components(
    components: Sequence[KeyComponent],
    algorithm: KeyAlgorithm,
    *,
    expected_kcv: bytes,
) -> bytes:
    """XOR two or three components into a key, checking every KCV on the way.

    Refused, with :class:`~emvcore.errors.KeyComponentError` naming the component (1-based)
    and never a key value: a count other than 2 or 3; a component of a length the algorithm
    does not have, or of a different length than the first; a TDES component with a parity
    error; a component that does not match its KCV; a combined key that does not match
    ``expected_kcv`` (``component`` is ``None`` then). Returns the key (TDES: odd parity).

    >>> one = KeyComponent(bytes(16), bytes.fromhex("763CBC"))
    >>> combine_components([one, one], KeyAlgorithm.AES, expected_kcv=bytes.fromhex("000000"))
    Traceback (most recent call last):
    ...
    emvcore.errors.KeyComponentError: the combined key does not match its KCV
    """
    count = len(components)
    if count not in (2, 3):
        raise KeyComponentError(f"a key is combined from 2 or 3 components, not {count}")
    _check_kcv_length(expected_kcv, None, "the combined key")
    length = len(components[0].value)
    for number, component in enumerate(components, start=1):
        where = f"component {number} of {count}"
        if len(component.value) != length:
            raise KeyComponentError(
                f"{where} is {len(component.value)} bytes long; component 1 is {length}",
                component=number,
            )
        _check_kcv_length(component.kcv, number, where)
        computed = _kcv(component.value, algorithm, len(component.kcv), number)
        if algorithm is KeyAlgorithm.TDES and not has_odd_parity(component.value):
            raise KeyComponentError(
                f"{where} has a parity error (a byte without odd parity)", component=number
            )
        if not compare_digest(computed, component.kcv):
            raise KeyComponentError(f"{where} does not match its KCV", component=number)
    key = components[0].value
    for component in components[1:]:
        key = xor(key, component.value)
    if algorithm is KeyAlgorithm.TDES:
        key = adjust_parity(key)
    if not compare_digest(_kcv(key, algorithm, len(expected_kcv), None), expected_kcv):
        raise KeyComponentError("the combined key does not match its KCV")
    return key
