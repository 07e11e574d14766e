"""Hostile cards: wrap any card and make chosen commands misbehave.

A :class:`HostileCard` sits between the reader and a real applet and applies
:class:`Rule` s: when a command matches (by instruction and occurrence), the rule's action
replaces, edits, delays or withholds the answer. Actions cover the faults a terminal must
survive: wrong status words, truncated or overlong TLV, duplicated, missing or unknown data
objects, oversize length fields, a card that never answers, a card removed mid-transaction.

>>> from emvcore.apdu import Ins
>>> card = HostileCard(lambda apdu: b"\\x6F\\x00\\x90\\x00", [Rule(Ins.SELECT, status(0x6A82))])
>>> card.process_apdu(bytes.fromhex("00A404000E325041592E5359532E444446303100")).hex()
'6a82'
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from emvcore import tlv
from emvcore.card import ApduCard
from emvcore.errors import EmvError

#: An action gets the command and a function producing the genuine answer, and returns
#: what the card sends instead.
Action = Callable[[bytes, Callable[[], bytes]], bytes]


@dataclass
class Rule:
    """Apply ``action`` to the ``occurrence``-th command with instruction ``ins``.

    ``ins`` None matches every command; ``occurrence`` 0 matches every matching command.
    """

    ins: int | None
    action: Action
    occurrence: int = 1
    seen: int = field(default=0, init=False)

    def matches(self, apdu: bytes) -> bool:
        if self.ins is not None and (len(apdu) < 2 or apdu[1] != self.ins):
            return False
        self.seen += 1
        return self.occurrence in (0, self.seen)


class HostileCard:
    """A card whose answers go through fault rules."""

    def __init__(self, card: ApduCard | Callable[[bytes], bytes], rules: Sequence[Rule]) -> None:
        self._answer: Callable[[bytes], bytes] = (
            card.process_apdu if hasattr(card, "process_apdu") else card
        )
        self.rules = list(rules)

    def process_apdu(self, apdu: bytes) -> bytes:
        for rule in self.rules:
            if rule.matches(apdu):
                return rule.action(apdu, lambda: self._answer(apdu))
        return self._answer(apdu)


def _split(response: bytes) -> tuple[bytes, bytes]:
    return response[:-2], response[-2:]


def answer(sw: int, data: bytes = b"") -> Action:
    """Answer ``data`` with status word ``sw`` instead (the genuine command still runs)."""

    def act(apdu: bytes, genuine: Callable[[], bytes]) -> bytes:
        genuine()
        return data + sw.to_bytes(2, "big")

    return act


def status(sw: int) -> Action:
    """Keep the data, replace the status word (no data for an error status)."""

    def act(apdu: bytes, genuine: Callable[[], bytes]) -> bytes:
        data, _ = _split(genuine())
        return (data if sw >> 8 in (0x90, 0x61, 0x62, 0x63) else b"") + sw.to_bytes(2, "big")

    return act


def edit(change: Callable[[bytes], bytes]) -> Action:
    """Change the response data (the status word is kept)."""

    def act(apdu: bytes, genuine: Callable[[], bytes]) -> bytes:
        data, sw = _split(genuine())
        return change(data) + sw

    return act


def truncate(count: int) -> Action:
    """Drop the last ``count`` bytes of the response data: a truncated TLV."""
    return edit(lambda data: data[:-count] if count else data)


def append(extra: bytes) -> Action:
    """Add bytes after the response data: trailing garbage."""
    return edit(lambda data: data + extra)


def _template(change: Callable[[list[tuple[int, bytes]]], list[tuple[int, bytes]]]) -> Action:
    """Edit the children of the response's outer template (70, 77, 6F ...)."""

    def rewrite(data: bytes) -> bytes:
        try:
            outer = tlv.decode_one(data)
            children = [(c.tag, c.value) for c in tlv.decode(outer.value)]
        except EmvError:
            return data
        return tlv.encode(outer.tag, tlv.encode_many(change(children)))

    return edit(rewrite)


def drop_tag(tag: int) -> Action:
    """Leave a data object out of the response template (missing mandatory data)."""
    return _template(lambda items: [(t, v) for t, v in items if t != tag])


def duplicate_tag(tag: int) -> Action:
    """Return a data object twice in the response template."""
    return _template(lambda items: items + [(t, v) for t, v in items if t == tag])


def add_tag(tag: int, value: bytes) -> Action:
    """Add a data object to the response template (e.g. an unknown one)."""
    return _template(lambda items: [*items, (tag, value)])


def replace_tag(tag: int, value: bytes) -> Action:
    """Give a data object of the response template another value."""
    return _template(lambda items: [(t, value if t == tag else v) for t, v in items])


def oversize_length() -> Action:
    """Claim a length far beyond the data: '82 FF FF' on the outer template."""
    return edit(lambda data: data[:1] + b"\x82\xff\xff" + data[2:] if data else data)


def delay(seconds: float) -> Action:
    """Answer correctly, late."""

    def act(apdu: bytes, genuine: Callable[[], bytes]) -> bytes:
        time.sleep(seconds)
        return genuine()

    return act


def hang(release: threading.Event) -> Action:
    """Never answer (until ``release`` is set, so a test can clean up its thread)."""

    def act(apdu: bytes, genuine: Callable[[], bytes]) -> bytes:
        release.wait()
        return b"\x6f\x00"

    return act


def then(action: Action, after: Callable[[], None]) -> Action:
    """Answer with ``action``, then run ``after`` (e.g. take the card out of the field)."""

    def act(apdu: bytes, genuine: Callable[[], bytes]) -> bytes:
        response = action(apdu, genuine)
        after()
        return response

    return act


def genuine() -> Action:
    """The card's real answer (to combine with :func:`then`)."""
    return lambda apdu, real: real()
