"""The merchant and terminal registry in the store, and token domain restriction controls."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from acquirer.errors import RegistryError, TerminalNotFoundError
from acquirer.registry import MerchantRow, RegistryStore, TerminalRow, TerminalStatus
from tests.acquirer.testkit import Api, TestCard

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _register(store: RegistryStore, terminal: str = "SHOP0001", mcc: str = "5411") -> None:
    assert store.put_merchant(
        MerchantRow("M1", "Grocer", mcc, "EUR", "DE89370400440532013000", NOW)
    )
    row = TerminalRow(terminal, "M1", ("pay", "bike"), TerminalStatus.ACTIVE, "ABC1", NOW)
    assert store.put_terminal(row)


def test_registry_round_trip(any_store: RegistryStore) -> None:
    _register(any_store)
    assert not any_store.put_merchant(MerchantRow("M1", "Other", "5812", "EUR", "X", NOW))
    merchant = any_store.get_merchant("M1")
    assert merchant is not None and (merchant.mcc, merchant.currency) == ("5411", "EUR")
    terminal = any_store.get_terminal("SHOP0001")
    assert terminal is not None and terminal.actions == ("pay", "bike")
    any_store.update_terminal("SHOP0001", cert_serial="DEF2")
    any_store.update_terminal("SHOP0001", status=TerminalStatus.REVOKED)
    terminal = any_store.get_terminal("SHOP0001")
    assert terminal is not None and (terminal.status, terminal.cert_serial) == ("revoked", "DEF2")
    assert [t.id for t in any_store.list_terminals()] == ["SHOP0001"]
    assert [m.id for m in any_store.list_merchants()] == ["M1"]
    with pytest.raises(TerminalNotFoundError):
        any_store.update_terminal("NOPE", status=TerminalStatus.ACTIVE)
    with pytest.raises(RegistryError):
        any_store.put_terminal(
            TerminalRow("T9", "NOPE", ("pay",), TerminalStatus.ACTIVE, None, NOW)
        )


def test_token_domain_restriction(
    any_api: Api, any_store: RegistryStore, any_new_card: Callable[..., TestCard]
) -> None:
    _register(any_store)
    card = any_new_card("visa")
    any_store.set_token_domain(card.token, ("5812",))  # restaurants only
    tap = card.tap(amount=1250, atc=1)
    body = any_api.authorize(tap).json()
    assert (body["reason"], body["response_code"]) == ("token_domain_restricted", "57")
    assert card.accepts(tap, body["issuer_authentication_data"])
    unregistered = any_api.authorize(card.tap(amount=1250, atc=2), terminal_id="ELSEWHERE").json()
    assert unregistered["reason"] == "token_domain_restricted"  # unknown category: fail closed
    any_store.set_token_domain(card.token, ("5812", "5411"))
    assert any_api.authorize(card.tap(amount=1250, atc=3)).json()["approved"] is True
    any_store.set_token_domain(card.token, None)
    token = any_store.get_token(card.token)
    assert token is not None and token.allowed_mccs is None
