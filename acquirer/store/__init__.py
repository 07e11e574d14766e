"""Storage for the acquirer: one :class:`Store` interface, one module per backend."""

from acquirer.store.base import (
    AtcClaim,
    AuthorizationRow,
    RecordResult,
    RecordStatus,
    Store,
    TokenRow,
    TokenStatus,
)
from acquirer.store.sqlite import SqliteStore

__all__ = [
    "AtcClaim",
    "AuthorizationRow",
    "RecordResult",
    "RecordStatus",
    "SqliteStore",
    "Store",
    "TokenRow",
    "TokenStatus",
]
