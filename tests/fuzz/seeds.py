"""Seeds for the regression corpus, built from the emulated cards' real answers.

``python -m tests.fuzz.seeds`` taps the Visa (C-3) and Mastercard (C-2) emulated cards
once each, records every command and answer, and writes, in each target's input format:

- tlv: every answer's data field and every command's data field;
- apdu: every command and every answer (mode bytes ``00`` and ``01``);
- dol: the PDOL and CDOL1 the cards ask for, with the terminal's values;
- oda: the recovered blocks of the real issuer and ICC certificates and signatures, so
  the fuzzer starts from a block that passes every check;
- kernel: the genuine taps, and for every answer of a tap one input that changes one data
  object of that answer only.

Files are named by the SHA-1 of their content, as libFuzzer names its corpus. Run it again
after a change to the cards or the input formats; it only adds files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from card_emulation import CardImage, EmvApplet
from card_emulation.oda import TEST_CA_FILE, TEST_CA_INDEX
from emvcore import dol, tlv
from emvcore.apdu import CommandApdu
from emvcore.errors import TlvError
from emvcore.oda import load_test_ca_private_keys, modulus_bytes, rsa_public
from emvcore.oda.rsa import exponent_bytes
from terminal.kernel import Kernel, Transaction
from tests.card_emulation.support import TERMINAL, make_card
from tests.fuzz.targets import CORPUS_ROOT
from tests.fuzz.targets.kernel import PROFILES, _issuer_keys
from tests.terminal.support import RecordingReader

UN = bytes.fromhex("A1B2C3D4")


def transcript(profile: str) -> tuple[CardImage, list[tuple[bytes, bytes]]]:
    """The card and every (command, answer) of one genuine tap."""
    card = make_card(_issuer_keys(), profile)
    reader = RecordingReader(EmvApplet(card))
    when = datetime(2026, 11, 22, 9, 30, 5)
    Kernel().run(reader, Transaction(1250, "EUR", when=when, unpredictable_number=UN))
    return card, reader.log


def _chunk(data: bytes) -> bytes:
    return bytes([len(data)]) + data[:255]


def tlv_seeds(log: list[tuple[bytes, bytes]]) -> Iterator[bytes]:
    for command, answer in log:
        yield answer[:-2]
        data = CommandApdu.decode(command).data
        if data:
            yield data


def apdu_seeds(log: list[tuple[bytes, bytes]]) -> Iterator[bytes]:
    for command, answer in log:
        yield b"\x00" + command
        yield b"\x01" + answer


def dol_seeds(log: list[tuple[bytes, bytes]]) -> Iterator[bytes]:
    for _, answer in log:
        for tag in (0x9F38, 0x8C, 0x8D):
            found = tlv.find(answer[:-2], tag)
            if found is None:
                continue
            values = b"".join(
                b"\x01" + _chunk(TERMINAL[e.tag]) if e.tag in TERMINAL else b"\x00"
                for e in dol.parse_dol(found)
            )
            yield _chunk(found) + values


def _records(log: list[tuple[bytes, bytes]]) -> dict[int, bytes]:
    found: dict[int, bytes] = {}
    for _, answer in log:
        try:
            for tag, value in tlv.flatten(answer[:-2], unique=False).items():
                found.setdefault(tag, value)
        except TlvError:
            continue
    return found


def oda_seeds(card: CardImage, log: list[tuple[bytes, bytes]]) -> Iterator[bytes]:
    """Issuer (mode 0) and ICC (mode 1) certificate blocks, signed data (modes 2, 3)."""
    data = _records(log)
    rid = (data.get(0x4F) or data.get(0x84) or b"")[:5]
    ca_keys = load_test_ca_private_keys(TEST_CA_FILE)
    if card.oda is None or (rid, TEST_CA_INDEX) not in ca_keys:
        return
    ca = ca_keys[rid, TEST_CA_INDEX]
    oda = card.oda
    pan = card.token
    digits = bytes(int(d) for d in pan)
    block = rsa_public(oda.issuer_certificate, modulus_bytes(ca), 3)
    yield (
        b"\x00\x01" + _chunk(oda.issuer_remainder) + b"\x01" + _chunk(oda.issuer_exponent)
        + _chunk(digits) + block[1:-21]
    )  # fmt: skip
    issuer_modulus = block[15 : 15 + block[13]][: len(block) - 36] + oda.issuer_remainder
    icc_block = rsa_public(oda.icc_certificate, issuer_modulus, int.from_bytes(oda.issuer_exponent))
    yield (
        b"\x01\x01" + _chunk(oda.icc_remainder) + b"\x01" + _chunk(oda.icc_exponent)
        + _chunk(digits) + b"\x00" + icc_block[1:-21]
    )  # fmt: skip
    sdad = data.get(0x9F4B)
    icc_modulus = icc_block[21 : 21 + icc_block[19]][: len(icc_block) - 42] + oda.icc_remainder
    if sdad is not None and len(sdad) == len(icc_modulus):
        signed = rsa_public(sdad, icc_modulus, int.from_bytes(oda.icc_exponent))
        yield b"\x02\x01" + _chunk(UN) + bytes(21) + signed[1:-21]
        dynamic = signed[4 : 4 + signed[3]]
        at = 1 + dynamic[0]
        if len(dynamic) == at + 29:  # CDA: IDN, CID, AC, transaction data hash code
            cid, code = dynamic[at : at + 1], dynamic[at + 9 :]
            yield b"\x03\x01" + _chunk(UN) + cid + code + signed[1:-21]
    yield b"\x04\x00" + oda.issuer_certificate
    yield b"\x05\x00" + exponent_bytes(3)


def kernel_seeds(profile: int, log: list[tuple[bytes, bytes]]) -> Iterator[bytes]:
    yield bytes([profile, 0])
    for index in range(len(log)):
        for target in (0, 1, 2, 3):
            yield bytes([profile, 0]) + bytes(index) + bytes([8, target, 2, 0x00, 0xFF])


def write(target: str, inputs: Iterator[bytes]) -> int:
    """Add each input to ``corpus/target`` under its SHA-1; the number of new files."""
    folder = CORPUS_ROOT / target
    folder.mkdir(parents=True, exist_ok=True)
    added = 0
    for data in inputs:
        path = folder / hashlib.sha1(data, usedforsecurity=False).hexdigest()
        if not path.exists():
            path.write_bytes(data)
            added += 1
    return added


def main() -> None:
    """Tap each emulated card once and write every seed."""
    counts: dict[str, int] = {}
    for number, profile in enumerate(PROFILES):
        card, log = transcript(profile)
        for target, inputs in (
            ("tlv", tlv_seeds(log)),
            ("apdu", apdu_seeds(log)),
            ("dol", dol_seeds(log)),
            ("oda", oda_seeds(card, log)),
            ("kernel", kernel_seeds(number, log)),
        ):
            counts[target] = counts.get(target, 0) + write(target, inputs)
    for target, added in sorted(counts.items()):
        print(f"{target}: {added} new seed(s) in {Path(CORPUS_ROOT / target)}")


if __name__ == "__main__":
    main()
