"""The Tap acquirer: token vault, ARQC verification, the payment lifecycle, a double-entry
ledger and settlement, over HTTP with terminals authenticated by mutual TLS.

>>> from acquirer import Settings, create_app       # doctest: +SKIP
>>> app = create_app(Settings(data_dir=Path("/var/lib/tap/acquirer")))  # doctest: +SKIP

Run it with ``tap-acquirer serve``; make its keys with ``tap-acquirer init``.
"""

from acquirer.app import create_app
from acquirer.errors import (
    AcquirerError,
    AlreadyInitializedError,
    AmountExceededError,
    AuthenticationError,
    BatchNotFoundError,
    ConfigurationError,
    EmvDataError,
    EmvDataIncompleteError,
    FundingPanError,
    IdempotencyKeyInFlightError,
    IdempotencyKeyReusedError,
    KeyMaterialError,
    LedgerImbalanceError,
    PaymentNotFoundError,
    PaymentStateError,
    ProvisioningError,
    RegistryError,
    RequestError,
    SchemaVersionError,
    StoreError,
    TerminalForbiddenError,
    TerminalNotFoundError,
    TestKeysRefusedError,
    TokenNotFoundError,
)
from acquirer.settings import Settings

__all__ = [
    "AcquirerError",
    "AlreadyInitializedError",
    "AmountExceededError",
    "AuthenticationError",
    "BatchNotFoundError",
    "ConfigurationError",
    "EmvDataError",
    "EmvDataIncompleteError",
    "FundingPanError",
    "IdempotencyKeyInFlightError",
    "IdempotencyKeyReusedError",
    "KeyMaterialError",
    "LedgerImbalanceError",
    "PaymentNotFoundError",
    "PaymentStateError",
    "ProvisioningError",
    "RegistryError",
    "RequestError",
    "SchemaVersionError",
    "Settings",
    "StoreError",
    "TerminalForbiddenError",
    "TerminalNotFoundError",
    "TestKeysRefusedError",
    "TokenNotFoundError",
    "create_app",
]
