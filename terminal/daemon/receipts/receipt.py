"""A completed action's receipt: what the customer and the shop keep, and its text.

The fields are those a card receipt carries (EMV Book 4 11.4 lists the data a receipt may
show): merchant name and id, terminal id, date and time, the masked token (never the PAN),
application label and AID, amount and currency, outcome, authorization code, whether the
card verified the issuer's answer (ARPC, EMV Book 3 6.5.4), and the merchant's reference.
It is returned by the API and saved with the journal (its ``receipt`` field).

>>> r = Receipt("Corner Shop", "M1", "TERM0001", "2026-12-04T10:00:00+00:00", "payment",
...             "476173******0010", "VISA CREDIT", "A0000000031010", 1250, "EUR", "approved",
...             "auth_01", True, "order-7")
>>> print(render_text(r))  # doctest: +NORMALIZE_WHITESPACE
Corner Shop
Merchant M1   Terminal TERM0001
2026-12-04 10:00:00 UTC
PAYMENT
VISA CREDIT
AID A0000000031010
Card 476173******0010
Amount 12.50 EUR
APPROVED
Auth auth_01
Issuer verified (ARPC)
Ref order-7
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from emvcore.currency import format_minor_units

__all__ = ["Receipt", "render_text"]


@dataclass(frozen=True, slots=True)
class Receipt:
    """One receipt (see the module docstring)."""

    merchant_name: str
    merchant_id: str | None
    terminal_id: str
    at: str
    kind: str
    token_masked: str | None
    application_label: str | None
    aid: str | None
    amount: int
    currency: str
    outcome: str
    authorization_code: str | None
    arpc_verified: bool | None
    reference: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(doc: dict[str, Any]) -> Receipt:
        values: dict[str, Any] = {name: doc.get(name) for name in Receipt.__dataclass_fields__}
        return Receipt(**values)


def render_text(receipt: Receipt) -> str:
    """The receipt as plain lines, for a console or a text printer."""
    when = datetime.fromisoformat(receipt.at)
    lines = [receipt.merchant_name,
             f"Merchant {receipt.merchant_id or '-'}   Terminal {receipt.terminal_id}",
             when.strftime("%Y-%m-%d %H:%M:%S ") + (when.tzname() or ""),
             receipt.kind.upper().replace("_", " ")]  # fmt: skip
    if receipt.application_label:
        lines.append(receipt.application_label)
    if receipt.aid:
        lines.append(f"AID {receipt.aid}")
    if receipt.token_masked:
        lines.append(f"Card {receipt.token_masked}")
    lines.append(f"Amount {format_minor_units(receipt.amount, receipt.currency)}")
    lines.append(receipt.outcome.upper())
    if receipt.authorization_code:
        lines.append(f"Auth {receipt.authorization_code}")
    if receipt.arpc_verified is not None:
        lines.append("Issuer verified (ARPC)" if receipt.arpc_verified else "Issuer NOT verified")
    if receipt.reference:
        lines.append(f"Ref {receipt.reference}")
    return "\n".join(lines)
