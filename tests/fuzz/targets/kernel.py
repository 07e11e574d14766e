"""Fuzz target: the contactless kernel against mutated card answers.

A genuine emulated card (the Visa C-3 or Mastercard C-2 profile) answers every command;
the fuzzer's bytes then decide, answer by answer, whether and how that answer is changed
on its way to the kernel: a byte flipped, the answer cut, replaced, given another status
word, bytes inserted, or (keeping the TLV structure valid, so that the fuzzer reaches the
kernel's semantic checks) the value of one data object replaced. The answers travel
through the in-process :class:`~terminal.readers.emulated.LoopbackReader`, as in a tap.

Properties (EMV Contactless Book A: every card fault is an outcome):

- :meth:`~terminal.kernel.Kernel.run` never raises, and returns a
  :class:`~terminal.kernel.KernelResult` with an :class:`~terminal.kernel.Outcome` and a
  UI request;
- a tap whose answers were not changed ends exactly as the genuine tap does;
- the kernel sends a bounded number of commands (no livelock on a hostile AFL or 61xx);
- an approved or online result carries a data record that decodes, and a masked PAN;
- after an Online Request, :meth:`~terminal.kernel.Kernel.issuer_authentication` with any
  issuer authentication data answers ``True``, ``False`` or ``None`` and never raises;
- the genuine card answers every command the kernel sends with a status word (a card
  exception would hide behind "card removed").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from card_emulation import EmvApplet
from emvcore import tlv
from emvcore.errors import TlvError
from emvcore.keyfile import IssuerKeySet, generate_test_issuer_keys
from terminal.kernel import Kernel, KernelResult, Outcome, Transaction
from terminal.readers.emulated import LoopbackReader
from tests.card_emulation.support import make_card
from tests.fuzz.properties import PropertyViolation, check
from tests.fuzz.stream import ByteStream

MAX_LEN = 2048
PROFILES = ("visa", "mastercard")
AMOUNTS = (1250, 0, 4999, 150000)
WHEN = datetime(2026, 11, 22, 9, 30, 5)
UN = bytes.fromhex("A1B2C3D4")
#: More commands than any genuine tap needs (a few dozen) by far; more is a livelock.
MAX_EXCHANGES = 1000
_KEEP = 4  # of the 10 answer operations, the first four leave the answer alone


@cache
def _issuer_keys() -> IssuerKeySet:
    return generate_test_issuer_keys()


@cache
def _reader() -> LoopbackReader:
    """One reader for the whole run: its worker thread serves every tap."""
    return LoopbackReader(card_timeout=30.0)


def _position(stream: ByteStream, size: int) -> int:
    return stream.below(size + 1)


def _replace_value(data: bytes, target: int, new: bytes, seen: list[int]) -> bytes:
    """``data`` with the value of its ``target``-th primitive object (walk order) replaced."""
    out = []
    for obj in tlv.decode(data):
        if obj.constructed:
            try:
                inner = _replace_value(obj.value, target, new, seen)
            except TlvError:
                inner = obj.value
            out.append(tlv.encode(obj.tag, inner))
        else:
            out.append(tlv.encode(obj.tag, new if seen[0] == target else obj.value))
            seen[0] += 1
    return b"".join(out)


def mutate(stream: ByteStream, answer: bytes) -> bytes:
    """One card answer, changed as the next bytes of the stream say."""
    op = stream.below(10)
    if stream.exhausted or op < _KEEP:
        return answer
    if op == 4:
        at = _position(stream, len(answer) - 1) if answer else 0
        flip = stream.byte() or 1
        return answer[:at] + bytes([answer[at] ^ flip]) + answer[at + 1 :] if answer else answer
    if op == 5:
        return answer[: _position(stream, len(answer))]
    if op == 6:
        return stream.chunk()
    if op == 7:
        return answer[:-2] + stream.take(2)
    if op == 8:
        target, new = stream.below(64), stream.chunk()
        try:
            return _replace_value(answer[:-2], target, new, [0]) + answer[-2:]
        except TlvError:
            return answer
    at = _position(stream, len(answer))
    return answer[:at] + stream.chunk(32) + answer[at:]


@dataclass
class MutatingCard:
    """The genuine applet's answers, each passed through :func:`mutate`."""

    applet: EmvApplet
    stream: ByteStream
    exchanges: int = 0
    mutated: bool = False
    card_errors: list[str] = field(default_factory=list)

    def process_apdu(self, apdu: bytes) -> bytes:
        self.exchanges += 1
        try:
            genuine = self.applet.process_apdu(apdu)
        except Exception as exc:  # a finding, reported after the tap
            self.card_errors.append(f"{apdu[:4].hex()}: {exc.__class__.__name__}: {exc}")
            genuine = b"\x6f\x00"
        if self.exchanges > MAX_EXCHANGES:
            return genuine
        answer = mutate(self.stream, genuine)
        self.mutated = self.mutated or answer != genuine
        return answer


def _tap(profile: str, amount: int, stream: ByteStream) -> tuple[KernelResult, MutatingCard]:
    card = MutatingCard(EmvApplet(make_card(_issuer_keys(), profile)), stream)
    reader = _reader()
    reader.insert(card)
    try:
        transaction = Transaction(amount, "EUR", when=WHEN, unpredictable_number=UN)
        return Kernel().run(reader, transaction), card
    finally:
        reader.remove()


@cache
def genuine_outcome(profile: str, amount: int) -> tuple[Outcome, str]:
    """How the tap ends when no answer is changed."""
    result, card = _tap(profile, amount, ByteStream(b""))
    if card.card_errors:
        raise PropertyViolation(f"the genuine card failed: {card.card_errors[0]}")
    return result.outcome, result.reason


def _check_result(result: KernelResult) -> None:
    check(isinstance(result, KernelResult), "kernel returned no KernelResult")
    check(isinstance(result.outcome, Outcome), "kernel result has no Outcome")
    check(result.ui is not None, "kernel result has no UI request")
    if result.outcome in (Outcome.APPROVED, Outcome.ONLINE_REQUEST):
        try:
            tlv.flatten(result.data_record, unique=False)
        except TlvError as exc:
            raise PropertyViolation(f"{result.outcome} with an undecodable data record") from exc
        if result.masked_pan is not None:
            check("*" in result.masked_pan, "the result carries an unmasked PAN")


def one_input(data: bytes) -> None:
    """One tap on a card whose answers the input mutates; check the properties."""
    stream = ByteStream(data)
    profile, amount = PROFILES[stream.below(2)], AMOUNTS[stream.below(len(AMOUNTS))]
    expected = genuine_outcome(profile, amount)
    result, card = _tap(profile, amount, stream)
    _check_result(result)
    check(card.exchanges <= MAX_EXCHANGES, f"the kernel sent {card.exchanges} commands")
    check(not card.card_errors, f"the emulated card raised on {card.card_errors[:1]}")
    if not card.mutated:
        got = (result.outcome, result.reason)
        check(got == expected, f"unchanged answers ended {got}, the genuine tap {expected}")
    if result.outcome is Outcome.ONLINE_REQUEST and not stream.exhausted:
        reader = _reader()
        reader.insert(card)
        try:
            answer = Kernel().issuer_authentication(reader, stream.chunk(24))
        finally:
            reader.remove()
        check(answer in (True, False, None), "issuer_authentication answered a non-bool")
