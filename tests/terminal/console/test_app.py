"""The console driven as a shopkeeper would, with textual's pilot, against a fake daemon."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from terminal.console.app import ConsoleApp
from terminal.console.client import DaemonClient
from tests.terminal.console.fake_daemon import TOKEN, FakeDaemon

#: Seconds a test waits for the screen to show what it expects.
WAIT = 10.0


def _text(app: ConsoleApp, widget_id: str) -> str:
    return str(app.query_one(f"#{widget_id}", Static).render())


async def until(pilot: Pilot[None], predicate: Callable[[], bool], what: str) -> None:
    """Let the app run until ``predicate`` holds (bounded: a failure names ``what``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"the console never showed {what}")
        await pilot.pause(0.02)


def run(scenario: Callable[[ConsoleApp, Pilot[None], FakeDaemon], Awaitable[None]],
        *, locale: str = "en_GB", limit: int | None = 50_000,
        fake: FakeDaemon | None = None) -> FakeDaemon:
    daemon = fake or FakeDaemon()
    client = DaemonClient("http://daemon", TOKEN, transport=httpx.MockTransport(daemon.handle))
    app = ConsoleApp(client, currency="EUR", locale=locale, limit=limit, merchant="Corner Shop")

    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: "reader " in _text(app, "status"), "the status line")
            await scenario(app, pilot, daemon)
        daemon.closed.set()

    try:
        asyncio.run(main())
    finally:
        daemon.closed.set()
        client.close()
    return daemon


async def key_in(pilot: Pilot[None], text: str) -> None:
    await pilot.click("#amount")
    for ch in text:
        await pilot.press(ch)
    await pilot.press("enter")


def test_a_sale_mirrors_the_customer_display_and_lands_in_the_table() -> None:
    async def scenario(app: ConsoleApp, pilot: Pilot[None], daemon: FakeDaemon) -> None:
        await key_in(pilot, "12.50")
        await until(pilot, lambda: "Present card" in _text(app, "customer"), "Present card")
        assert "12.50 EUR" in _text(app, "customer")
        assert "◎  ○  ○  ○" in _text(app, "customer")  # Idle pattern: the first one flashes
        daemon.present_card()
        daemon.finish("approved")
        await until(pilot, lambda: "APPROVED" in _text(app, "customer"), "the outcome")
        assert "●  ●  ●  ●" in _text(app, "customer")
        await until(pilot, lambda: bool(app.entries) and app.entries[0]["state"] == "confirmed",
                    "the confirmed sale in the table")
        posted = [b for m, p, b in daemon.requests if m == "POST" and p == "/v1/actions"]
        assert posted == [{"kind": "payment", "amount": 1250, "currency": "EUR"}]

    run(scenario)


def test_a_comma_locale_takes_a_comma() -> None:
    async def scenario(app: ConsoleApp, pilot: Pilot[None], daemon: FakeDaemon) -> None:
        await key_in(pilot, "7,05")
        await until(pilot, lambda: "7,05 EUR" in _text(app, "customer"), "the amount")

    daemon = run(scenario, locale="fr_FR")
    assert [b["amount"] for m, p, b in daemon.requests if p == "/v1/actions"] == [705]


@pytest.mark.parametrize(("typed", "message"), [
    ("abc", "is not a number"),
    ("12,50", "use '.' as the decimal separator"),
    ("-5", "cannot be negative"),
    ("1.505", "more than 2 decimal places"),
    ("600", "at or above the contactless limit of 500.00 EUR"),
    ("0", "more than zero"),
    ("", "it is empty"),
])  # fmt: skip
def test_bad_amounts_get_a_message_and_reach_no_daemon(typed: str, message: str) -> None:
    async def scenario(app: ConsoleApp, pilot: Pilot[None], daemon: FakeDaemon) -> None:
        await key_in(pilot, typed)
        await until(pilot, lambda: "Amount not accepted" in _text(app, "message"), "a message")
        assert message in _text(app, "message")
        assert "Traceback" not in _text(app, "message")
        assert app.query_one("#amount", Input).value == typed  # kept, to correct

    daemon = run(scenario)
    assert not [r for r in daemon.requests if r[1] == "/v1/actions"]


def _approved_sale(amount: str) -> Callable[[ConsoleApp, Pilot[None], FakeDaemon],
                                              Awaitable[dict[str, Any]]]:
    async def sale(app: ConsoleApp, pilot: Pilot[None], daemon: FakeDaemon) -> dict[str, Any]:
        count = len(daemon.actions)
        await key_in(pilot, amount)
        await until(pilot, lambda: len(daemon.actions) > count and daemon.running() is not None
                    and daemon.running()["state"] == "waiting_for_card", "the sale running")
        daemon.present_card()
        action = daemon.finish("approved")
        await until(pilot, lambda: app.running is None and bool(app.entries)
                    and app.entries[0]["state"] == "confirmed", "the sale done")
        return action

    return sale


