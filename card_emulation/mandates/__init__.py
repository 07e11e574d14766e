"""The phone wallet's side of agent payments: device key, mandates, confirmations.

- :class:`DeviceKeyStore` / :class:`DeviceKey`: the wallet's P-256 device key, kept with
  the card's other secrets in the card store
- :class:`MandateWallet`: signs mandates (:meth:`~MandateWallet.sign_mandate`) and
  human-present confirmations (:meth:`~MandateWallet.confirm`)
- :class:`AgentKeyPair`: an agent's key for tests and demos (bindings, request signatures)

The formats are :mod:`emvcore.agentpay`'s, shared with the acquirer, which never imports this.
"""

from card_emulation.mandates.agent import AgentKeyPair
from card_emulation.mandates.device_key import DeviceKey, DeviceKeyStore
from card_emulation.mandates.wallet import MandateWallet

__all__ = ["AgentKeyPair", "DeviceKey", "DeviceKeyStore", "MandateWallet"]
