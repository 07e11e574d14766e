"""A lost answer against the real acquirer: the authorization lands, its answer does not.

The terminal's transport forwards to a real `tap-acquirer serve` and drops the
authorization's answer on the way back, as a network failure would. The acquirer has
approved; the terminal must reverse that approval by its idempotency key (`POST
/v1/reversals`).
"""

from __future__ import annotations

from pathlib import Path

import httpx

from card_emulation import CardStore, EmvApplet
from terminal.kernel import Outcome, Transaction
from terminal.modes.pay.payment import pay
from terminal.online import AcquirerClient
from terminal.readers.emulated import LoopbackReader
from tests.acquirer.processes import acquirer_process
from tests.system.support import run_ok


class DropAuthorizationAnswers(httpx.BaseTransport):
    """Deliver every request; lose the answers to authorizations."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.delivered: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        self.delivered.append(f"{request.url.path} {response.status_code}")
        if request.url.path == "/v1/authorizations":
            raise httpx.ReadTimeout("answer lost on the way back", request=request)
        return response


def test_terminal_reverses_an_approval_whose_answer_was_lost(tmp_path: Path) -> None:
    data, cards, token = tmp_path / "acq", tmp_path / "cards", tmp_path / "token.json"
    run_ok("tap-acquirer", "init", "--data-dir", str(data))
    run_ok("tap-acquirer", "tokens", "provision", "--data-dir", str(data), "--scheme", "visa",
        "--funding-pan-file", "-", "--out", str(token), stdin="4111111111111111\n")  # fmt: skip
    run_ok("tap-card", "personalize", "lost", "--profile", "visa", "--token", str(token),
        "--issuer-keys", str(data / "issuer-keys.json"), "--home", str(cards))  # fmt: skip
    applet = EmvApplet(CardStore(cards).load("lost"))
    transport = DropAuthorizationAnswers()
    with acquirer_process(data) as url:
        client = AcquirerClient(url, transport=transport)
        result = pay(LoopbackReader(applet), Transaction(990, "EUR"), terminal_id="TERM0001",
                     client=client, wait=1)  # fmt: skip
        assert (result.outcome, result.reason, result.reversal) == (
            Outcome.DECLINED, "acquirer_unavailable", "reversed"
        )  # fmt: skip
        # The acquirer did approve (200), then took the reversal (200).
        assert transport.delivered == ["/v1/authorizations 200", "/v1/reversals 200"]
        client.close()
