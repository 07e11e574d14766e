"""A refund the acquirer could not be reached for is owed, and delivered once it can be."""

from __future__ import annotations

from pathlib import Path

import httpx

from card_emulation import EmvApplet
from tests.terminal.daemon.rig import daemon_rig
from tests.terminal.daemon.test_payments import pay


class Unreachable(httpx.BaseTransport):
    """No connection to the acquirer (nothing is delivered)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)


def test_an_undelivered_refund_is_owed_and_delivered_after_a_restart(
    tmp_path: Path, acquirer: tuple[str, Path], card: EmvApplet
) -> None:
    with daemon_rig(tmp_path, acquirer[0], card, outbox_transport=Unreachable()) as first:
        paid = pay(first, 640, "refund-later")
        assert paid["result"]["outcome"] == "approved"
        created = first.act(kind="refund", amount=640, original_action_id=paid["id"],
                            reference="refund-later-r").json()  # fmt: skip
        owed = first.wait_state(created["id"], "completed", "failed")
        assert owed["state"] == "failed" and owed["reason"].startswith("refund_owed")
        health = first.api.get("/v1/health").json()
        assert health["outbox"]["pending"] == 1 and health["outbox"]["at_risk"] == {"EUR": 640}
        entry = first.api.get("/v1/transactions", params={"reference": "refund-later-r"}).json()
        assert entry["items"][0]["state"] == "sent"
        authorization_id = paid["result"]["authorization_id"]
        terminal_id = first.terminal_id
    payment = httpx.get(f"{acquirer[0]}/v1/payments/{authorization_id}",
                        params={"terminal_id": terminal_id}).json()  # fmt: skip
    assert payment["refunded"] == 0
    with daemon_rig(tmp_path, acquirer[0], card) as second:  # the acquirer is back
        health = second.api.get("/v1/health").json()
        assert health["outbox"]["pending"] == 0 and "refund_owed" in health["recovered"]
        entry = second.api.get("/v1/transactions", params={"reference": "refund-later-r"}).json()
        assert (entry["items"][0]["state"], entry["items"][0]["resolution"]) == (
            "confirmed", "refund_delivered")
    payment = httpx.get(f"{acquirer[0]}/v1/payments/{authorization_id}",
                        params={"terminal_id": terminal_id}).json()  # fmt: skip
    assert payment["refunded"] == 640
