"""A mandates rig: the real acquirer app, two merchants with a till each, a wallet, an agent.

Builds on the checkout rig (:mod:`tests.acquirer.checkout.rig`): the wallet is the project's
own :class:`card_emulation.mandates.MandateWallet` (device key, mandates, confirmations),
the agent a :class:`card_emulation.mandates.AgentKeyPair`; both speak to the acquirer over
its REST routes, and the wallet key is registered as provisioning would (the service).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from acquirer import Settings
from acquirer.domains import open_database
from acquirer.mandates import MandateService
from acquirer.payments.sql import SqlPaymentStore
from acquirer.registry import MerchantRow, TerminalRow, TerminalStatus
from card_emulation.mandates import AgentKeyPair, MandateWallet
from card_emulation.mandates.device_key import DeviceKey
from emvcore.agentpay import Checkout, Period, Presence, Recurrence, generate_private_key
from tests.acquirer.checkout.rig import MERCHANT, START, TILL

BAKERY, BAKERY_TILL = "BAKERY01", "TILL0002"
NOW = int(START.timestamp())


def register_bakery(settings: Settings) -> None:
    """A second merchant (same MCC 5814) with its own till."""
    store = SqlPaymentStore(open_database(settings))
    try:
        store.put_merchant(MerchantRow(BAKERY, "Bakery", "5814", "EUR", "DE90", START))
        store.put_terminal(
            TerminalRow(BAKERY_TILL, BAKERY, ("pay",), TerminalStatus.ACTIVE, None, START)
        )
    finally:
        store.engine.close()


def device_key(name: str) -> DeviceKey:
    """A fresh wallet device key (kept in memory: the tests need no card store)."""
    return DeviceKey(name, generate_private_key())


@dataclass
class Agent:
    """An agent paying sessions under mandates over the REST routes."""

    http: httpx.Client
    keys: AgentKeyPair = field(default_factory=AgentKeyPair)
    _ids: Iterator[int] = field(default_factory=itertools.count)

    def register(self) -> str:
        response = self.http.post("/v1/agent/keys", json={"jwk": self.keys.public_jwk()})
        assert response.status_code == 200, response.text
        thumbprint: str = response.json()["thumbprint"]
        return thumbprint

    def checkout(self, session_id: str) -> Checkout:
        response = self.http.get(f"/v1/agent/checkouts/{session_id}")
        assert response.status_code == 200, response.text
        checkout = Checkout.from_document(response.json()["checkout"])
        assert checkout.hash() == response.json()["checkout_hash"]
        return checkout

    def body(
        self, session_id: str, mandate_id: str, mandate: str, *, now: int = NOW, **extra: Any
    ) -> dict[str, Any]:
        binding = self.keys.bind(mandate_id=mandate_id, checkout=self.checkout(session_id), now=now)
        return {"session_id": session_id, "mandate": mandate, "binding": binding, **extra}

    def post(self, body: dict[str, Any], key: str | None = None) -> httpx.Response:
        headers = {"Idempotency-Key": key or f"agent-{next(self._ids)}"}
        return self.http.post("/v1/agent/payments", json=body, headers=headers)

    def pay(self, session_id: str, mandate_id: str, mandate: str, **extra: Any) -> dict[str, Any]:
        response = self.post(self.body(session_id, mandate_id, mandate, **extra))
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer


def create_session(http: httpx.Client, terminal: str, amount: int, key: str) -> str:
    response = http.post(
        "/v1/checkout/sessions",
        json={"terminal_id": terminal, "amount": amount, "currency": "EUR", "reference": "R"},
        headers={"Idempotency-Key": key},
    )
    assert response.status_code == 200, response.text
    session_id: str = response.json()["session_id"]
    return session_id


def sign_hnp(
    wallet: MandateWallet, agent: AgentKeyPair, *, budget: int, max_amount: int, uses: int = 10
) -> tuple[str, str]:
    """A human-not-present, recurring mandate for both merchants: (id, JWS)."""
    mandate, token = wallet.sign_mandate(
        currency="EUR",
        max_amount=max_amount,
        budget=budget,
        not_before=NOW - 60,
        expires_at=NOW + 86_400,
        now=NOW - 60,
        presence=Presence.HUMAN_NOT_PRESENT,
        merchants=(MERCHANT, BAKERY),
        agent_key=agent.public_key,
        recurrence=Recurrence(Period.DAY, uses),
    )
    return mandate.mandate_id, token


def register_wallet(service: MandateService, wallet: MandateWallet) -> str:
    return service.register_wallet_key(wallet.card.token, wallet.device_key.public_jwk())


__all__ = ["BAKERY", "BAKERY_TILL", "MERCHANT", "NOW", "TILL"]
