"""A Tap! checkout rig: the real acquirer app, a registered till, a wallet's card, a tag.

The terminal side speaks the checkout routes as the terminal's tag mode does; the wallet is
the project's own (:class:`card_emulation.wallet.Wallet`) through the HTTP
:class:`~card_emulation.wallet.HttpCheckoutClient`, reading the tag by its APDUs.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient

from acquirer import Settings, create_app
from acquirer.domains import open_database
from acquirer.keys import KeyMaterial
from acquirer.payments.sql import SqlPaymentStore
from acquirer.registry import MerchantRow, TerminalRow, TerminalStatus
from acquirer.vault import TokenVault
from card_emulation import CardImage, EmvApplet, personalize
from card_emulation.tag import Type4Tag
from card_emulation.wallet import Conduct, HttpCheckoutClient, Wallet
from emvcore.tapmode import encode_message

TILL = "TILL0001"
MERCHANT = "CAFE01"
MERCHANT_NAME = "Corner Café"
PACKAGE = "com.example.wallet"
START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@dataclass
class Clock:
    """The acquirer's and the wallet's clock, moved by the tests."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def register_till(settings: Settings, keys: KeyMaterial, pans: tuple[str, ...]) -> list[CardImage]:
    """Register the merchant and its till; provision one token per PAN and personalize it."""
    store = SqlPaymentStore(open_database(settings))
    try:
        store.engine.migrate()
        store.put_merchant(MerchantRow(MERCHANT, MERCHANT_NAME, "5814", "EUR", "DE89", START))
        store.put_terminal(
            TerminalRow(TILL, MERCHANT, ("pay",), TerminalStatus.ACTIVE, None, START)
        )
        vault = TokenVault(
            store, keys.issuer_keys, keys.vault_key, bin_controller_id=settings.bin_controller_id
        )
        images = []
        for n, pan in enumerate(pans):
            record = vault.provision(pan, "visa")
            images.append(personalize(f"wallet-{n}", "visa", record, keys.issuer_keys))
        return images
    finally:
        store.engine.close()


@dataclass
class Till:
    """The terminal's side of Tap! mode, over HTTP: sessions, links, the tag."""

    http: httpx.Client
    tag: Type4Tag = field(default_factory=Type4Tag)
    _keys: Iterator[int] = field(default_factory=itertools.count)

    def create(self, amount: int = 1250, currency: str = "EUR", key: str | None = None) -> str:
        response = self.http.post(
            "/v1/checkout/sessions",
            json={"terminal_id": TILL, "amount": amount, "currency": currency, "reference": "R1"},
            headers={"Idempotency-Key": key or f"till-{next(self._keys)}"},
        )
        assert response.status_code == 200, response.text
        session_id: str = response.json()["session_id"]
        return session_id

    def link(self, session_id: str) -> str:
        response = self.http.post(
            f"/v1/checkout/sessions/{session_id}/links", json={"terminal_id": TILL}
        )
        assert response.status_code == 200, response.text
        uri: str = response.json()["uri"]
        return uri

    def present(self, session_id: str) -> None:
        """Present the session on the tag, a fresh link (nonce) at every tap."""
        self.tag.present(lambda: encode_message(self.link(session_id), PACKAGE))

    def session(self, session_id: str, wait: int = 0) -> dict[str, Any]:
        response = self.http.get(
            f"/v1/checkout/sessions/{session_id}", params={"terminal_id": TILL, "wait": wait}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def cancel(self, session_id: str) -> dict[str, Any]:
        response = self.http.post(
            f"/v1/checkout/sessions/{session_id}/cancel",
            json={"terminal_id": TILL},
            headers={"Idempotency-Key": f"cancel-{next(self._keys)}"},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@contextmanager
def app_client(settings: Settings, clock: Clock) -> Iterator[TestClient]:
    with TestClient(create_app(settings, clock=clock)) as client:
        yield client


def wallet(
    image: CardImage, settings: Settings, clock: Clock, conduct: Conduct = Conduct.HONEST
) -> Wallet:
    return Wallet(EmvApplet(image), base_url=settings.tap_base_url, conduct=conduct, clock=clock)


def checkout_client(http: httpx.Client) -> HttpCheckoutClient:
    return HttpCheckoutClient(client=http)
