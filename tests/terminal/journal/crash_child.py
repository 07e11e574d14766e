"""A terminal's journal and outbox writes in their own process, stopped at a chosen step.

``python -m tests.terminal.journal.crash_child JOURNAL OUTBOX URL SCENARIO STOP``

Runs one transaction of ``SCENARIO`` the way a mode will (the writes in the order the modes
must do them) against the fake acquirer at ``URL``. At the checkpoint named ``STOP`` it prints
``at STOP`` and blocks on stdin: the test kills it there with SIGKILL. ``STOP`` = ``none``
runs to the end and prints ``done``.

- ``online``: accepted, card_read, sent, (POST), answered, confirmed.
- ``lost``: the answer is lost after the POST; the status lookup finds the approval, but the
  card has gone, so the reversal is stored, journalled, and forwarded.
- ``offline``: the acquirer cannot be reached; the deferred payment is stored held, the
  transaction offline_approved, the item released.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import httpx

from terminal.journal import Journal, TxKind, TxState, journal_hook, payment_undo, resolve
from terminal.outbox import (
    Delivery,
    Forwarder,
    ItemKind,
    NewItem,
    Outbox,
    OutboxItem,
    Request,
    http_sender,
)

T = "T-0001"


def main(journal_path: str, outbox_path: str, url: str, scenario: str, stop: str) -> None:
    journal, outbox = Journal(Path(journal_path)), Outbox(Path(outbox_path))
    http = httpx.Client(base_url=url, timeout=30.0)

    def checkpoint(name: str) -> None:
        if name == stop:
            print(f"at {name}", flush=True)
            sys.stdin.readline()
            raise SystemExit(3)  # never reached: the test kills us while we wait

    entry = journal.accept(TxKind.PAYMENT, 888, "EUR", reference=f"{scenario}-{stop}")
    checkpoint("accepted")
    journal.card_read(entry.id, token_masked="476173******0010", par="PAR-1")
    checkpoint("card_read")
    body: dict[str, Any] = {"terminal_id": T, "amount": 888, "currency": "EUR", "emv_data": "9F26"}
    key = entry.idempotency_key
    if scenario == "offline":
        deferred = Request(ItemKind.DEFERRED_PAYMENT, "POST", "/v1/authorizations",
                           {**body, "deferred": True})  # fmt: skip
        outbox.add(NewItem(deferred, key, amount=888, currency="EUR", account="PAR-1",
                           journal_id=entry.id, deferred=True), hold=True)  # fmt: skip
        checkpoint("held")
        journal.advance(entry.id, TxState.OFFLINE_APPROVED,
                        reason="acquirer_unavailable")  # fmt: skip
        checkpoint("offline_approved")
        outbox.release(entry.id)
        checkpoint("released")
        print("done", flush=True)
        return
    journal.sent(entry.id, undo=payment_undo(T, key))
    checkpoint("sent")
    answer = http.post("/v1/authorizations", json=body, headers={"Idempotency-Key": key}).json()
    checkpoint("posted")
    if scenario == "online":
        journal.answered(entry.id, approved=answer["approved"], reason=answer["reason"],
                         authorization_id=answer["authorization_id"])  # fmt: skip
        checkpoint("answered")
        journal.confirm(entry.id, arpc_verified=None)
        checkpoint("confirmed")
        print("done", flush=True)
        return
    # lost: the answer never reached the terminal
    journal.advance(entry.id, TxState.ANSWER_UNKNOWN, reason="timeout")
    checkpoint("answer_unknown")

    def lookup(kind: str, k: str) -> dict[str, Any]:
        doc: dict[str, Any] = http.get(f"/v1/status/{kind}/{k}", params={"terminal_id": T}).json()
        return doc

    real_add = outbox.add

    def add_then_stop(item: NewItem, **kw: Any) -> OutboxItem:
        stored = real_add(item, **kw)
        checkpoint("reversal_stored")
        return stored

    outbox.add = add_then_stop  # type: ignore[method-assign]
    resolve(journal, outbox, entry.id, lookup, accept=None)  # the card has gone
    checkpoint("reversal_queued")
    send = http_sender(http)

    def send_then_stop(item: OutboxItem) -> Delivery:
        delivery = send(item)
        checkpoint("reversal_sent")
        return delivery

    Forwarder(outbox, send_then_stop, on_done=journal_hook(journal)).flush()
    checkpoint("flushed")
    print("done", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:6])
