"""The core's registry: tokens, merchants and terminals, the rows every domain reads.

The token vault (:mod:`acquirer.vault`) keeps tokens here; the merchant and terminal registry
(``tap-acquirer merchants`` / ``terminals``) is what authentication (:mod:`acquirer.auth`) and
every domain check against. :class:`RegistryStore` is the storage interface,
:class:`SqlRegistryStore` its portable SQL over an :class:`~acquirer.store.tx.Engine`; each
domain's store extends both.

Rows never hold a clear funding PAN: the vault hands the store ciphertext and a keyed
fingerprint only.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from acquirer.errors import RegistryError, TerminalNotFoundError, TokenNotFoundError
from acquirer.store.tx import Row, SqlPart, Tx, as_datetime, join_codes, split_codes


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
    allowed_mccs: tuple[str, ...] | None = None
    """Token domain restriction: the merchant category codes it may pay at (None: any)."""


class TerminalStatus(enum.StrEnum):
    """Whether a terminal may connect."""

    ACTIVE = "active"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class MerchantRow:
    """A merchant: who is paid, under which merchant category code (ISO 18245)."""

    id: str
    name: str
    mcc: str
    currency: str
    settlement_account: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TerminalRow:
    """A terminal of a merchant, the actions it may take, and its current certificate.

    ``cert_serial`` is the serial number (hex) of the one client certificate that
    authenticates it; issuing a new certificate replaces it, so an older one is refused.
    """

    id: str
    merchant_id: str
    actions: tuple[str, ...]
    status: TerminalStatus
    cert_serial: str | None
    created_at: datetime


class RegistryStore(Protocol):
    """Persistence of the core: the token vault, merchants and terminals.

    Implementations are safe to call from several threads at once (FastAPI runs sync
    endpoints in a thread pool) and make each write durable before returning.
    Database failures surface as :class:`~acquirer.errors.StoreError`.
    """

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

    # -- merchants and terminals -----------------------------------------------------------

    def put_merchant(self, row: MerchantRow) -> bool:
        """Insert a merchant; ``False`` (nothing written) if the id is taken."""
        ...

    def get_merchant(self, merchant_id: str) -> MerchantRow | None:
        """The merchant, or ``None``."""
        ...

    def list_merchants(self) -> Sequence[MerchantRow]:
        """All merchants, by id."""
        ...

    def put_terminal(self, row: TerminalRow) -> bool:
        """Insert a terminal; ``False`` if the id is taken. Its merchant must exist."""
        ...

    def get_terminal(self, terminal_id: str) -> TerminalRow | None:
        """The terminal, or ``None``."""
        ...

    def list_terminals(self) -> Sequence[TerminalRow]:
        """All terminals, by id."""
        ...

    def update_terminal(
        self,
        terminal_id: str,
        *,
        status: TerminalStatus | None = None,
        cert_serial: str | None = None,
    ) -> None:
        """Change a terminal's status and/or certificate; :class:`~acquirer.errors.TerminalNotFoundError`."""
        ...

    def set_token_domain(self, token: str, allowed_mccs: tuple[str, ...] | None) -> None:
        """Restrict a token to merchant categories (None: lift the restriction)."""
        ...


_INSERT_VAULT_ROW = (
    "INSERT INTO tokens (token, pan_enc, pan_fingerprint, pan_masked, par, expiry, psn, scheme, "
    "status, created_at, allowed_mccs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (token) DO NOTHING"
)


