"""The terminal's outbox: everything it owes the acquirer, durable, forwarded in order per kind.

- :class:`Outbox` (:mod:`.store`): the SQLite file; :meth:`Outbox.add`, :meth:`Outbox.pending`.
- :class:`Forwarder` (:mod:`.forwarder`): claims, sends (an injectable ``send``), backs off,
  parks what the acquirer refuses for good.
- :mod:`.items`: :class:`NewItem`, :class:`Request`, :class:`OutboxItem`, :class:`Delivery`.
- :mod:`.cli`: ``tap-terminal outbox`` (what is pending, the money at risk) and ``outbox flush``.
"""

from terminal.outbox.followups import cancel_abandoned_rental, derived_key
from terminal.outbox.forwarder import FlushReport, Forwarder, http_sender
from terminal.outbox.items import Delivery, ItemKind, ItemState, NewItem, OutboxItem, Request
from terminal.outbox.store import Backlog, Outbox

__all__ = [
    "Backlog",
    "Delivery",
    "FlushReport",
    "Forwarder",
    "ItemKind",
    "ItemState",
    "NewItem",
    "Outbox",
    "OutboxItem",
    "Request",
    "cancel_abandoned_rental",
    "derived_key",
    "http_sender",
]
