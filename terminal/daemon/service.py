"""The daemon: the one owner of the reader, the journal and the outbox; one action at a time.

:class:`Daemon` is what ``tap-terminal run`` starts and the API calls into:

- **start**: open the journal, the outbox and the daemon's records; mark actions a previous
  run left unfinished as failed (``interrupted``: their transactions are what journal
  recovery resolves); run journal recovery (:func:`~terminal.journal.recover_all`), then
  flush the outbox; start the reader watch, the worker and the flush timer.
- **the reader**: opened with ``open_reader``; when it is missing or fails, the daemon says so
  (health, a ``reader`` event), closes it and tries again, with backoff, until it is back.
- **actions**: :meth:`Daemon.submit` answers at once; the worker thread runs the action
  (:mod:`terminal.daemon.runner`); a second action while one runs is refused with the
  running one's id. The outbox is flushed after each transaction and on a timer.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from terminal.daemon.actions import Action, ActionKind, ActionState, CancelResult, new_action_id
from terminal.daemon.actions import failed as _failed
from terminal.daemon.events import EventLog
from terminal.daemon.ledger import close_report, day_totals, transactions_page
from terminal.daemon.receipts import Receipt
from terminal.daemon.receipts.printer import open_printer, print_receipt
from terminal.daemon.records import Records, request_hash
from terminal.daemon.refunds import RefundsInOutbox, chain, owed_refunds, refund_hook
from terminal.daemon.runner import Context, Slot, run_payment, run_refund
from terminal.daemon.wiring import certificate_expiry, contactless_limit
from terminal.errors import (
    ActionBusyError,
    ActionConflictError,
    ActionKeyReusedError,
    ActionRefusedError,
    PrinterError,
    ReaderAbsentError,
    ReaderError,
    TerminalError,
    UnknownActionError,
)
from terminal.journal import Journal, journal_hook, recover_all, status_lookup
from terminal.kernel import Kernel
from terminal.kernel.ui import UiRequest
from terminal.online import AcquirerClient
from terminal.outbox import Forwarder, Outbox, cancel_abandoned_rental, http_sender
from terminal.readers.base import Reader
from terminal.settings import TerminalSettings

__all__ = ["Daemon"]

log = logging.getLogger(__name__)

#: Seconds between attempts to open a missing reader (doubling up to the cap).
READER_RETRY, READER_RETRY_CAP = 0.5, 10.0
#: The kinds this terminal runs (a dock or a locker serves theirs through its own mode).
RUNS = frozenset({ActionKind.PAYMENT, ActionKind.PREAUTHORIZATION, ActionKind.REFUND})


class Daemon:
    """The terminal as a service (see the module docstring)."""

    def __init__(
        self,
        settings: TerminalSettings,
        *,
        open_reader: Callable[[], Reader],
        kernel: Kernel,
        client: AcquirerClient,
        http: httpx.Client,
        state_dir: Path | None = None,
        printer: Callable[[], Any] | None = None,
    ) -> None:
        self.settings = settings
        self.state_dir = state_dir or settings.daemon.state_dir
        self._open_reader, self.kernel, self.client, self.http = open_reader, kernel, client, http
        # One connection per user: the worker's (the actions, recovery), the API's views
        # (reads, under a lock), and each flush opens its own (sqlite3 connections are not
        # shared between threads mid-transaction).
        self.journal_path = self.state_dir / "journal.sqlite3"
        self.outbox_path = self.state_dir / "outbox.sqlite3"
        self.outbox = Outbox(self.outbox_path)
        self.journal = RefundsInOutbox(self.journal_path, self.outbox)
        self._view_lock = threading.Lock()
        self._journal_view, self._outbox_view = Journal(self.journal_path), Outbox(self.outbox_path)
        self.records = Records(self.state_dir / "daemon.sqlite3")
        self.events = EventLog(self.records)
        self.lookup = status_lookup(client.get_json, settings.terminal_id)
        self.reader: Reader | None = None
        self.reader_detail = "not opened yet"
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._slot: Slot | None = None
        self._work = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._reader_wanted = threading.Event()
        self._threads: list[threading.Thread] = []
        self.recovered: list[str] = []
        spec = settings.daemon.printer
        self._printer = printer or (None if spec is None else lambda: open_printer(spec))

    # -- life ---------------------------------------------------------------------------------

    def start(self) -> None:
        for action in self.records.unfinished():
            self.records.save_action(action.advance(ActionState.FAILED, reason="interrupted"))
        try:
            owed = owed_refunds(self.journal, self.outbox)
            self.recovered = [str(r.resolution) for r in
                              recover_all(self.journal, self.outbox, self.lookup)]  # fmt: skip
            self.recovered += ["refund_owed"] * len(owed)
        except TerminalError as exc:
            log.error("journal recovery stopped: %s", exc)
            self.recovered = [f"error: {exc}"]
        self.flush()
        for target, name in ((self._reader_loop, "reader"), (self._worker, "worker"),
                             (self._flush_loop, "flush")):  # fmt: skip
            thread = threading.Thread(target=target, name=f"daemon-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self.events.publish("daemon", state="started", recovered=self.recovered)

    def stop(self) -> None:
        self._stop.set()
        slot, reader = self._slot, self.reader
        if slot is not None:
            slot.cancel.set()
        if reader is not None:
            reader.cancel()
        with self._work:
            self._work.notify_all()
        self._reader_wanted.set()
        for thread in self._threads:
            thread.join(timeout=5)
        if self.reader is not None:
            self.reader.close()
        for closing in (self.journal, self.outbox, self._journal_view, self._outbox_view):
            closing.close()
        self.records.close()

    # -- the reader ---------------------------------------------------------------------------

    def _reader_loop(self) -> None:
        delay = READER_RETRY
        while not self._stop.is_set():
            if self.reader is None:
                try:
                    self.reader = self._open_reader()
                except ReaderError as exc:
                    self.reader_detail = str(exc)
                    self._stop.wait(delay)
                    delay = min(delay * 2, READER_RETRY_CAP)
                    continue
                delay = READER_RETRY
                self.reader_detail = "present"
                self.events.publish("reader", present=True, name=self.reader.name)
            self._reader_wanted.wait()
            self._reader_wanted.clear()

    def reader_lost(self, detail: str) -> None:
        """The reader failed: close it, say so, and let the reader watch find it again."""
        reader, self.reader = self.reader, None
        self.reader_detail = detail
        if reader is not None:
            try:
                reader.close()
            except Exception:  # a reader that just vanished may fail to close: it is gone
                log.warning("closing the lost reader failed", exc_info=True)
            self.events.publish("reader", present=False, name=reader.name, detail=detail)
        self._reader_wanted.set()

    # -- the outbox ---------------------------------------------------------------------------

    def flush(self) -> None:
        """Forward what the outbox holds that is due (one flush at a time)."""
        with self._flush_lock:
            try:
                with Journal(self.journal_path) as journal, Outbox(self.outbox_path) as outbox:
                    hook = chain(journal_hook(journal), refund_hook(journal))
                    Forwarder(outbox, http_sender(self.http), on_done=hook,
                              follow_ups={"abandon": cancel_abandoned_rental}).flush()  # fmt: skip
            except TerminalError as exc:
                log.warning("outbox flush failed: %s", exc)

    def _flush_loop(self) -> None:
        while not self._stop.wait(self.settings.daemon.flush_interval):
            self.flush()

    # -- actions ------------------------------------------------------------------------------

    def submit(self, body: dict[str, Any], idempotency_key: str) -> tuple[Action, bool]:
        """Start the action ``body`` asks for; (the action, whether it was created now).

        A repeat of ``idempotency_key`` with the same body returns the first action.
        """
        fingerprint = request_hash(body)
        with self._lock:
            known = self.records.by_key(idempotency_key)
            if known is not None:
                if known[1] != fingerprint:
                    raise ActionKeyReusedError("this Idempotency-Key was used for a different "
                                               "request")  # fmt: skip
                return known[0], False
            kind = ActionKind(body["kind"])
            self._check(kind, body)
            if self._slot is not None and not self._slot.action.state.final:
                raise ActionBusyError("another action is running on the reader",
                                      self._slot.action.id)  # fmt: skip
            if self.reader is None:
                raise ReaderAbsentError(f"the reader is not there: {self.reader_detail}")
            action = Action(new_action_id(), kind, ActionState.PENDING, body["amount"],
                            body["currency"], body.get("reference"),
                            body.get("original_action_id"))  # fmt: skip
            self.records.add_action(action, idempotency_key, fingerprint)
            self._slot = Slot(action)
            self._work.notify_all()
        self.events.publish("action", action=action.to_dict())
        return action, True

    def _check(self, kind: ActionKind, body: dict[str, Any]) -> None:
        if kind not in RUNS:
            raise ActionRefusedError(f"this terminal is in {self.settings.mode} mode: it does "
                                     f"not run {kind} actions", "kind_unsupported")  # fmt: skip
        if body["currency"] != self.settings.currency:
            raise ActionRefusedError(f"this terminal takes {self.settings.currency} only",
                                     "currency_unsupported")  # fmt: skip
        if kind is ActionKind.REFUND:
            original = self.records.action(str(body.get("original_action_id")))
            if original is None or original.kind is not ActionKind.PAYMENT or \
                    (original.result or {}).get("outcome") != "approved":  # fmt: skip
                raise ActionRefusedError("a refund names an approved payment action "
                                         "(original_action_id)", "refund_original_invalid")  # fmt: skip
            if body["amount"] > original.amount:
                raise ActionRefusedError("a refund is at most the payment's amount",
                                         "refund_amount_exceeded")  # fmt: skip
            return
        limit = contactless_limit(self.settings)
        if limit is not None and body["amount"] >= limit:
            raise ActionRefusedError(f"contactless payments are below {limit} minor units",
                                     "amount_over_contactless_limit")  # fmt: skip

    def _worker(self) -> None:
        while not self._stop.is_set():
            with self._work:
                slot = self._slot
                while not self._stop.is_set() and (slot is None or slot.done.is_set()
                                                   or slot.action.state.final):  # fmt: skip
                    self._work.wait()
                    slot = self._slot
            if self._stop.is_set() or slot is None:
                return
            try:
                self._run(slot)
            except Exception as exc:  # the action fails, the daemon stays up
                log.exception("action %s failed", slot.action.id)
                reason = f"internal: {type(exc).__name__}"
                if not slot.action.state.final:
                    self.update(slot, _failed(reason))
            finally:
                slot.done.set()
            self.flush()

    def _run(self, slot: Slot) -> None:
        reader = self.reader
        if reader is None:
            self.update(slot, lambda a: a.advance(ActionState.FAILED, reason="reader_absent"))
            return
        ctx = Context(reader=reader, kernel=self.kernel, client=self.client,
                      journal=self.journal, outbox=self.outbox,
                      terminal_id=self.settings.terminal_id,
                      merchant_name=self.settings.merchant_name, wait=self.settings.wait,
                      lookup=self.lookup, flush=self.flush, update=self.update,
                      show=lambda ui: self.show(slot, ui), reader_lost=self.reader_lost)  # fmt: skip
        if slot.action.kind is ActionKind.REFUND:
            original = self.records.action(slot.action.original_action_id or "")
            assert original is not None
            run_refund(ctx, slot, original)
        else:
            run_payment(ctx, slot)

    def update(self, slot: Slot, change: Callable[[Action], Action]) -> None:
        """Apply ``change`` to the slot's action, persist it, publish it."""
        with slot.lock:
            slot.action = change(slot.action)
            self.records.save_action(slot.action)
            self.events.publish("action", action=slot.action.to_dict())

    def show(self, slot: Slot, ui: UiRequest) -> None:
        """Publish a UI request of the kernel (Book A 9.4 message, 9.2 status, the text)."""
        self.events.publish("ui", action_id=slot.action.id,
                            message_id=f"{ui.message.value:02X}", message=ui.message.name,
                            status=ui.status.name, indicators=list(ui.status.lights),
                            text=ui.text, tone=ui.tone.value, hold_time_ms=ui.hold_time_ms)  # fmt: skip

    def action(self, id: str) -> Action:
        slot = self._slot
        if slot is not None and slot.action.id == id:
            return slot.action
        found = self.records.action(id)
        if found is None:
            raise UnknownActionError(f"no action {id}")
        return found

    def cancel(self, id: str, *, wait: float = 10.0) -> Action:
        """Cancel action ``id``; the action once its fate is known (see the runner)."""
        slot = self._slot
        if slot is None or slot.action.id != id:
            action = self.action(id)  # unknown -> UnknownActionError
            if action.state is ActionState.COMPLETED and action.cancel_result is None:
                action = action.but(cancel_requested=True, cancel_result=CancelResult.TOO_LATE)
                self.records.save_action(action)
            return action
        with slot.lock:
            if slot.action.state.final:
                if slot.action.state is ActionState.COMPLETED and not slot.action.cancel_requested:
                    self.update(slot, lambda a: a.but(cancel_requested=True,
                                                      cancel_result=CancelResult.TOO_LATE))
                return slot.action
            verdict = slot.request_cancel(self.reader)
            late = verdict if verdict is CancelResult.TOO_LATE else None
            self.update(slot, lambda a: a.but(cancel_requested=True, cancel_result=late))
        slot.done.wait(wait)
        return slot.action

    def running(self) -> Action | None:
        slot = self._slot
        return slot.action if slot is not None and not slot.action.state.final else None

    def receipt(self, id: str) -> Receipt:
        """The receipt of action ``id`` (ActionConflictError when it has none yet)."""
        action = self.action(id)
        doc = (action.result or {}).get("receipt")
        if not doc:
            raise ActionConflictError(f"action {id} is {action.state}: it has no receipt")
        return Receipt.from_dict(doc)

    def print_receipt(self, id: str) -> None:
        """Print (or reprint) the receipt of action ``id`` on the ESC/POS printer."""
        receipt = self.receipt(id)
        if self._printer is None:
            raise PrinterError("no receipt printer is configured (daemon.printer)")
        printer = self._printer()
        try:
            print_receipt(printer, receipt)
        finally:
            close = getattr(printer, "close", None)
            if callable(close):
                close()

    # -- idle screen, ledger, health ----------------------------------------------------------

    def display(self, body: dict[str, Any]) -> dict[str, Any]:
        running = self.running()
        if running is not None:
            raise ActionConflictError(f"action {running.id} is running: the display is its own")
        event = self.events.publish("display", **body)
        return {"shown": True, "event_id": event.id}

    def transactions(self, **query: Any) -> dict[str, Any]:
        with self._view_lock:
            return transactions_page(self._journal_view, **query)

    def totals(self) -> dict[str, Any]:
        last = self.records.last_batch()
        with self._view_lock:
            return day_totals(self._journal_view, after=last[1] if last else 0,
                              since=last[0] if last else None)  # fmt: skip

    def close_batch(self) -> dict[str, Any]:
        """Close the day at the acquirer; its report beside the terminal's own totals."""
        with self._lock:
            running = self.running()
            if running is not None:
                raise ActionConflictError(f"action {running.id} is running: close after it")
            totals = self.totals()
            batch = self.client.post_json("/v1/settlement/batches",
                                          {"terminal_id": self.settings.terminal_id},
                                          str(uuid.uuid4()))  # fmt: skip
            closed_at = datetime.now(UTC).isoformat()
            report = close_report(totals, batch)
            self.records.add_batch(closed_at, totals["last_journal_id"], report)
        self.events.publish("batch", batch_id=batch.get("batch_id"), matches=report["matches"])
        return report

    def health(self) -> dict[str, Any]:
        reachable = True
        try:
            self.http.get("/v1/health", timeout=2.0).raise_for_status()
        except httpx.HTTPError:
            reachable = False
        with self._view_lock:
            backlog = self._outbox_view.pending()
        running = self.running()
        return {
            "reader": {"present": self.reader is not None,
                       "name": self.reader.name if self.reader is not None else None,
                       "detail": self.reader_detail},
            "acquirer": {"url": self.settings.acquirer_url, "reachable": reachable},
            "outbox": {"pending": backlog.count, "failed": backlog.failed,
                       "at_risk": backlog.at_risk},
            "certificate_expires": certificate_expiry(self.settings.acquirer_certificate),
            "running_action": running.id if running is not None else None,
            "last_event_id": self.events.last_id(),
            "recovered": self.recovered,
        }  # fmt: skip
