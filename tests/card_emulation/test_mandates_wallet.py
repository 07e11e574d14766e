"""The wallet's mandate side: device key in the card store, mandates, confirmations."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from card_emulation import CardImage, CardStore, CardStoreError
from card_emulation.mandates import AgentKeyPair, DeviceKeyStore, MandateWallet
from emvcore.agentpay import (
    ChainAccepted,
    ChainRefused,
    Checkout,
    HttpRequest,
    MemoryReplayCache,
    Presence,
    Reason,
    check_chain,
    verify_mandate,
    verify_request,
)

NOW = 1_767_225_600
COFFEE = Checkout("cs_1", "m-coffee", "5814", 350, "EUR", NOW + 600)


@pytest.fixture
def wallet(tmp_path: Path, visa_card: CardImage) -> MandateWallet:
    CardStore(tmp_path).save(visa_card)
    return MandateWallet.open(visa_card.name, tmp_path, create_key=True)


def test_the_device_key_lives_with_the_card_owner_only(
    tmp_path: Path, wallet: MandateWallet
) -> None:
    path = DeviceKeyStore(tmp_path).path(wallet.card.name)
    assert path.parent == tmp_path / "device-keys"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert CardStore(tmp_path).names() == [wallet.card.name]  # still lists cards only
    again = MandateWallet.open(wallet.card.name, tmp_path)
    assert again.device_key.thumbprint == wallet.device_key.thumbprint
    assert "PRIVATE" not in repr(wallet.device_key)


def test_a_card_keeps_its_device_key(tmp_path: Path, wallet: MandateWallet) -> None:
    with pytest.raises(CardStoreError):
        DeviceKeyStore(tmp_path).create(wallet.card.name)


def test_a_swapped_key_file_is_refused(tmp_path: Path, wallet: MandateWallet) -> None:
    path = DeviceKeyStore(tmp_path).path(wallet.card.name)
    document = json.loads(path.read_text())
    other = DeviceKeyStore(tmp_path / "other").create("other")
    document["private_key"] = json.loads(
        DeviceKeyStore(tmp_path / "other").path(other.card).read_text()
    )["private_key"]
    path.write_text(json.dumps(document))
    with pytest.raises(CardStoreError, match="thumbprint"):
        DeviceKeyStore(tmp_path).load(wallet.card.name)


def test_a_missing_key(tmp_path: Path, visa_card: CardImage) -> None:
    CardStore(tmp_path).save(visa_card)
    with pytest.raises(CardStoreError, match="no device key"):
        MandateWallet.open(visa_card.name, tmp_path)


def test_the_wallet_signs_a_mandate_the_acquirer_verifies(wallet: MandateWallet) -> None:
    agent = AgentKeyPair()
    terms, token = wallet.sign_mandate(
        currency="EUR", max_amount=2000, budget=10_000, not_before=NOW, expires_at=NOW + 86_400,
        now=NOW, presence=Presence.HUMAN_NOT_PRESENT, merchants=["m-coffee"], agent_key=agent.public_key,
    )  # fmt: skip
    assert verify_mandate(token, wallet.device_key.public_key, now=NOW) == terms
    assert terms.par == wallet.card.par and terms.token is None  # the agent never sees the DPAN
    assert terms.agent_key == agent.thumbprint and wallet.card.token not in token
    decision = check_chain(
        mandate=token, wallet_key=wallet.device_key.public_key, checkout=COFFEE,
        binding=agent.bind(mandate_id=terms.mandate_id, checkout=COFFEE, now=NOW), confirmation=None,
        now=NOW + 1, replay=MemoryReplayCache(),
    )  # fmt: skip
    assert isinstance(decision, ChainAccepted) and decision.payee == "m-coffee"


def test_the_wallet_confirms_a_human_present_cart(wallet: MandateWallet) -> None:
    terms, token = wallet.sign_mandate(
        currency="EUR", max_amount=2000, budget=2000, not_before=NOW, expires_at=NOW + 3600,
        now=NOW, presence=Presence.HUMAN_PRESENT, mccs=["5814"],
    )  # fmt: skip
    common = {
        "mandate": token,
        "wallet_key": wallet.device_key.public_key,
        "checkout": COFFEE,
        "binding": None,
    }
    unconfirmed = check_chain(**common, confirmation=None, now=NOW + 1, replay=MemoryReplayCache())
    assert (
        isinstance(unconfirmed, ChainRefused) and unconfirmed.reason is Reason.CONFIRMATION_REQUIRED
    )
    confirmation = wallet.confirm(mandate_id=terms.mandate_id, checkout=COFFEE, now=NOW + 2)
    confirmed = check_chain(
        **common, confirmation=confirmation, now=NOW + 3, replay=MemoryReplayCache()
    )
    assert isinstance(confirmed, ChainAccepted) and confirmed.confirmed


def test_the_agent_helper_signs_requests() -> None:
    agent = AgentKeyPair()
    request = agent.sign(HttpRequest("POST", "https://acquirer.test/v1/pay", {}, b"{}"), now=NOW)
    verified = verify_request(
        request, keys={agent.thumbprint: agent.public_key}.get, replay=MemoryReplayCache(), now=NOW
    )
    assert verified.keyid == agent.thumbprint
