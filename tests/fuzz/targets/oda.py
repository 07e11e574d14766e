"""Fuzz target: offline data authentication recovery (emvcore.oda, EMV Book 2 5.3, 6.4-6.6).

A random certificate almost never survives the RSA step (its recovered trailer is not
``BC``), so most modes let the fuzzer write the *recovered block* instead: the harness
frames the fuzzer's body as ``6A || body || hash || BC`` (the hash either right, or the
fuzzer's own 20 bytes), signs it with a key it holds, and hands the signature to the
terminal-side recovery. The fuzzer then reaches every check after the signature: format,
hash, identifier, expiry, algorithm indicators, key lengths, remainder, exponent.

Modes (first byte): issuer certificate (tag 90) under the test CA key; ICC certificate
(9F46) under an issuer key; DDA/fDDA SDAD (9F4B); CDA SDAD; unsigned bytes as a
certificate; the static data, CDA response and fDDA terminal data builders.

Properties: recovery raises nothing but :class:`~emvcore.errors.OdaError`; a recovered
key has the length its certificate states, an EMV exponent, a first byte not ``00``, an
identifier that matches the PAN and an expiry not passed; recovered dynamic data are the
bytes the block holds; CDA returns the CID it was asked to match.
"""

from __future__ import annotations

from datetime import date
from functools import cache

from cryptography.hazmat.primitives.asymmetric import rsa

from card_emulation.oda import TEST_CA_FILE, TEST_CA_INDEX
from emvcore.errors import OdaError, TlvError
from emvcore.oda import (
    CaPublicKey,
    RecoveredKey,
    cda_response_data,
    fdda_terminal_data,
    generate_rsa_key,
    icc_dynamic_number,
    load_test_ca_private_keys,
    modulus_bytes,
    public_key_of,
    recover_dynamic_data,
    recover_icc_key,
    recover_issuer_key,
    rsa_private,
    static_data_to_authenticate,
    verify_cda,
)
from emvcore.oda import _recovery as rec
from emvcore.oda.rsa import EMV_EXPONENTS
from emvcore.tlv import decode
from tests.fuzz.properties import check
from tests.fuzz.stream import ByteStream

MAX_LEN = 1024
TODAY = date(2026, 11, 22)
RID = bytes.fromhex("A000000003")


@cache
def _keys() -> tuple[rsa.RSAPrivateKey, CaPublicKey, rsa.RSAPrivateKey, rsa.RSAPrivateKey]:
    """The test CA key (and its public entry), an issuer key and an ICC key, made once."""
    ca = load_test_ca_private_keys(TEST_CA_FILE)[RID, TEST_CA_INDEX]
    capk = public_key_of(RID, TEST_CA_INDEX, ca, expiry=None, test=True)
    return ca, capk, generate_rsa_key(1152), generate_rsa_key(1024)


def _recovered(key: rsa.RSAPrivateKey, identifier: str) -> RecoveredKey:
    exponent = key.public_key().public_numbers().e
    return RecoveredKey(modulus_bytes(key), exponent, "1230", b"\x00\x00\x01", identifier)


def _signed(
    stream: ByteStream, key: rsa.RSAPrivateKey, hashed_extra: bytes, fix: bool
) -> tuple[bytes, bytes]:
    """Frame the rest of the input as a recovered block, sign it: (signature, body)."""
    room = len(modulus_bytes(key)) - rec.FRAME_LENGTH
    claimed = b"" if fix else stream.take(rec.HASH_LENGTH).ljust(rec.HASH_LENGTH, b"\x00")
    body = stream.rest()[:room].ljust(room, bytes([rec.PAD]))
    digest = rec.sha1(body + hashed_extra) if fix else claimed
    block = bytes([rec.HEADER]) + body + digest + bytes([rec.TRAILER])
    return rsa_private(block, key), body


def _optional(stream: ByteStream, limit: int) -> bytes | None:
    return stream.chunk(limit) if stream.flag() else None


def _check_key(key: RecoveredKey, certificate_block_key_length: int) -> None:
    check(len(key.modulus) == certificate_block_key_length, "modulus length differs")
    check(key.exponent in EMV_EXPONENTS, "recovered exponent is not 3 or 65537")
    check(key.modulus[0] != 0, "recovered modulus starts with 00")
    check(not rec.expired(key.expiry, TODAY), "an expired certificate was accepted")


