"""The journal read as a shop's ledger: pages of transactions, the day's totals, a batch close.

Totals count what the customer was told: ``confirmed`` payments are sales, ``confirmed``
refunds are refunds; pre-authorizations are holds, not money yet, and are listed apart.
A day runs from the previous batch close (the last journal id it covered) to now. At a close
the acquirer's report (its totals by kind: sale, capture, cancel, refund, with refunds
negative) is compared with the terminal's, per currency, on the net amount and on the count
of sales less cancels.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from terminal.journal import Journal, TxKind, TxState

__all__ = ["close_report", "day_totals", "transactions_page"]


def transactions_page(
    journal: Journal, *, reference: str | None = None, since: str | None = None,
    until: str | None = None, limit: int = 50, offset: int = 0,
) -> dict[str, Any]:  # fmt: skip
    """Journal entries newest first, filtered by reference and creation time (ISO 8601
    prefixes compare as text, so ``since=2026-12-04`` means from that day)."""
    found = [e for e in journal.entries()
             if (reference is None or e.reference == reference)
             and (since is None or e.created_at >= since)
             and (until is None or e.created_at < until)]  # fmt: skip
    page = found[offset : offset + limit]
    return {"total": len(found), "offset": offset, "limit": limit,
            "items": [e.to_dict() for e in page]}  # fmt: skip


def day_totals(journal: Journal, *, after: int, since: str | None) -> dict[str, Any]:
    """What the terminal took since the journal id ``after`` (the last batch close)."""
    sums: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    last = after
    for entry in journal.entries():
        if entry.id <= after:
            continue
        last = max(last, entry.id)
        if entry.state is not TxState.CONFIRMED:
            continue
        kind = {TxKind.PAYMENT: "sales", TxKind.REFUND: "refunds",
                TxKind.PREAUTHORIZATION: "holds"}.get(entry.kind)  # fmt: skip
        if kind is None:
            continue
        sums[entry.currency][f"{kind}_count"] += 1
        sums[entry.currency][f"{kind}_amount"] += entry.amount
    currencies = []
    for code, s in sorted(sums.items()):
        currencies.append({
            "currency": code,
            "sales": {"count": s["sales_count"], "amount": s["sales_amount"]},
            "refunds": {"count": s["refunds_count"], "amount": s["refunds_amount"]},
            "holds": {"count": s["holds_count"], "amount": s["holds_amount"]},
            "net": s["sales_amount"] - s["refunds_amount"],
        })  # fmt: skip
    return {"since": since, "last_journal_id": last, "currencies": currencies}


def close_report(totals: dict[str, Any], batch: dict[str, Any]) -> dict[str, Any]:
    """The acquirer's batch beside the terminal's totals, and whether they agree."""
    acquirer: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for line in batch.get("totals", []):
        cur = acquirer[str(line.get("currency"))]
        kind = str(line.get("kind"))
        cur["net"] += int(line.get("gross", 0))
        if kind in ("sale", "capture"):
            cur["sales"] += int(line.get("count", 0))
        elif kind == "cancel":
            cur["sales"] -= int(line.get("count", 0))
        elif kind == "refund":
            cur["refunds"] += int(line.get("count", 0))
    mine = {c["currency"]: c for c in totals["currencies"]}
    differences = []
    for code in sorted(set(mine) | set(acquirer)):
        ours, theirs = mine.get(code), acquirer.get(code, {})
        ours_net = ours["net"] if ours else 0
        ours_sales = ours["sales"]["count"] if ours else 0
        ours_refunds = ours["refunds"]["count"] if ours else 0
        if (ours_net, ours_sales, ours_refunds) != (theirs.get("net", 0), theirs.get("sales", 0),
                                                    theirs.get("refunds", 0)):  # fmt: skip
            differences.append({"currency": code, "terminal_net": ours_net,
                                "acquirer_net": theirs.get("net", 0)})  # fmt: skip
    return {"batch": batch, "terminal_totals": totals, "matches": not differences,
            "differences": differences}  # fmt: skip