class SqlRegistryStore(SqlPart):
    """Portable SQL of :class:`RegistryStore`, over an :class:`~acquirer.store.tx.Engine`."""

    # -- tokens ---------------------------------------------------------------------------

    def get_token(self, token: str) -> TokenRow | None:
        """The vault row of ``token``, or ``None``."""
        row = self._read(lambda tx: tx.one("SELECT * FROM tokens WHERE token = ?", [token]))
        return None if row is None else token_row(row)

    def put_token(self, row: TokenRow) -> bool:
        """Insert a token; ``False`` if the number is taken."""
        params = [
            row.token,
            row.pan_enc,
            row.pan_fingerprint,
            row.pan_masked,
            row.par,
            row.expiry,
            row.psn,
            row.scheme,
            row.status.value,
            row.created_at,
            join_codes(row.allowed_mccs),
        ]
        return self._transact(lambda tx: tx.run(_INSERT_VAULT_ROW, params)) == 1

    def set_token_status(self, token: str, status: TokenStatus) -> None:
        """Change a token's status; :class:`TokenNotFoundError` if absent."""

        def work(tx: Tx) -> None:
            if tx.run("UPDATE tokens SET status = ? WHERE token = ?", [status.value, token]) != 1:
                raise TokenNotFoundError("no such token in the vault")

        self._transact(work)

    def list_tokens(self) -> Sequence[TokenRow]:
        """All tokens, oldest first."""
        rows = self._read(lambda tx: tx.all("SELECT * FROM tokens ORDER BY created_at, token"))
        return [token_row(row) for row in rows]

    # -- merchants and terminals ---------------------------------------------------------

    def set_token_domain(self, token: str, allowed_mccs: tuple[str, ...] | None) -> None:
        """Restrict a token to merchant categories (None: any); TokenNotFoundError if absent."""
        sql = "UPDATE tokens SET allowed_mccs = ? WHERE token = ?"

        def work(tx: Tx) -> None:
            if tx.run(sql, [join_codes(allowed_mccs), token]) != 1:
                raise TokenNotFoundError("no such token in the vault")

        self._transact(work)

    def put_merchant(self, row: MerchantRow) -> bool:
        """Insert a merchant; ``False`` if the id is taken."""
        sql = (
            "INSERT INTO merchants (id, name, mcc, currency, settlement_account, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
        )
        params = [row.id, row.name, row.mcc, row.currency, row.settlement_account, row.created_at]
        return self._transact(lambda tx: tx.run(sql, params)) == 1

    def get_merchant(self, merchant_id: str) -> MerchantRow | None:
        """The merchant, or ``None``."""
        sql = "SELECT * FROM merchants WHERE id = ?"
        row = self._read(lambda tx: tx.one(sql, [merchant_id]))
        return None if row is None else merchant_row(row)

    def list_merchants(self) -> Sequence[MerchantRow]:
        """All merchants, by id."""
        rows = self._read(lambda tx: tx.all("SELECT * FROM merchants ORDER BY id"))
        return [merchant_row(row) for row in rows]

    def put_terminal(self, row: TerminalRow) -> bool:
        """Insert a terminal; ``False`` if the id is taken; RegistryError without merchant."""
        sql = (
            "INSERT INTO terminals (id, merchant_id, actions, status, cert_serial, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
        )
        params = [
            row.id,
            row.merchant_id,
            ",".join(row.actions),
            row.status.value,
            row.cert_serial,
            row.created_at,
        ]

        def work(tx: Tx) -> bool:
            if tx.one("SELECT id FROM merchants WHERE id = ?", [row.merchant_id]) is None:
                raise RegistryError(f"no merchant {row.merchant_id!r} is registered")
            return tx.run(sql, params) == 1

        return self._transact(work)

    def get_terminal(self, terminal_id: str) -> TerminalRow | None:
        """The terminal, or ``None``."""
        sql = "SELECT * FROM terminals WHERE id = ?"
        row = self._read(lambda tx: tx.one(sql, [terminal_id]))
        return None if row is None else terminal_row(row)

    def list_terminals(self) -> Sequence[TerminalRow]:
        """All terminals, by id."""
        rows = self._read(lambda tx: tx.all("SELECT * FROM terminals ORDER BY id"))
        return [terminal_row(row) for row in rows]

    def update_terminal(
        self,
        terminal_id: str,
        *,
        status: TerminalStatus | None = None,
        cert_serial: str | None = None,
    ) -> None:
        """Change a terminal's status and/or current certificate serial."""

        def work(tx: Tx) -> None:
            if tx.one("SELECT id FROM terminals WHERE id = ?", [terminal_id]) is None:
                raise TerminalNotFoundError(f"no terminal {terminal_id!r} is registered")
            if status is not None:
                tx.run("UPDATE terminals SET status = ? WHERE id = ?", [status.value, terminal_id])
            if cert_serial is not None:
                tx.run(
                    "UPDATE terminals SET cert_serial = ? WHERE id = ?", [cert_serial, terminal_id]
                )

        self._transact(work)


def token_row(row: Row) -> TokenRow:
    """A :class:`TokenRow` from a ``tokens`` row of either backend."""
    return TokenRow(
        token=row["token"],
        pan_enc=bytes(row["pan_enc"]),
        pan_fingerprint=bytes(row["pan_fingerprint"]),
        pan_masked=row["pan_masked"],
        par=row["par"],
        expiry=row["expiry"],
        psn=row["psn"],
        scheme=row["scheme"],
        status=TokenStatus(row["status"]),
        created_at=as_datetime(row["created_at"]),
        allowed_mccs=split_codes(row.get("allowed_mccs")),
    )


def merchant_row(row: Row) -> MerchantRow:
    """A :class:`MerchantRow` from a ``merchants`` row of either backend."""
    return MerchantRow(
        id=row["id"],
        name=row["name"],
        mcc=row["mcc"],
        currency=row["currency"],
        settlement_account=row["settlement_account"],
        created_at=as_datetime(row["created_at"]),
    )


def terminal_row(row: Row) -> TerminalRow:
    """A :class:`TerminalRow` from a ``terminals`` row of either backend."""
    return TerminalRow(
        id=row["id"],
        merchant_id=row["merchant_id"],
        actions=split_codes(row["actions"]) or (),
        status=TerminalStatus(row["status"]),
        cert_serial=row["cert_serial"],
        created_at=as_datetime(row["created_at"]),
    )
