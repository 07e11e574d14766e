"""The Tap acquirer: token vault, ARQC verification and online authorization over HTTP.

>>> from acquirer import Settings, create_app       # doctest: +SKIP
>>> app = create_app(Settings(data_dir=Path("/var/lib/tap/acquirer")))  # doctest: +SKIP

Run it with ``tap-acquirer serve``; make its keys with ``tap-acquirer init``.
"""

from acquirer.app import create_app
from acquirer.errors import (
    AcquirerError,
    AlreadyInitializedError,
    ConfigurationError,
    EmvDataError,
    EmvDataIncompleteError,
    FundingPanError,
    IdempotencyKeyReusedError,
    KeyMaterialError,
    ProvisioningError,
    RequestError,
    SchemaVersionError,
    StoreError,
    TestKeysRefusedError,
    TokenNotFoundError,
)
from acquirer.settings import Settings

__all__ = [
    "AcquirerError",
    "AlreadyInitializedError",
    "ConfigurationError",
    "EmvDataError",
    "EmvDataIncompleteError",
    "FundingPanError",
    "IdempotencyKeyReusedError",
    "KeyMaterialError",
    "ProvisioningError",
    "RequestError",
    "SchemaVersionError",
    "Settings",
    "StoreError",
    "TestKeysRefusedError",
    "TokenNotFoundError",
    "create_app",
]
