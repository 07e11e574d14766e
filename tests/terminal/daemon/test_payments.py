"""A kiosk drives the daemon over its API: payment, refund, cancel, one action at a time."""

from __future__ import annotations

from typing import Any

import httpx

from tests.terminal.daemon.rig import Rig


def pay(rig: Rig, amount: int, reference: str) -> dict[str, Any]:
    created = rig.act(kind="payment", amount=amount, reference=reference)
    assert created.status_code == 201, created.text
    action = created.json()
    assert action["state"] == "pending"
    rig.wait_state(action["id"], "waiting_for_card")
    rig.field.insert(rig.card)
    try:
        return rig.wait_state(action["id"], "completed", "cancelled", "failed")
    finally:
        rig.field.remove()


def test_a_payment_is_approved_with_its_receipt_then_refunded(rig: Rig) -> None:
    done = pay(rig, 1250, "order-1")
    assert done["state"] == "completed", done
    result = done["result"]
    assert result["outcome"] == "approved"
    assert result["authorization_id"].startswith("auth_")
    assert result["arpc_verified"] is True
    assert result["token_masked"] and "*" in result["token_masked"]
    receipt = result["receipt"]
    assert receipt["merchant_name"] == "Kiosk Coffee"
    assert receipt["terminal_id"] == rig.terminal_id
    assert (receipt["amount"], receipt["currency"], receipt["outcome"]) == (1250, "EUR", "approved")
    assert receipt["authorization_code"] == result["authorization_id"]
    assert receipt["aid"] == "A0000000031010" and receipt["reference"] == "order-1"
    # Saved with the journal, confirmed.
    journal = rig.api.get("/v1/transactions", params={"reference": "order-1"}).json()
    assert journal["total"] == 1
    entry = journal["items"][0]
    assert (entry["state"], entry["outcome"], entry["receipt"]) == ("confirmed", "approved", receipt)
    # The acquirer holds the payment, captured.
    payment = httpx.get(f"{rig.acquirer_url}/v1/payments/{result['authorization_id']}",
                        params={"terminal_id": rig.terminal_id}).json()  # fmt: skip
    assert (payment["captured"], payment["refunded"]) == (1250, 0)

    refund = rig.act(kind="refund", amount=1250, reference="order-1-refund",
                     original_action_id=done["id"])  # fmt: skip
    assert refund.status_code == 201, refund.text
    refunded = rig.wait_state(refund.json()["id"], "completed", "failed")
    assert refunded["state"] == "completed", refunded
    assert refunded["result"]["outcome"] == "refunded"
    assert refunded["result"]["receipt"]["kind"] == "refund"
    payment = httpx.get(f"{rig.acquirer_url}/v1/payments/{result['authorization_id']}",
                        params={"terminal_id": rig.terminal_id}).json()  # fmt: skip
    assert payment["refunded"] == 1250


def test_a_payment_is_cancelled_while_waiting_for_a_card(rig: Rig) -> None:
    action = rig.act(kind="payment", amount=400, reference="cancel-me").json()
    rig.wait_state(action["id"], "waiting_for_card")
    cancelled = rig.api.post(f"/v1/actions/{action['id']}/cancel")
    assert cancelled.status_code == 200
    doc = cancelled.json()
    assert (doc["state"], doc["cancel_result"]) == ("cancelled", "cancelled")
    assert rig.api.get(f"/v1/actions/{action['id']}").json()["state"] == "cancelled"
    entry = rig.api.get("/v1/transactions", params={"reference": "cancel-me"}).json()["items"][0]
    assert (entry["state"], entry["outcome"]) == ("cancelled", "cancelled")


def test_a_second_action_is_refused_while_one_runs(rig: Rig) -> None:
    first = rig.act(kind="payment", amount=300).json()
    second = rig.act(kind="payment", amount=301)
    assert second.status_code == 409
    problem = second.json()
    assert second.headers["content-type"] == "application/problem+json"
    assert (problem["code"], problem["running_action_id"]) == ("action_in_progress", first["id"])
    rig.api.post(f"/v1/actions/{first['id']}/cancel")
    assert rig.act(kind="payment", amount=302).status_code == 201


def test_an_idempotency_key_repeated_returns_the_same_action(rig: Rig) -> None:
    first = rig.act("kiosk-order-9", kind="payment", amount=990)
    again = rig.act("kiosk-order-9", kind="payment", amount=990)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    other = rig.act("kiosk-order-9", kind="payment", amount=991)
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    rig.api.post(f"/v1/actions/{first.json()['id']}/cancel")


def test_the_event_stream_shows_the_whole_sequence_and_resumes(rig: Rig) -> None:
    start = rig.api.get("/v1/health").json()["last_event_id"]
    with rig.stream(after=start) as events:
        done = pay(rig, 725, "stream-1")
        events.wait_for(lambda e: e["type"] == "action" and e["action"]["state"] == "completed")
    mine = [e for e in events.seen
            if e.get("action", {}).get("id") == done["id"] or e.get("action_id") == done["id"]]
    states = [e["action"]["state"] for e in mine if e["type"] == "action"]
    assert states == ["pending", "waiting_for_card", "processing", "completed"]
    messages = [e["message"] for e in mine if e["type"] == "ui"]
    assert "PRESENT_CARD" in messages and "AUTHORISING" in messages
    ui = next(e for e in mine if e["type"] == "ui" and e["message"] == "AUTHORISING")
    assert ui["message_id"] == "1B" and len(ui["indicators"]) == 4 and ui["text"]
    ids = [e["id"] for e in events.seen]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    # Reconnecting with Last-Event-ID replays everything after it, nothing lost.
    with rig.stream(last_event_id=start) as replay:
        for _ in events.seen:
            replay.wait_for(lambda e: True)
    assert [e["id"] for e in replay.seen] == ids


