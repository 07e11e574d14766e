"""The storage interface of the acquirer, and the rows that cross it.

Business code (:mod:`acquirer.vault`, :mod:`acquirer.service`) talks only to :class:`Store`;
SQLite (:mod:`acquirer.store.sqlite`) is the embedded implementation, PostgreSQL comes later
behind the same interface and the same contract tests.

Two uniqueness rules carry the safety of authorization and are enforced by the database,
not by a read-then-write in Python, so they hold with many threads or many processes:

- ``UNIQUE(terminal_id, idempotency_key)``: one authorization per idempotency key
  (draft-ietf-httpapi-idempotency-key-header section 2: the key identifies the request;
  keys are scoped to the terminal that chose them).
- ``UNIQUE(token, atc)``: a card's Application Transaction Counter value is accepted at most
  once, so a captured ARQC cannot be replayed (EMV Book 2 section 8.1: the ATC is part of
  the cryptogram input, and the issuer keeps track of the ATCs it has seen). It lives in
  its own ``atc_claims`` table rather than on the authorization row, because declines that
  claim nothing (a replay, a failed cryptogram) are recorded with the same (token, ATC).

:meth:`Store.record_authorization` writes the authorization and claims the ATC in one
transaction and reports which rule, if any, stopped it.

Rows never hold a clear funding PAN: the vault hands the store ciphertext and a keyed
fingerprint only.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


class TokenStatus(enum.StrEnum):
    """Lifecycle state of a token in the vault."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class TokenRow:
    """One token (DPAN) and its funding account, as the vault stores it.

    ``pan_enc`` is ``nonce (12) || AES-GCM ciphertext || tag (16)`` with the token as
    associated data; ``pan_fingerprint`` an HMAC of the funding PAN under a vault-derived key;
    ``pan_masked`` the funding PAN's first 6 and last 4 digits only.
    """

    token: str
    pan_enc: bytes = field(repr=False)
    pan_fingerprint: bytes = field(repr=False)
    pan_masked: str
    par: str
    expiry: str
    psn: str
    scheme: str
    status: TokenStatus
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AuthorizationRow:
    """One authorization as recorded: the decision and the exact response sent.

    ``response_json`` is the body returned to the terminal, kept byte for byte so that a
    repeated idempotency key returns exactly the first answer.
    """

    id: str
    terminal_id: str
    idempotency_key: str
    request_hash: str
    amount: int
    currency: str
    token_masked: str
    par: str | None
    atc: int | None
    approved: bool
    reason: str
    response_code: str
    response_json: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AtcClaim:
    """A (token, ATC) pair to mark as used together with an authorization."""

    token: str
    atc: int


class RecordStatus(enum.Enum):
    """What :meth:`Store.record_authorization` did."""

    RECORDED = "recorded"
    """The authorization row was written (and the ATC claimed, if one was given)."""
    IDEMPOTENCY_KEY_EXISTS = "idempotency_key_exists"
    """Nothing written: the terminal already used this idempotency key (row in ``existing``)."""
    ATC_ALREADY_CLAIMED = "atc_already_claimed"
    """Nothing written: another authorization already claimed this (token, ATC)."""


@dataclass(frozen=True, slots=True)
class RecordResult:
    """Outcome of :meth:`Store.record_authorization`."""

    status: RecordStatus
    existing: AuthorizationRow | None = None


class Store(Protocol):
    """Persistence for the token vault and authorizations.

    Implementations are safe to call from several threads at once (FastAPI runs sync
    endpoints in a thread pool) and make each write durable before returning.
    Database failures surface as :class:`~acquirer.errors.StoreError`.
    """

    def migrate(self) -> int:
        """Bring the schema to the newest version; return that version."""
        ...

    def close(self) -> None:
        """Release the connection(s)."""
        ...

    # -- tokens ------------------------------------------------------------------------

    def get_token(self, token: str) -> TokenRow | None:
        """The vault row of ``token``, or ``None``."""
        ...

    def put_token(self, row: TokenRow) -> bool:
        """Insert a new token; ``False`` (nothing written) if the token number is taken."""
        ...

    def set_token_status(self, token: str, status: TokenStatus) -> None:
        """Change a token's status; :class:`~acquirer.errors.TokenNotFoundError` if absent."""
        ...

    def list_tokens(self) -> Sequence[TokenRow]:
        """All tokens, oldest first."""
        ...

    # -- authorizations ----------------------------------------------------------------

    def find_authorization(self, terminal_id: str, idempotency_key: str) -> AuthorizationRow | None:
        """The authorization a terminal recorded under an idempotency key, or ``None``."""
        ...

    def highest_atc(self, token: str) -> int | None:
        """The highest ATC claimed for ``token`` so far, or ``None``."""
        ...

    def atc_claimed(self, token: str, atc: int) -> bool:
        """Whether (token, ATC) has been claimed by an earlier authorization."""
        ...

    def record_authorization(self, row: AuthorizationRow, claim: AtcClaim | None) -> RecordResult:
        """Atomically insert ``row`` and, if given, claim ``claim``; all or nothing.

        Returns :attr:`RecordStatus.IDEMPOTENCY_KEY_EXISTS` (with the existing row) when
        ``(row.terminal_id, row.idempotency_key)`` is taken, and
        :attr:`RecordStatus.ATC_ALREADY_CLAIMED` when the claim is taken; nothing is written
        in either case. The write is durable when this returns.
        """
        ...

    def count_authorizations(self) -> int:
        """Number of recorded authorizations."""
        ...
