"""The card store as the terminal's card provider: ``emulated:NAME`` finds its cards here.

The terminal never imports card_emulation. Its ``emulated`` reader looks up the entry point
group ``tap.cards``; this distribution registers :func:`stored_card` there (pyproject
``[project.entry-points."tap.cards"]``), as python-can's backends extend its table. The
card comes from the tester's :class:`~card_emulation.store.CardStore` and is written back
each time its ATC moves, so a counter value is never repeated across runs.
"""

from __future__ import annotations

from pathlib import Path

from card_emulation.applet import EmvApplet
from card_emulation.errors import CardEmulationError
from card_emulation.store import CardStore


def stored_card(name: str, *, home: Path | None = None) -> EmvApplet:
    """The personalized card ``name`` of the store at ``home`` (default ``$TAP_CARD_HOME``).

    A missing, unreadable or malformed card is a :class:`LookupError` carrying the store's
    message (the provider contract of ``terminal.readers.emulated``).
    """
    store = CardStore(home)
    try:
        return EmvApplet(store.load(name), on_atc=store.save)
    except CardEmulationError as exc:
        raise LookupError(str(exc)) from exc
