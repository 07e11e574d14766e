"""A forwarder in its own process, for the multi-process and kill -9 tests.

``python -m tests.terminal.outbox.forward_child OUTBOX URL MODE``

- ``flush``: prints ``ready``, waits for a line on stdin (the start signal), flushes, prints
  the number delivered.
- ``crash_after_send``: flushes; after the first answer arrives and before it is recorded,
  prints ``sent <key>`` and blocks on stdin until killed.
- ``crash_before_send``: flushes; with the first item claimed (in flight) and before sending,
  prints ``claimed <key>`` and blocks on stdin until killed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from terminal.outbox import Delivery, Forwarder, Outbox, OutboxItem, http_sender


def main(path: str, url: str, mode: str) -> None:
    box = Outbox(Path(path), lease=600.0)
    http = httpx.Client(base_url=url, timeout=30.0)
    send = http_sender(http)

    def crashing(item: OutboxItem) -> Delivery:
        if mode == "crash_before_send":
            print(f"claimed {item.idempotency_key}", flush=True)
            sys.stdin.readline()
        delivery = send(item)
        if mode == "crash_after_send":
            print(f"sent {item.idempotency_key}", flush=True)
            sys.stdin.readline()
        return delivery

    if mode == "flush":
        print("ready", flush=True)
        sys.stdin.readline()
        report = Forwarder(box, send).flush()
        print(report.delivered, flush=True)
    else:
        Forwarder(box, crashing).flush()


if __name__ == "__main__":
    main(*sys.argv[1:4])
