"""Raw RSA: the CRT private operation agrees with the textbook one, and lengths are enforced."""

from __future__ import annotations

import os

import pytest

from emvcore.errors import CryptoError
from emvcore.oda.rsa import (
    exponent_bytes,
    generate_rsa_key,
    modulus_bytes,
    rsa_private,
    rsa_public,
)

pytestmark = pytest.mark.filterwarnings("error")


@pytest.mark.parametrize(("bits", "exponent"), [(1024, 3), (1152, 65537), (1408, 3)])
def test_crt_matches_textbook_rsa(bits: int, exponent: int) -> None:
    key = generate_rsa_key(bits, exponent)
    numbers = key.private_numbers()
    n = numbers.public_numbers.n
    assert key.key_size == bits and len(modulus_bytes(key)) == bits // 8
    assert modulus_bytes(key.public_key()) == modulus_bytes(key)
    for _ in range(5):
        message = os.urandom(bits // 8)
        if int.from_bytes(message, "big") >= n:
            continue
        signature = rsa_private(message, key)
        assert int.from_bytes(signature, "big") == pow(int.from_bytes(message, "big"), numbers.d, n)
        assert rsa_public(signature, modulus_bytes(key), exponent) == message


def test_output_keeps_leading_zero_bytes() -> None:
    key = generate_rsa_key(1024)
    message = bytes(127) + b"\x01"  # 1^d = 1
    assert rsa_private(message, key) == message
    assert rsa_public(message, modulus_bytes(key), 3) == message


def test_lengths_and_range() -> None:
    key = generate_rsa_key(1024)
    modulus = modulus_bytes(key)
    for data in (bytes(127), bytes(129), b"\xff" * 128, modulus):
        with pytest.raises(CryptoError):
            rsa_public(data, modulus, 3)
        with pytest.raises(CryptoError):
            rsa_private(data, key)
    with pytest.raises(CryptoError):
        rsa_public(bytes(1), b"\x02", 3)
    with pytest.raises(CryptoError):
        rsa_public(bytes(128), modulus, 1)


@pytest.mark.parametrize(("bits", "exponent"), [(1016, 3), (1030, 3), (1992, 3), (1024, 17)])
def test_generate_rejects_non_emv_keys(bits: int, exponent: int) -> None:
    with pytest.raises(CryptoError):
        generate_rsa_key(bits, exponent)


def test_exponent_bytes() -> None:
    assert exponent_bytes(3) == b"\x03" and exponent_bytes(65537) == b"\x01\x00\x01"
    with pytest.raises(CryptoError):
        exponent_bytes(0)
