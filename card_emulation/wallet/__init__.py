"""A phone wallet for Tap! mode: it reads the terminal's tag and pays the session online.

- :mod:`.readers`     the phone's reader access: a ``transceive`` callable, with pyscard
  and nfcpy adapters
- :mod:`.tag_reader`  the Type 4 Tag NDEF detection and read procedures
- :mod:`.checkout`    the :class:`CheckoutClient` protocol the acquirer round implements
- :mod:`.wallet`      the :class:`Wallet`, honest or misbehaving (:class:`Conduct`)
- :mod:`.http`        :class:`HttpCheckoutClient`, the protocol over the acquirer's HTTP API
"""

from card_emulation.wallet.checkout import (
    CheckoutClient,
    CheckoutSession,
    PaymentResult,
    SessionPayment,
    SessionState,
)
from card_emulation.wallet.http import HttpCheckoutClient
from card_emulation.wallet.readers import Transceive, nfcpy_transceive, pyscard_transceive
from card_emulation.wallet.tag_reader import read_capability, read_ndef
from card_emulation.wallet.wallet import Conduct, Shown, Wallet, WalletRun

__all__ = [
    "CheckoutClient",
    "CheckoutSession",
    "Conduct",
    "HttpCheckoutClient",
    "PaymentResult",
    "SessionPayment",
    "SessionState",
    "Shown",
    "Transceive",
    "Wallet",
    "WalletRun",
    "nfcpy_transceive",
    "pyscard_transceive",
    "read_capability",
    "read_ndef",
]
