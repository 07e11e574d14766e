"""The terminal's journal: every transaction's state, durable, written before each step.

- :class:`Journal` (:mod:`.store`): the SQLite file; :meth:`Journal.accept`,
  :meth:`Journal.advance` and the named steps, :meth:`Journal.recover`.
- :mod:`.states`: :class:`TxKind`, :class:`TxState` and the allowed transitions.
- :mod:`.recovery`: what a restart does with each unfinished state.
- :mod:`.resolve`: the acquirer's status lookup resolving an unknown answer; reversals queued
  in the outbox; :func:`recover_all`; the forwarder hook :func:`journal_hook`.
- :mod:`.cli`: ``tap-terminal journal [--json]`` and ``journal show ID``.
"""

from terminal.journal.recovery import Action, Recovery
from terminal.journal.resolve import (
    Resolution,
    Resolved,
    StatusLookup,
    journal_hook,
    payment_undo,
    queue_reversal,
    recover_all,
    resolve,
    status_lookup,
)
from terminal.journal.states import TxKind, TxState
from terminal.journal.store import Event, Journal, JournalEntry

__all__ = [
    "Action",
    "Event",
    "Journal",
    "JournalEntry",
    "Recovery",
    "Resolution",
    "Resolved",
    "StatusLookup",
    "TxKind",
    "TxState",
    "journal_hook",
    "payment_undo",
    "queue_reversal",
    "recover_all",
    "resolve",
    "status_lookup",
]