def _issuer(stream: ByteStream, fix: bool) -> None:
    ca, capk, _, _ = _keys()
    remainder, exponent, pan = stream.chunk(), _optional(stream, 4), stream.digits()
    certificate, _ = _signed(stream, ca, remainder + (exponent or b""), fix)
    try:
        key = recover_issuer_key(capk, certificate, remainder, exponent, pan=pan, today=TODAY)
    except OdaError:
        return
    check(pan.startswith(key.identifier), "issuer identifier is not a prefix of the PAN")
    check(3 <= len(key.identifier) <= 8, "issuer identifier is not 3 to 8 digits")
    _check_key(key, _stated_length(certificate, capk.modulus, capk.exponent, 4))


def _stated_length(signature: bytes, modulus: bytes, exponent: int, id_length: int) -> int:
    block = pow(int.from_bytes(signature, "big"), exponent, int.from_bytes(modulus, "big"))
    return block.to_bytes(len(modulus), "big")[2 + id_length + 7]


def _icc(stream: ByteStream, fix: bool) -> None:
    _, _, issuer_private, _ = _keys()
    issuer = _recovered(issuer_private, "476173")
    remainder, exponent, pan = stream.chunk(), _optional(stream, 4), stream.digits()
    static = stream.chunk()
    extra = remainder + (exponent or b"") + static
    certificate, _ = _signed(stream, issuer_private, extra, fix)
    try:
        key = recover_icc_key(
            issuer, certificate, remainder, exponent, pan=pan, static_data=static, today=TODAY
        )
    except OdaError:
        return
    check(key.identifier == pan, "ICC certificate accepted for another PAN")
    _check_key(key, _stated_length(certificate, issuer.modulus, issuer.exponent, 10))


def _dynamic(stream: ByteStream, fix: bool, cda: bool) -> None:
    _, _, _, icc_private = _keys()
    icc = _recovered(icc_private, "4761739001010010")
    terminal = stream.chunk(40)
    cid, code = stream.byte(), stream.take(20)
    sdad, body = _signed(stream, icc_private, terminal, fix)
    try:
        if cda:
            result = verify_cda(
                icc, sdad, unpredictable_number=terminal, cid=cid, transaction_data_hash=code
            )
            check(result.cid == cid and len(result.ac) == 8, "CDA result is not what was signed")
            return
        data = recover_dynamic_data(icc, sdad, terminal)
    except OdaError:
        return
    check(data == body[3 : 3 + body[2]], "recovered dynamic data differ from the block's")
    try:
        number = icc_dynamic_number(data)
    except OdaError:
        return
    check(2 <= len(number) <= 8, "ICC Dynamic Number outside 2 to 8 bytes")


def _unsigned(stream: ByteStream) -> None:
    _, capk, _, icc_private = _keys()
    blob = stream.rest()
    try:
        recover_issuer_key(capk, blob, b"", b"\x03", pan="4761739001010010", today=TODAY)
    except OdaError:
        pass
    try:
        recover_dynamic_data(_recovered(icc_private, "4761739001010010"), blob, b"")
    except OdaError:
        pass


def _builders(stream: ByteStream) -> None:
    records = [(stream.below(32), stream.chunk()) for _ in range(stream.below(4))]
    aip = stream.take(stream.below(4)) if stream.flag() else None
    try:
        static_data_to_authenticate(records, aip=aip)
    except OdaError:
        pass
    template = stream.chunk()
    try:
        kept = cda_response_data(template)
    except OdaError:
        pass
    else:
        try:
            expected = [(o.tag, o.value) for o in decode(template) if o.tag != 0x9F4B]
            check([(o.tag, o.value) for o in decode(kept)] == expected, "CDA response data")
        except TlvError:
            check(False, "cda_response_data output does not decode")
    try:
        fdda_terminal_data(
            unpredictable_number=bytes(4),
            amount=bytes(6),
            currency=bytes(2),
            card_authentication_related_data=stream.rest(),
        )
    except OdaError:
        pass


def one_input(data: bytes) -> None:
    """Run one recovery (chosen by the first byte) on the input; check the properties."""
    stream = ByteStream(data)
    mode, fix = stream.below(6), stream.flag()
    if mode == 0:
        _issuer(stream, fix)
    elif mode == 1:
        _icc(stream, fix)
    elif mode in (2, 3):
        _dynamic(stream, fix, cda=mode == 3)
    elif mode == 4:
        _unsigned(stream)
    else:
        _builders(stream)