def test_display_while_idle_and_not_while_busy(rig: Rig) -> None:
    start = rig.api.get("/v1/health").json()["last_event_id"]
    with rig.stream(after=start) as events:
        shown = rig.api.post("/v1/display", json={"amount": 450, "currency": "EUR", "lines": [
            {"text": "Latte", "amount": 450}]})  # fmt: skip
        assert shown.status_code == 200, shown.text
        event = events.wait_for(lambda e: e["type"] == "display")
    assert event["lines"] == [{"text": "Latte", "amount": 450}]
    busy = rig.act(kind="payment", amount=450).json()
    refused = rig.api.post("/v1/display", json={"message": "Welcome"})
    assert (refused.status_code, refused.json()["code"]) == (409, "action_state_conflict")
    rig.api.post(f"/v1/actions/{busy['id']}/cancel")


def test_health_reports_reader_acquirer_and_outbox(rig: Rig) -> None:
    health = rig.api.get("/v1/health").json()
    assert health["reader"] == {"present": True, "name": "loopback", "detail": "present"}
    assert health["acquirer"]["reachable"] is True
    assert health["outbox"]["pending"] == 0 and health["running_action"] is None
    assert health["certificate_expires"] is None  # plain HTTP: no client certificate


def test_totals_and_the_batch_close_match_the_acquirer(rig: Rig) -> None:
    first, second = pay(rig, 1000, "day-1"), pay(rig, 250, "day-2")
    assert first["result"]["outcome"] == second["result"]["outcome"] == "approved"
    refund = rig.act(kind="refund", amount=1000, original_action_id=first["id"]).json()
    assert rig.wait_state(refund["id"], "completed", "failed")["state"] == "completed"
    totals = rig.api.get("/v1/totals").json()
    (eur,) = totals["currencies"]
    assert (eur["sales"], eur["refunds"], eur["net"]) == (
        {"count": 2, "amount": 1250}, {"count": 1, "amount": 1000}, 250)
    closed = rig.api.post("/v1/batches")
    assert closed.status_code == 200, closed.text
    report = closed.json()
    assert report["matches"] is True, report["differences"]
    by_kind = {t["kind"]: t for t in report["batch"]["totals"]}
    assert (by_kind["sale"]["count"], by_kind["sale"]["gross"]) == (2, 1250)
    assert (by_kind["refund"]["count"], by_kind["refund"]["gross"]) == (1, -1000)
    assert rig.api.get("/v1/totals").json()["currencies"] == []


def test_a_card_left_in_the_field_is_not_charged_again(rig: Rig) -> None:
    first = rig.act(kind="payment", amount=880, reference="left-1").json()
    rig.wait_state(first["id"], "waiting_for_card")
    rig.field.insert(rig.card)
    assert rig.wait_state(first["id"], "completed")["result"]["outcome"] == "approved"
    # The card stays on the reader: the next action asks for its removal and does not read it.
    with rig.stream(after=rig.api.get("/v1/health").json()["last_event_id"]) as events:
        second = rig.act(kind="payment", amount=100, reference="left-2").json()
        events.wait_for(lambda e: e["type"] == "ui" and e["action_id"] == second["id"]
                        and e["message"] == "REMOVE_CARD")  # fmt: skip
    assert rig.api.get(f"/v1/actions/{second['id']}").json()["state"] == "waiting_for_card"
    rig.field.remove()
    rig.field.insert(rig.card)  # taken away and tapped again
    try:
        done = rig.wait_state(second["id"], "completed", "failed", "cancelled")
    finally:
        rig.field.remove()
    assert done["result"]["outcome"] == "approved"
    assert done["result"]["authorization_id"] != rig.api.get(
        f"/v1/actions/{first['id']}").json()["result"]["authorization_id"]


def test_a_preauthorization_holds_without_capturing(rig: Rig) -> None:
    created = rig.act(kind="preauthorization", amount=5000, reference="hold-1").json()
    rig.wait_state(created["id"], "waiting_for_card")
    rig.field.insert(rig.card)
    try:
        done = rig.wait_state(created["id"], "completed", "failed", "cancelled")
    finally:
        rig.field.remove()
    assert done["result"]["outcome"] == "approved", done
    payment = httpx.get(f"{rig.acquirer_url}/v1/payments/{done['result']['authorization_id']}",
                        params={"terminal_id": rig.terminal_id}).json()  # fmt: skip
    assert (payment["intent"], payment["authorized"], payment["captured"]) == (
        "preauthorization", 5000, 0)
    (eur,) = rig.api.get("/v1/totals").json()["currencies"]
    assert (eur["holds"], eur["sales"]["count"]) == ({"count": 1, "amount": 5000}, 0)
