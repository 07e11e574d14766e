"""Merchants, terminals and token domain controls in SQL (part of :class:`~acquirer.store.sql.SqlStore`)."""

from __future__ import annotations

from collections.abc import Sequence

from acquirer.errors import RegistryError, TerminalNotFoundError, TokenNotFoundError
from acquirer.store.base import MerchantRow, TerminalRow, TerminalStatus
from acquirer.store.tx import Row, SqlPrimitives, Tx, as_datetime, join_codes, split_codes


class RegistryMixin(SqlPrimitives):
    """The registry part of the store."""

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
