"""The wallet's mandate side: sign a mandate for an agent, confirm a human-present cart.

A :class:`MandateWallet` is a personalized card (its PAR, its token) with the wallet's
device key. It signs what the person decided; it never signs for an agent:

- :meth:`MandateWallet.sign_mandate` turns the person's limits into a signed mandate
  (:mod:`emvcore.agentpay.mandate`). The payer is named by PAR; the token (DPAN) goes in only
  when asked, since the mandate is handed to the agent.
- :meth:`MandateWallet.confirm` signs the person's answer to a final cart, a checkout the
  wallet fetched from the acquirer (never one the agent describes).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from card_emulation.image import CardImage
from card_emulation.mandates.device_key import DeviceKey, DeviceKeyStore
from card_emulation.store import CardStore
from emvcore.agentpay.checkout import Checkout
from emvcore.agentpay.confirmation import Decision, sign_confirmation
from emvcore.agentpay.keys import PublicKey, jwk_thumbprint
from emvcore.agentpay.mandate import Mandate, Presence, Recurrence, new_mandate_id, sign_mandate


class MandateWallet:
    """A card and the wallet device key that signs mandates and confirmations for it."""

    def __init__(self, card: CardImage, device_key: DeviceKey) -> None:
        self.card = card
        self.device_key = device_key

    @classmethod
    def open(
        cls, name: str, card_root: Path | None = None, *, create_key: bool = False
    ) -> MandateWallet:
        """The wallet of stored card ``name``; ``create_key`` makes its device key if missing."""
        card = CardStore(card_root).load(name)
        keys = DeviceKeyStore(card_root)
        if create_key and not keys.exists(name):
            return cls(card, keys.create(name, test=card.test))
        return cls(card, keys.load(name))

    def sign_mandate(
        self,
        *,
        currency: str,
        max_amount: int,
        budget: int,
        not_before: int,
        expires_at: int,
        now: int,
        presence: Presence,
        merchants: Iterable[str] = (),
        mccs: Iterable[str] = (),
        agent_key: PublicKey | None = None,
        recurrence: Recurrence | None = None,
        include_token: bool = False,
    ) -> tuple[Mandate, str]:
        """Sign a mandate with a fresh id; return its terms and the compact JWS."""
        mandate = Mandate(
            mandate_id=new_mandate_id(),
            wallet=self.device_key.thumbprint,
            currency=currency,
            max_amount=max_amount,
            budget=budget,
            issued_at=now,
            not_before=not_before,
            expires_at=expires_at,
            presence=presence,
            par=self.card.par,
            token=self.card.token if include_token else None,
            merchants=tuple(merchants),
            mccs=tuple(mccs),
            recurrence=recurrence,
            agent_key=None if agent_key is None else jwk_thumbprint(agent_key),
        )
        return mandate, sign_mandate(mandate, self.device_key.private_key)

    def confirm(
        self,
        *,
        mandate_id: str,
        checkout: Checkout,
        now: int,
        decision: Decision = Decision.CONFIRMED,
    ) -> str:
        """The person's signed answer to ``checkout`` under mandate ``mandate_id``."""
        return sign_confirmation(
            mandate_id=mandate_id,
            checkout=checkout,
            wallet_key=self.device_key.private_key,
            now=now,
            decision=decision,
        )
