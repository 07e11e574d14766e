"""What the console shows, as pure functions of the daemon's answers and events.

The customer's view mirrors the reader's display (EMV Contactless Book A 9: the message,
the reader status and its four status indicators, 9.2) from the daemon's ``ui`` and
``action`` events; the status line is the daemon's ``/v1/health``; the transactions table
is its journal. Nothing here talks to the daemon, so the app and its tests share it.

>>> v = CustomerView().on_action({"state": "waiting_for_card", "amount": 1250, "currency": "EUR"})
>>> v = v.on_ui({"text": "Present card", "indicators": ["on", "off", "off", "off"]})
>>> v.render(".")
'12.50 EUR\\n\\nPresent card\\n\\n●  ○  ○  ○'
>>> v.on_action({"state": "completed", "amount": 1250, "currency": "EUR",
...              "result": {"outcome": "approved"}}).outcome
'APPROVED'
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from emvcore.currency import format_minor_units

__all__ = ["CustomerView", "money", "status_line", "totals_text", "transaction_row"]

_LIGHT = {"on": "●", "off": "○", "flash": "◎"}
_OFF = ("off", "off", "off", "off")


def money(amount: int, currency: str, separator: str = ".") -> str:
    """``1250, "EUR"`` as ``12.50 EUR`` (or ``12,50 EUR``); an unknown code as it is."""
    try:
        return format_minor_units(amount, currency, decimal_separator=separator)
    except Exception:  # a currency the daemon knows and this install does not: show it raw
        return f"{amount} {currency}"


@dataclass(frozen=True, slots=True)
class CustomerView:
    """The customer display as the daemon last described it."""

    amount: int | None = None
    currency: str | None = None
    text: str = "Welcome"
    indicators: tuple[str, ...] = _OFF
    outcome: str = ""
    action_id: str | None = None

    def on_ui(self, data: dict[str, Any]) -> CustomerView:
        """A UI request of the kernel (Book A 9.4): its text and the four indicators."""
        lights = data.get("indicators")
        lit = tuple(str(x) for x in lights) if isinstance(lights, list) else self.indicators
        return dataclasses.replace(self, text=str(data.get("text") or self.text), indicators=lit)

    def on_action(self, action: dict[str, Any]) -> CustomerView:
        """An action's change: its amount, and its outcome once it is final."""
        state = str(action.get("state"))
        view = dataclasses.replace(self, amount=action.get("amount"),
                                   currency=action.get("currency"),
                                   action_id=action.get("id"))  # fmt: skip
        if state in ("pending", "waiting_for_card"):
            if action.get("kind") == "refund":
                return dataclasses.replace(view, text="Refund", outcome="")
            return dataclasses.replace(view, text="Present card", outcome="")
        if state == "processing":
            return dataclasses.replace(view, text="Processing", outcome="")
        result = action.get("result") or {}
        if state == "completed":
            outcome = str(result.get("outcome") or "completed").upper()
            if action.get("kind") == "refund":
                outcome = "REFUNDED"
            return dataclasses.replace(view, outcome=outcome,
                                       text=str(result.get("message") or view.text))  # fmt: skip
        if state == "cancelled":
            return dataclasses.replace(view, outcome="CANCELLED", text="Cancelled",
                                       indicators=_OFF)  # fmt: skip
        reason = str(action.get("reason") or "failed")
        return dataclasses.replace(view, outcome=f"FAILED: {reason}", indicators=_OFF)

    def on_display(self, data: dict[str, Any]) -> CustomerView:
        """A message (or an amount) a kiosk or the shop put on the idle display."""
        return CustomerView(amount=data.get("amount"), currency=data.get("currency"),
                            text=str(data.get("message") or ""))  # fmt: skip

    def render(self, separator: str) -> str:
        lines = []
        if self.amount is not None and self.currency:
            lines.append(money(self.amount, self.currency, separator))
        lines.append(self.text)
        lines.append("  ".join(_LIGHT.get(x, "?") for x in self.indicators))
        if self.outcome:
            lines.append(self.outcome)
        return "\n\n".join(lines)


def status_line(health: dict[str, Any] | None, *, connected: bool, separator: str = ".") -> str:
    """``ONLINE | reader NAME | outbox 0`` from ``/v1/health`` (or why there is none).

    >>> status_line({"acquirer": {"reachable": False}, "reader": {"present": True, "name": "r1"},
    ...              "outbox": {"pending": 2, "at_risk": {"EUR": 1250}}}, connected=True)
    'OFFLINE | reader r1 | outbox 2, at risk 12.50 EUR'
    """
    if not connected or health is None:
        return "DAEMON UNREACHABLE | reconnecting"
    acquirer = health.get("acquirer") or {}
    reader = health.get("reader") or {}
    outbox = health.get("outbox") or {}
    parts = ["ONLINE" if acquirer.get("reachable") else "OFFLINE"]
    if reader.get("present"):
        parts.append(f"reader {reader.get('name')}")
    else:
        parts.append("NO READER" + (f" ({reader['detail']})" if reader.get("detail") else ""))
    risk = outbox.get("at_risk") or {}
    text = f"outbox {int(outbox.get('pending') or 0)}"
    if risk:
        text += ", at risk " + ", ".join(money(int(v), str(k), separator)
                                         for k, v in sorted(risk.items()))  # fmt: skip
    parts.append(text)
    return " | ".join(parts)


def transaction_row(entry: dict[str, Any], separator: str = ".") -> tuple[str, ...]:
    """One journal entry as a table row: number, time, kind, amount, state, outcome."""
    at = str(entry.get("created_at") or "")
    time = at[11:19] if len(at) >= 19 else at
    outcome = str(entry.get("outcome") or entry.get("reason") or "")
    return (str(entry.get("id")), time, str(entry.get("kind")),
            money(int(entry.get("amount") or 0), str(entry.get("currency")), separator),
            str(entry.get("state")), outcome)  # fmt: skip


def totals_text(totals: dict[str, Any], separator: str = ".") -> str:
    """The day's totals per currency, as ``/v1/totals`` (or a batch's ``terminal_totals``) gives.

    >>> print(totals_text({"currencies": [{"currency": "EUR", "net": 900,
    ...     "sales": {"count": 2, "amount": 1000}, "refunds": {"count": 1, "amount": 100}}]}))
    EUR
      sales 2 = 10.00 EUR
      refunds 1 = 1.00 EUR
      net 9.00 EUR
    """
    lines = []
    for c in totals.get("currencies") or []:
        code = str(c.get("currency"))
        sales, refunds = c.get("sales") or {}, c.get("refunds") or {}
        lines += [code,
                  f"  sales {sales.get('count', 0)} = "
                  f"{money(int(sales.get('amount', 0)), code, separator)}",
                  f"  refunds {refunds.get('count', 0)} = "
                  f"{money(int(refunds.get('amount', 0)), code, separator)}",
                  f"  net {money(int(c.get('net', 0)), code, separator)}"]  # fmt: skip
    return "\n".join(lines) or "no sales since the last close"
