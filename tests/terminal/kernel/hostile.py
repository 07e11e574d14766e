"""Support for the hostile card set: one table row per case, one runner for all of them.

A :class:`Case` names a card (profile, personalization-time faults, ATC), the per-command
fault rules (:mod:`card_emulation.faults`) built against the live reader and applet, and
what the kernel must answer: outcome, reason, the exact TVR bit names and the UI request.
:func:`tap` runs the kernel on a :class:`~terminal.readers.emulated.LoopbackReader` with a
short card timeout and measures how long the kernel took, as a correctness bound only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from card_emulation import EmvApplet, Fault
from card_emulation.faults import Action, HostileCard, Rule, edit
from emvcore import tlv
from emvcore.errors import EmvError
from emvcore.keyfile import IssuerKeySet
from terminal.kernel import Kernel, KernelConfig, KernelResult, Outcome, Transaction, UiRequest
from terminal.kernel.outcome import DEFAULT_UI
from terminal.readers.emulated import LoopbackReader
from tests.card_emulation.support import make_card

#: The card timeout every hostile tap runs with, and the slack allowed on top of it for the
#: rest of the tap (the kernel's own work is a few milliseconds).
CARD_TIMEOUT = 0.5
SLACK = 0.5
WHEN = datetime(2026, 11, 22, 9, 30, 5)
UN = bytes.fromhex("A1B2C3D4")


@dataclass
class Field:
    """What a rule factory may act on: the reader, the genuine applet, a release event."""

    reader: LoopbackReader
    applet: EmvApplet
    release: threading.Event


@dataclass(frozen=True)
class Case:
    """One hostile card and the answer the kernel must give."""

    id: str
    profile: str
    outcome: Outcome
    reason: str
    tvr: tuple[str, ...] = ()
    rules: Callable[[Field], list[Rule]] = lambda _: []
    faults: frozenset[Fault] = frozenset()
    atc: int = 0
    amount: int = 1250
    config: Callable[[], KernelConfig] | None = None
    prepare: Callable[[Field, IssuerKeySet], None] | None = None
    ui: UiRequest | None = None
    restart: bool | None = None
    check: Callable[[KernelResult], None] | None = field(default=None, repr=False)

    @property
    def expected_ui(self) -> UiRequest:
        return self.ui or DEFAULT_UI[self.outcome]

    @property
    def expected_restart(self) -> bool:
        if self.restart is not None:
            return self.restart
        return self.outcome is Outcome.TRY_AGAIN


def tap(case: Case, keys: IssuerKeySet, release: threading.Event) -> tuple[KernelResult, float]:
    """Run the kernel once on the case's card; the result and the seconds it took."""
    applet = EmvApplet(make_card(keys, case.profile, faults=case.faults, atc=case.atc))
    card = HostileCard(applet, [])
    reader = LoopbackReader(card, card_timeout=CARD_TIMEOUT)
    where = Field(reader, applet, release)
    card.rules = case.rules(where)
    if case.prepare is not None:
        case.prepare(where, keys)
    kernel = Kernel(case.config() if case.config is not None else None)
    transaction = Transaction(case.amount, "EUR", when=WHEN, unpredictable_number=UN)
    start = time.monotonic()
    result = kernel.run(reader, transaction)
    return result, time.monotonic() - start


# -- response faults the generic actions do not cover ------------------------------------------


def overlong() -> Action:
    """A data object inside the response template whose length runs past the template's end."""

    def change(data: bytes) -> bytes:
        try:
            outer = tlv.decode_one(data)
        except EmvError:
            return data
        return tlv.encode(outer.tag, outer.value + bytes.fromhex("9F7C0801"))

    return edit(change)


def ask_for(p1: int, applet: EmvApplet) -> Action:
    """Send the genuine card a GENERATE AC with another P1 (e.g. an AAC request)."""

    def act(apdu: bytes, genuine: Callable[[], bytes]) -> bytes:
        return applet.process_apdu(apdu[:2] + bytes([p1]) + apdu[3:])

    return act
