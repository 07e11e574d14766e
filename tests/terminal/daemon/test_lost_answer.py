"""An authorization whose answer is lost, through the daemon: journalled, resolved, reversed.

The daemon's acquirer client forwards to the real acquirer and drops the authorization's
answer on the way back. The acquirer approved; the customer must not be charged: the
journal says ``answer_unknown``, the status lookup (or, where the acquirer has none, the
reversal by key) resolves it, the reversal goes through the outbox, and the action completes
declined with the reversal done.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from card_emulation import EmvApplet
from tests.terminal.daemon.rig import Rig, daemon_rig
from tests.terminal.daemon.test_payments import pay


class DropAuthorizationAnswers(httpx.BaseTransport):
    """Deliver every request; lose the answers to authorizations."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.delivered: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        self.delivered.append(f"{request.method} {request.url.path} {response.status_code}")
        if request.url.path == "/v1/authorizations":
            raise httpx.ReadTimeout("answer lost on the way back", request=request)
        return response


@pytest.fixture
def lossy(tmp_path: Path, acquirer: tuple[str, Path], card: EmvApplet) -> Iterator[
        tuple[Rig, DropAuthorizationAnswers]]:  # fmt: skip
    transport = DropAuthorizationAnswers()
    with daemon_rig(tmp_path, acquirer[0], card, transport=transport) as rig:
        yield rig, transport


def test_a_lost_answer_is_reversed_and_the_action_says_declined(
    lossy: tuple[Rig, DropAuthorizationAnswers],
) -> None:
    rig, transport = lossy
    done = pay(rig, 888, "lost-1")
    assert done["state"] == "completed", done
    result = done["result"]
    assert (result["outcome"], result["reason"], result["reversal"]) == (
        "declined", "acquirer_unavailable", "reversed")
    assert result["receipt"]["outcome"] == "declined"
    assert transport.delivered[0] == "POST /v1/authorizations 200"  # the acquirer approved
    entry = rig.api.get("/v1/transactions", params={"reference": "lost-1"}).json()["items"][0]
    assert entry["state"] == "reversed" and entry["resolution"]
    health = rig.api.get("/v1/health").json()
    assert health["outbox"] == {"pending": 0, "failed": 0, "at_risk": {}}
    assert rig.api.get("/v1/totals").json()["currencies"] == []  # nothing taken
