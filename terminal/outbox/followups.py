"""Follow-ups the terminal's kinds need: requests stored right behind a delivered item.

:func:`cancel_abandoned_rental` is the bike dock's ``abandon`` action (the tap-on whose answer
was lost, :mod:`terminal.modes.bike.queue`): the rental request is replayed under its own key, which
answers what the acquirer did with it; a rental it opened and that is still ``unlocking`` is
then cancelled (``answer_lost``), voiding the deposit hold, before anything later of its kind.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from terminal.outbox.items import ItemKind, NewItem, OutboxItem, Request

__all__ = ["cancel_abandoned_rental", "derived_key"]


def derived_key(purpose: str, original_key: str) -> str:
    """A stable idempotency key for the request that follows ``original_key`` (a UUID 5).

    Stored twice (by a forwarder and by recovery), it is one item; sent twice, one effect.

    >>> derived_key("cancel", "k1") == derived_key("cancel", "k1") != derived_key("reversal", "k1")
    True
    """
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{purpose}:{original_key}"))


def cancel_abandoned_rental(item: OutboxItem, answer: Mapping[str, Any]) -> list[NewItem]:
    """The cancel of the rental an ``abandon`` replay found still ``unlocking`` (else nothing)."""
    rental_id, state = answer.get("rental_id"), answer.get("state")
    if not rental_id or state != "unlocking":
        return []
    body = {"terminal_id": item.body.get("terminal_id"), "reason": "answer_lost"}
    request = Request(ItemKind.RIDE, "POST", f"/v1/rentals/{rental_id}/cancel", body, "cancel")
    return [NewItem(request, derived_key("cancel", item.idempotency_key),
                    journal_id=item.journal_id)]  # fmt: skip