def test_refund_of_the_last_payment_needs_a_second_f3() -> None:
    async def scenario(app: ConsoleApp, pilot: Pilot[None], daemon: FakeDaemon) -> None:
        first = await _approved_sale("3.00")(app, pilot, daemon)
        await _approved_sale("4.00")(app, pilot, daemon)
        await pilot.press("f3")
        assert "F3 again to confirm" in _text(app, "message")
        assert "Refund 4.00 EUR" in _text(app, "message")
        assert not [b for m, p, b in daemon.requests if b and b.get("kind") == "refund"]
        # Choose the older payment instead: the table's second row.
        app.query_one("#transactions").focus()
        await pilot.press("down")
        await pilot.press("f3")
        assert "Refund 3.00 EUR" in _text(app, "message")
        await pilot.press("f3")
        await until(pilot, lambda: "REFUNDED" in _text(app, "customer"), "the refund")
        refunds = [b for m, p, b in daemon.requests if b and b.get("kind") == "refund"]
        assert refunds == [{"kind": "refund", "amount": 300, "currency": "EUR",
                            "original_action_id": first["id"]}]

    run(scenario)


def test_escape_cancels_while_waiting_for_a_card() -> None:
    async def scenario(app: ConsoleApp, pilot: Pilot[None], daemon: FakeDaemon) -> None:
        await key_in(pilot, "9.99")
        await until(pilot, lambda: app.running is not None, "the running sale")
        await pilot.press("escape")
        await until(pilot, lambda: "CANCELLED" in _text(app, "customer"), "the cancel")
        await until(pilot, lambda: "nothing was charged" in _text(app, "message"), "a message")
        assert daemon.running() is None

    run(scenario)


def test_a_second_sale_while_one_runs_is_not_sent() -> None:
    async def scenario(app: ConsoleApp, pilot: Pilot[None], daemon: FakeDaemon) -> None:
        await key_in(pilot, "1.00")
        await until(pilot, lambda: app.running is not None, "the running sale")
        await key_in(pilot, "2.00")
        assert "An action is running" in _text(app, "message")
        assert len([r for r in daemon.requests if r[1] == "/v1/actions"]) == 1

    run(scenario)


def test_reprint_shows_the_receipt_and_says_when_there_is_no_printer() -> None:
    async def scenario(app: ConsoleApp, pilot: Pilot[None], daemon: FakeDaemon) -> None:
        action = await _approved_sale("5.00")(app, pilot, daemon)
        await pilot.press("f4")
        await until(pilot, lambda: "Receipt reprinted" in _text(app, "message"), "reprinted")
        assert "Auth auth_1" in _text(app, "receipt")
        assert daemon.printed == [action["id"]]
        daemon.printer = False
        await pilot.press("f4")
        await until(pilot, lambda: "not printed" in _text(app, "message"), "no printer")
        assert "no receipt printer" in _text(app, "message")

    run(scenario)


def test_totals_and_the_batch_close() -> None:
    async def scenario(app: ConsoleApp, pilot: Pilot[None], daemon: FakeDaemon) -> None:
        await _approved_sale("5.00")(app, pilot, daemon)
        await pilot.press("f5")
        await until(pilot, lambda: "sales 1 = 5.00 EUR" in _text(app, "receipt"), "totals")
        await pilot.press("f6")
        assert "F6 again to confirm" in _text(app, "message")
        assert not [r for r in daemon.requests if r[1] == "/v1/batches"]
        await pilot.press("f6")
        await until(pilot, lambda: "Batch bat_1 closed" in _text(app, "receipt"), "the close")
        assert "totals match the acquirer" in _text(app, "message")

    run(scenario)


def test_status_line_offline_and_the_stream_reconnects_with_last_event_id() -> None:
    fake = FakeDaemon()
    fake.reachable = False
    fake.drop_stream_once = True

    async def offline(app: ConsoleApp, pilot: Pilot[None], daemon: FakeDaemon) -> None:
        await until(pilot, lambda: "OFFLINE" in _text(app, "status"), "offline")
        assert "outbox 1, at risk 7.00 EUR" in _text(app, "status")
        assert "reader emulated:visa" in _text(app, "status")
        await key_in(pilot, "1.00")  # the first event ends the stream once (drop_stream_once)
        # The flashing first indicator comes only from the ui event: the resumed stream's.
        await until(pilot, lambda: "◎" in _text(app, "customer"), "the ui event")

    fake.publish("daemon", state="started")
    run(offline, fake=fake)
    # The first connection replays from the start; the second resumes after event 1.
    assert fake.resumed_from[:2] == ["0", "1"]


def test_a_refused_request_is_a_message_not_a_traceback() -> None:
    async def scenario(app: ConsoleApp, pilot: Pilot[None], daemon: FakeDaemon) -> None:
        app.client = DaemonClient("http://daemon", "wrong-token",
                                  transport=httpx.MockTransport(daemon.handle))
        await pilot.press("f5")
        await until(pilot, lambda: "Refused" in _text(app, "message"), "the refusal")
        assert "wrong token (401, unauthorized)" in _text(app, "message")

    run(scenario)
