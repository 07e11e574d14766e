"""Cancel against the running action: honoured up to the moment the authorization leaves,
``too_late`` after it; COMPLETED and CANCELLED are final and authoritative."""

from __future__ import annotations

import random
import threading
from typing import Any

import httpx

from card_emulation import EmvApplet
from tests.terminal.daemon.rig import TIMEOUT, Rig

#: Kernel 3 (Visa) takes the cryptogram in GET PROCESSING OPTIONS; the card is still being
#: read there. EXTERNAL AUTHENTICATE comes after the acquirer answered.
GET_PROCESSING_OPTIONS, EXTERNAL_AUTHENTICATE = 0xA8, 0x82


class HeldCard:
    """The card, held at the first command with INS ``ins`` until :attr:`go` is set."""

    def __init__(self, card: EmvApplet, ins: int) -> None:
        self.card, self.ins = card, ins
        self.reached, self.go = threading.Event(), threading.Event()

    def process_apdu(self, apdu: bytes) -> bytes:
        if apdu[1] == self.ins and not self.reached.is_set():
            self.reached.set()
            assert self.go.wait(TIMEOUT)
        return self.card.process_apdu(apdu)


def cancel_in_background(rig: Rig, action_id: str) -> tuple[threading.Thread, list[Any]]:
    answers: list[Any] = []

    def cancel() -> None:
        answers.append(rig.api.post(f"/v1/actions/{action_id}/cancel").json())

    thread = threading.Thread(target=cancel)
    return thread, answers


def held_payment(rig: Rig, ins: int, reference: str) -> dict[str, Any]:
    """A payment whose card holds at ``ins`` while a cancel is requested; the final action."""
    action = rig.act(kind="payment", amount=555, reference=reference).json()
    rig.wait_state(action["id"], "waiting_for_card")
    held = HeldCard(rig.card, ins)
    rig.field.insert(held)
    try:
        assert held.reached.wait(TIMEOUT)
        thread, answers = cancel_in_background(rig, action["id"])
        with rig.stream(after=0) as events:
            thread.start()
            events.wait_for(lambda e: e["type"] == "action" and e["action"]["id"] == action["id"]
                            and e["action"]["cancel_requested"])  # fmt: skip
        held.go.set()
        thread.join(TIMEOUT)
    finally:
        rig.field.remove()
    final = rig.api.get(f"/v1/actions/{action['id']}").json()
    assert answers == [final]  # the cancel answers with the action's fate
    return dict(final)


def journal_state(rig: Rig, reference: str) -> str:
    items = rig.api.get("/v1/transactions", params={"reference": reference}).json()["items"]
    return str(items[0]["state"])


def test_a_cancel_after_the_card_was_read_and_before_sending_is_honoured(rig: Rig) -> None:
    final = held_payment(rig, GET_PROCESSING_OPTIONS, "gate-1")
    assert (final["state"], final["cancel_result"]) == ("cancelled", "cancelled")
    assert final["result"] is None
    assert journal_state(rig, "gate-1") == "cancelled"  # never sent: the state machine says so


def test_a_cancel_after_the_authorization_left_is_too_late(rig: Rig) -> None:
    final = held_payment(rig, EXTERNAL_AUTHENTICATE, "late-1")
    assert (final["state"], final["cancel_result"]) == ("completed", "too_late")
    assert final["result"]["outcome"] == "approved"
    assert journal_state(rig, "late-1") == "confirmed"
    payment = httpx.get(f"{rig.acquirer_url}/v1/payments/{final['result']['authorization_id']}",
                        params={"terminal_id": rig.terminal_id}).json()  # fmt: skip
    assert payment["captured"] == 555


def test_cancel_hammered_against_completion_ends_one_way_only(rig: Rig) -> None:
    seen = set()
    for n in range(12):
        reference = f"race-{n}"
        action = rig.act(kind="payment", amount=100 + n, reference=reference).json()
        rig.wait_state(action["id"], "waiting_for_card")
        thread, answers = cancel_in_background(rig, action["id"])
        delay = random.uniform(0, 0.05)
        rig.field.insert(rig.card)
        threading.Event().wait(delay)  # a random moment of the tap: the race, not a wait for it
        thread.start()
        thread.join(TIMEOUT)
        final = rig.wait_state(action["id"], "completed", "cancelled")
        rig.field.remove()
        again = rig.api.get(f"/v1/actions/{action['id']}").json()
        assert again["state"] == final["state"] and answers[0]["state"] == final["state"]
        state = journal_state(rig, reference)
        if final["state"] == "cancelled":
            assert final["cancel_result"] == "cancelled" and state == "cancelled"
        else:
            assert final["result"]["outcome"] == "approved" and state == "confirmed"
            assert again["cancel_result"] == "too_late"
        seen.add(final["state"])
    assert seen <= {"completed", "cancelled"}
