"""The rules of parcel lockers that need no database: what is due, pickup codes, reasons.

**Amount due** for a parcel picked up at ``now``: its cash-on-delivery amount plus the
storage fee, in the parcel's currency. The storage fee uses the locker operator's terms as
they were when the parcel was registered (a recipient's price does not change after
drop-off): nothing for the first ``free_hours``, then ``fee_per_started_day`` for every
started 24 hours after that. A parcel already released (paid, or nothing was due) owes
nothing more: a jammed door is retried without paying twice.

**Pickup codes** are 6 digits. A code is never stored: the parcel keeps a random 16-byte
salt and ``HMAC-SHA256(hash key, salt || code)``, and a code entered at a locker is compared
(in constant time) with the parcels that have one there. The code itself is derived from
the parcel id, ``HMAC-SHA256(code key, parcel id)`` reduced to 6 digits, so the registration
answer can be replayed byte for byte for its idempotency key without the code being kept
anywhere. Both keys are derived (HKDF) from the vault key
(:class:`~acquirer.vault.VaultKey`), so a copy of the database alone gives neither the codes
nor a way to test guesses offline. Online, guesses are limited per locker: after
:data:`CODE_ATTEMPTS` wrong codes in a row, code entry at that locker is locked for
:data:`CODE_LOCK` (cards still work); every wrong code and lock is audited.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from acquirer.idempotency import request_hash
from acquirer.parcels.rows import ParcelRow, ParcelState
from acquirer.vault import VaultKey

#: Wrong pickup codes in a row at one locker before code entry is locked.
CODE_ATTEMPTS = 5
#: How long code entry stays locked after :data:`CODE_ATTEMPTS` wrong codes.
CODE_LOCK = timedelta(minutes=15)
#: How long after a pickup answered "pay" a payment for that parcel is accepted.
PAY_WINDOW = timedelta(minutes=5)
CODE_DIGITS = 6

_CODE_LABEL = b"tap-acquirer/parcels/pickup-code/v1"
_HASH_LABEL = b"tap-acquirer/parcels/pickup-code-hash/v1"
_REQUEST_LABEL = b"tap-acquirer/parcels/request-hash/v1"


class PickupAction(enum.StrEnum):
    """What the locker does after a pickup or a parcel payment."""

    OPEN = "open"
    PAY = "pay"
    REFUSED = "refused"


class PickupReason(enum.StrEnum):
    """Why; declined authorizations carry the authorization's own reason instead."""

    APPROVED = "approved"
    PAYMENT_DUE = "payment_due"
    NO_PARCEL_WAITING = "no_parcel_waiting"
    PICKUP_CODE_INVALID = "pickup_code_invalid"
    PICKUP_CODE_LOCKED = "pickup_code_locked"


class DoorEvent(enum.StrEnum):
    """What a compartment door reported."""

    OPENED = "opened"
    CLOSED = "closed"
    JAMMED = "jammed"
    LEFT_OPEN = "left_open"


#: What the locker's display tells the customer, by reason.
MESSAGES = {
    "approved": "Your compartment is opening.",
    "payment_due": "Payment due: tap your card again to pay.",
    "no_parcel_waiting": "There is no parcel for you at this locker.",
    "pickup_code_invalid": "That pickup code is not valid here.",
    "pickup_code_locked": "Too many wrong codes: use your card, or try again later.",
    "par_denied": "This card cannot be used here: there is an unpaid amount on the account.",
}
DECLINED_MESSAGE = "Your card was declined."


def message(reason: str) -> str:
    """The customer message for a reason (an authorization decline has a generic one)."""
    return MESSAGES.get(reason, DECLINED_MESSAGE)


def storage_fee(
    free_hours: int | None,
    fee_per_started_day: int | None,
    registered_at: datetime,
    now: datetime,
) -> int:
    """The storage fee of a parcel registered at ``registered_at`` and picked up at ``now``.

    >>> from datetime import UTC, datetime, timedelta
    >>> t0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    >>> [storage_fee(48, 150, t0, t0 + timedelta(hours=h)) for h in (0, 48, 48.01, 72, 72.01)]
    [0, 0, 150, 150, 300]
    >>> storage_fee(None, None, t0, t0 + timedelta(days=30))
    0
    """
    if free_hours is None or fee_per_started_day is None:
        return 0
    over = now - registered_at - timedelta(hours=free_hours)
    if over <= timedelta(0):
        return 0
    started_days = -(-over // timedelta(days=1))
    return started_days * fee_per_started_day


@dataclass(frozen=True, slots=True)
class Due:
    """What a parcel's recipient pays now, in minor units of ``currency``."""

    cod_amount: int
    storage_fee: int
    currency: str

    @property
    def total(self) -> int:
        """Cash on delivery plus the storage fee."""
        return self.cod_amount + self.storage_fee


def amount_due(parcel: ParcelRow, now: datetime) -> Due:
    """What is due for ``parcel`` at ``now`` (nothing once released)."""
    if parcel.state is not ParcelState.WAITING:
        return Due(0, 0, parcel.currency)
    fee = storage_fee(parcel.fee_free_hours, parcel.fee_per_started_day, parcel.registered_at, now)
    return Due(parcel.cod_amount, fee, parcel.currency)


class PickupCodes:
    """Derives, hashes and checks pickup codes, and keys request hashes, under the vault key."""

    def __init__(self, vault_key: VaultKey) -> None:
        self._code_key = vault_key.derive(_CODE_LABEL)
        self._hash_key = vault_key.derive(_HASH_LABEL)
        self._request_key = vault_key.derive(_REQUEST_LABEL)

    def code_for(self, parcel_id: str) -> str:
        """The parcel's 6-digit pickup code (the same every time for one parcel id)."""
        digest = hmac.new(self._code_key, parcel_id.encode("ascii"), hashlib.sha256).digest()
        value = int.from_bytes(digest[:8], "big") % 10**CODE_DIGITS
        return f"{value:0{CODE_DIGITS}d}"

    def hash(self, code: str, salt: bytes) -> bytes:
        """The stored form of a code: HMAC-SHA256 over salt and code."""
        return hmac.new(self._hash_key, salt + code.encode("ascii"), hashlib.sha256).digest()

    def matches(self, parcel: ParcelRow, code: str) -> bool:
        """Whether ``code`` is the parcel's pickup code (constant-time comparison)."""
        if parcel.code_salt is None or parcel.code_hash is None:
            return False
        return hmac.compare_digest(self.hash(code, parcel.code_salt), parcel.code_hash)

    def request_hash(self, kind: str, fields: dict[str, object]) -> str:
        """A keyed digest of a request (it may hold a pickup code, so never a plain hash)."""
        return request_hash({"kind": kind, **fields}, key=self._request_key)
