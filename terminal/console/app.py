"""The shopkeeper's console: a textual app that drives the terminal daemon through its API.

Screen, top to bottom: the customer's view (amount, the reader's text such as "Present card",
the four status indicators, the outcome) mirrored from the daemon's event stream; the amount
field; the last transactions (the daemon's journal); a panel for receipts, totals and the
batch report; a message line; the status line (online/offline, reader, outbox and amount
at risk); the footer of key bindings. Every action is one key:

=========  ==================================================================
Enter      charge the amount in the field (a payment action)
Escape     cancel the running action (honoured until the authorization left)
F3         refund the selected payment (the newest unless another row is
           chosen); press F3 again to confirm
F4         reprint the selected transaction's receipt (shown, and printed
           when the daemon has a printer)
F5         the day's totals
F6         close the batch at the acquirer; press F6 again to confirm
Tab        move between the amount field and the transactions table
Ctrl+Q     quit (the daemon keeps running)
=========  ==================================================================

Every request runs in a worker thread, so the screen never waits on the network; every
failure is a message on the message line, never a traceback.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Input, Static

from emvcore.amount import decimal_separator_for
from emvcore.errors import AmountError
from terminal.console.amount import key_amount
from terminal.console.client import DaemonClient, SseEvent
from terminal.console.view import (
    CustomerView,
    money,
    status_line,
    totals_text,
    transaction_row,
)
from terminal.errors import ConsoleError

__all__ = ["ConsoleApp"]

#: Seconds between health polls of the status line.
HEALTH_EVERY = 5.0
_FINAL = ("completed", "cancelled", "failed")


class ConsoleApp(App[None]):
    """The console for one daemon, in one currency and the shop's ``locale``."""

    TITLE = "Tap console"
    CSS = """
    #customer { height: 11; border: round $accent; content-align: center middle;
                text-align: center; text-style: bold; }
    #amount { margin: 0 1; }
    #middle { height: 1fr; }
    #transactions { width: 3fr; }
    #panel { width: 2fr; border: round $secondary; padding: 0 1; }
    #message { height: 1; padding: 0 1; color: $warning; }
    #status { height: 1; padding: 0 1; background: $boost; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", priority=True),
        Binding("f3", "refund", "Refund", priority=True),
        Binding("f4", "reprint", "Reprint", priority=True),
        Binding("f5", "totals", "Totals", priority=True),
        Binding("f6", "close_batch", "Close", priority=True),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, client: DaemonClient, *, currency: str, locale: str,
                 limit: int | None, merchant: str = "") -> None:  # fmt: skip
        super().__init__()
        self.client, self.currency, self.locale, self.limit = client, currency, locale, limit
        self.separator = decimal_separator_for(locale)
        self.sub_title = merchant
        self.view = CustomerView()
        self.health: dict[str, Any] | None = None
        self.connected = False
        #: Actions seen on the event stream or started here, by id and by journal id.
        self.actions: dict[str, dict[str, Any]] = {}
        self.by_journal: dict[int, str] = {}
        self.running: str | None = None
        self.entries: list[dict[str, Any]] = []
        self._armed: str | None = None  # the action (refund, close) waiting for its second key
        self._stop = threading.Event()

    # -- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(self._customer_text(), id="customer")
        placeholder = "12" + self.separator + "50"
        yield Input(placeholder=f"Amount in {self.currency}, e.g. {placeholder}, then Enter",
                    id="amount")  # fmt: skip
        with Horizontal(id="middle"):
            table: DataTable[str] = DataTable(id="transactions", cursor_type="row")
            yield table
            with Vertical(id="panel"):
                yield Static("", id="receipt")
        yield Static("", id="message")
        yield Static(status_line(None, connected=False), id="status")
        yield Footer()

    def on_mount(self) -> None:
        table: DataTable[str] = self.query_one("#transactions", DataTable)
        table.add_columns("#", "Time", "Kind", "Amount", "State", "Outcome")
        self.query_one("#amount", Input).focus()
        threading.Thread(target=self._follow_events, name="console-events", daemon=True).start()
        self.refresh_health()
        self.refresh_transactions()
        self.set_interval(HEALTH_EVERY, self.refresh_health)

    def on_unmount(self) -> None:
        self._stop.set()

    # -- what is shown ------------------------------------------------------------------------

    def _customer_text(self) -> str:
        return self.view.render(self.separator)

    def say(self, text: str) -> None:
        """Put ``text`` on the message line."""
        self.query_one("#message", Static).update(text)

    def show_panel(self, text: str) -> None:
        self.query_one("#receipt", Static).update(text)

    def _show_customer(self) -> None:
        self.query_one("#customer", Static).update(self._customer_text())

    def _show_status(self) -> None:
        text = status_line(self.health, connected=self.connected, separator=self.separator)
        if self.running:
            text += " | BUSY"
        self.query_one("#status", Static).update(text)

    def _show_transactions(self, entries: list[dict[str, Any]]) -> None:
        table: DataTable[str] = self.query_one("#transactions", DataTable)
        keep = table.cursor_row
        self.entries = entries
        table.clear()
        for entry in entries:
            table.add_row(*transaction_row(entry, self.separator), key=str(entry.get("id")))
        if entries:
            table.move_cursor(row=min(keep, len(entries) - 1))

    # -- the event stream ---------------------------------------------------------------------

    def _follow_events(self) -> None:
        """The worker thread: replay the kept events (to learn the actions behind the
        journal), then mirror the live ones; reconnecting is the client's."""
        live_from: int | None = None
        while live_from is None and not self._stop.is_set():
            try:
                live_from = int(self.client.health().get("last_event_id") or 0)
            except ConsoleError:
                self._from_thread(self._disconnected)
                self._stop.wait(1.0)
        for event in self.client.events(self._stop, after=0):
            live = event.id is None or live_from is None or event.id > live_from
            self._from_thread(self.apply_event, event, live)

    def _from_thread(self, callback: Callable[..., Any], *args: Any) -> None:
        if self._stop.is_set():
            return
        try:
            self.call_from_thread(callback, *args)
        except RuntimeError:  # the app has stopped
            self._stop.set()

    def _disconnected(self) -> None:
        self.connected = False
        self._show_status()

    def apply_event(self, event: SseEvent, live: bool) -> None:
        """One event of the daemon: remember its action; when ``live``, mirror it."""
        if event.type == "disconnected":
            self._disconnected()
            return
        if not self.connected:
            self.connected = True
            self.refresh_health()
        data = event.data
        if event.type == "action" and isinstance(data.get("action"), dict):
            action: dict[str, Any] = data["action"]
            self._remember(action)
            if live:
                self.view = self.view.on_action(action)
                self._show_customer()
                if action.get("state") in _FINAL:
                    self._finished(action)
        elif event.type == "ui" and live:
            self.view = self.view.on_ui(data)
            self._show_customer()
        elif event.type == "display" and live:
            self.view = self.view.on_display(data)
            self._show_customer()
        elif event.type in ("reader", "daemon", "batch", "gap") and live:
            self.refresh_health()
            if event.type == "gap":
                self.refresh_transactions()

    def _remember(self, action: dict[str, Any]) -> None:
        action_id = str(action.get("id"))
        self.actions[action_id] = action
        journal_id = action.get("journal_id")
        if isinstance(journal_id, int):
            self.by_journal[journal_id] = action_id
        if action.get("state") in _FINAL:
            if self.running == action_id:
                self.running = None
        else:
            self.running = action_id

    def _finished(self, action: dict[str, Any]) -> None:
        amount = money(int(action.get("amount") or 0), str(action.get("currency")),
                       self.separator)  # fmt: skip
        if action.get("state") == "cancelled":
            self.say(f"{action.get('kind')} {amount}: Cancelled: nothing was charged")
        else:
            self.say(f"{action.get('kind')} {amount}: {self.view.outcome}")
        self.refresh_transactions()
        self.refresh_health()

    # -- requests (worker threads) ------------------------------------------------------------

    def _call(self, request: Callable[[], Any], done: Callable[[Any], None]) -> None:
        """Run ``request`` (in a worker thread), then ``done`` with its answer on the app's
        thread; a console error goes to the message line."""
        try:
            answer = request()
        except ConsoleError as exc:
            self._from_thread(self.say, f"Refused: {exc}")
            return
        self._from_thread(done, answer)

    @work(thread=True, group="health")
    def refresh_health(self) -> None:
        try:
            health = self.client.health()
        except ConsoleError:
            self._from_thread(self._set_health, None)
            return
        self._from_thread(self._set_health, health)

    def _set_health(self, health: dict[str, Any] | None) -> None:
        self.health = health
        self.connected = health is not None
        if health is not None and not health.get("running_action"):
            self.running = None
        self._show_status()

    @work(thread=True, group="transactions")
    def refresh_transactions(self) -> None:
        self._call(lambda: self.client.transactions(limit=20), self._show_transactions)

    def on_input_submitted(self, message: Input.Submitted) -> None:
        """Enter in the amount field: charge it."""
        self._armed = None
        try:
            amount = key_amount(message.value, self.currency, locale=self.locale,
                                limit=self.limit)  # fmt: skip
        except AmountError as exc:
            self.say(f"Amount not accepted: {exc}")
            return
        if self.running:
            self.say("An action is running: wait for it, or Escape to cancel it")
            return
        message.input.value = ""
        self.say(f"Charging {money(amount, self.currency, self.separator)}")
        self._send_start(lambda: self.client.pay(amount, self.currency))

    @work(thread=True, group="actions")
    def _send_start(self, request: Callable[[], dict[str, Any]]) -> None:
        self._call(request, self._started)

    def _started(self, action: dict[str, Any]) -> None:
        self._remember(action)
        if action.get("state") not in _FINAL:
            self.view = self.view.on_action(action)
            self._show_customer()
        self._show_status()

    def action_cancel(self) -> None:
        self._armed = None
        if not self.running:
            self.say("Nothing to cancel")
            return
        running = self.running
        self.say("Cancelling...")
        self._send_cancel(running)

    @work(thread=True, group="actions")
    def _send_cancel(self, action_id: str) -> None:
        self._call(lambda: self.client.cancel(action_id), self._cancel_answered)

    def _cancel_answered(self, action: dict[str, Any]) -> None:
        if action.get("cancel_result") == "too_late":
            self.say("Too late to cancel: the authorization had left; the payment completes")
        elif action.get("state") == "cancelled" or action.get("cancel_result") == "cancelled":
            self.say("Cancelled: nothing was charged")
        else:
            self.say("Cancel requested")

    def _selected(self) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The selected journal entry and the action behind it (if this console knows it)."""
        table: DataTable[str] = self.query_one("#transactions", DataTable)
        if not self.entries:
            return None, None
        entry = self.entries[min(max(table.cursor_row, 0), len(self.entries) - 1)]
        action_id = self.by_journal.get(int(entry.get("id") or 0))
        return entry, self.actions.get(action_id) if action_id else None

    def action_refund(self) -> None:
        entry, action = self._selected()
        if entry is None:
            self.say("No transaction to refund")
            self._armed = None
            return
        if entry.get("kind") != "payment" or entry.get("state") != "confirmed":
            self.say(f"Transaction {entry.get('id')} is not an approved payment: no refund")
            self._armed = None
            return
        if action is None:
            self.say(f"Transaction {entry.get('id')} was not taken through the daemon's "
                     "actions: refund it at the acquirer")  # fmt: skip
            self._armed = None
            return
        amount = money(int(action["amount"]), str(action["currency"]), self.separator)
        if self._armed != f"refund:{action['id']}":
            self._armed = f"refund:{action['id']}"
            self.say(f"Refund {amount} of transaction {entry.get('id')}? F3 again to confirm")
            return
        self._armed = None
        self.say(f"Refunding {amount}")
        self._send_start(lambda: self.client.refund(action))

    def action_reprint(self) -> None:
        self._armed = None
        entry, action = self._selected()
        if entry is None or action is None:
            self.say("No receipt to reprint: choose a completed transaction")
            return
        self._send_reprint(str(action["id"]))

    @work(thread=True, group="receipts")
    def _send_reprint(self, action_id: str) -> None:
        def request() -> tuple[str, str]:
            text = self.client.receipt_text(action_id)
            try:
                self.client.print_receipt(action_id)
                printed = "Receipt reprinted"
            except ConsoleError as exc:
                printed = f"Receipt shown (not printed: {exc})"
            return text, printed

        self._call(request, self._reprinted)

    def _reprinted(self, answer: tuple[str, str]) -> None:
        text, printed = answer
        self.show_panel(text.rstrip("\n"))
        self.say(printed)

    def action_totals(self) -> None:
        self._armed = None
        self._send_totals()

    @work(thread=True, group="totals")
    def _send_totals(self) -> None:
        self._call(self.client.totals, lambda t: self.show_panel(
            "Day totals\n" + totals_text(t, self.separator)))

    def action_close_batch(self) -> None:
        if self._armed != "close":
            self._armed = "close"
            self.say("Close the batch at the acquirer? F6 again to confirm")
            return
        self._armed = None
        self.say("Closing the batch...")
        self._send_close()

    @work(thread=True, group="totals")
    def _send_close(self) -> None:
        self._call(self.client.close_batch, self._batch_closed)

    def _batch_closed(self, report: dict[str, Any]) -> None:
        batch = report.get("batch") or {}
        agree = "totals match the acquirer" if report.get("matches") else "TOTALS DIFFER"
        self.show_panel(f"Batch {batch.get('batch_id', '?')} closed: {agree}\n"
                        + totals_text(report.get("terminal_totals") or {}, self.separator))
        self.say(f"Batch closed: {agree}")
        self.refresh_transactions()
