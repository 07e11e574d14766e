"""A rule-based state machine over the whole payment lifecycle, on every backend (issue 17).

Hypothesis drives the real app (ARQC-verified authorizations, then increments, captures,
voids, refunds, full and partial reversals, settlement) in any order, and keeps its own model
of each payment and of every account's balance, written from the lifecycle table of
:mod:`acquirer.payments.lifecycle` and the postings of :mod:`acquirer.payments.ledger`, not
from their code. Each operation's answer must be the one the model predicts (the amount, or
the refusal's status and code), and after every step:

- every account's balance is what the model says (the store's sums over its postings);
- every journal balances, and so the whole ledger sums to zero;
- each payment's row is the model's, and nothing captured exceeds what was authorized,
  nothing refunded exceeds what was captured, no total exceeds an amount field (n 12);
- a fully voided or reversed payment leaves every account where it was; a fully refunded
  one too, except the fee, which the merchant still pays (a refund returns no fee);
- once a payment is settled, only refunds add journals to it, and no closed batch changes;
  each batch holds exactly the money that moved since the previous one.

``make test`` runs a bounded number of programs per store; ``make soak`` sets
``TAP_LIFECYCLE_EXAMPLES`` (and ``TAP_LIFECYCLE_STEPS``) for many more.
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from acquirer import Settings
from acquirer.keys import initialize as initialize_data_dir
from acquirer.payments.risk import MAX_AMOUNT
from acquirer.payments.rows import BatchRow
from acquirer.payments.sql import SqlPaymentStore
from acquirer.registry import MerchantRow, TerminalRow, TerminalStatus
from tests.acquirer.payments.test_lifecycle import TERMINAL, Lifecycle
from tests.acquirer.testkit import Api, TestCard

EXAMPLES = int(os.environ.get("TAP_LIFECYCLE_EXAMPLES", "25"))
STEPS = int(os.environ.get("TAP_LIFECYCLE_STEPS", "20"))
FEE_BPS = 150
CUR = "EUR"

ISSUER = f"issuer_receivable {CUR}"
FEES = f"fee_revenue {CUR}"
MERCHANT = f"merchant_payable:{TERMINAL} {CUR}"
HOLDS = f"holds_receivable {CUR}"
HOLDS_PAYABLE = f"holds_payable:{TERMINAL} {CUR}"

#: Amounts of everyday payments, and some near what an amount field carries (n 12).
small = st.integers(min_value=1, max_value=5_000)
amounts = st.one_of(
    small, small, small, st.integers(min_value=MAX_AMOUNT - 10_000, max_value=MAX_AMOUNT)
)
#: How much of a payment an operation asks for: None (all of it), a part of what it may take
#: (per cent), a little more than it may take, or any amount.
Share = tuple[str, int] | int | None
shares: st.SearchStrategy[Share] = st.one_of(
    st.none(),
    st.tuples(st.just("part"), st.integers(min_value=1, max_value=99)),
    st.tuples(st.just("part"), st.integers(min_value=1, max_value=99)),
    st.tuples(st.just("over"), st.integers(min_value=1, max_value=10)),
    amounts,
)


def resolve(share: Share, limit: int) -> int | None:
    """The amount a share of ``limit`` asks for (always 1..MAX_AMOUNT, or None for all)."""
    if share is None or isinstance(share, int):
        return share
    how, n = share
    asked = limit * n // 100 if how == "part" else limit + n
    return min(max(asked, 1), MAX_AMOUNT)


@pytest.fixture(name="settings")
def machine_settings(tmp_path: Path) -> Settings:
    """The conftest's data directory without the velocity limit: a program taps one card
    hundreds of times (velocity has its own race tests)."""
    data = Settings(data_dir=tmp_path / "acquirer", velocity_limit=0, fee_bps=FEE_BPS)
    initialize_data_dir(data)
    return data


def fee(amount: int) -> int:
    """The service charge: FEE_BPS basis points, rounded half up (ledger module docstring)."""
    return (amount * FEE_BPS + 5_000) // 10_000


@dataclasses.dataclass
class Model:
    """What the machine expects of one payment."""

    id: str
    intent: str
    status: str
    authorized: int
    captured: int = 0
    refunded: int = 0
    #: A sale or capture journal was written (holds are not money: never settled).
    money: bool = False
    settled: bool = False
    #: The payment's own postings, by account (what it moved).
    moved: Counter[str] = dataclasses.field(default_factory=Counter)
    #: The payment's journals by kind when it was first found settled.
    settled_journals: Counter[str] | None = None


Expected = tuple[int, str] | int  # (status, problem code) or the operation's amount


class LifecycleMachine(RuleBasedStateMachine):
    """The lifecycle of one terminal's payments against a model of them and of the ledger."""

    payments = Bundle("payments")

    def __init__(self, life: Lifecycle, store: SqlPaymentStore) -> None:
        super().__init__()
        self.life, self.store = life, store
        self.models: dict[str, Model] = {}
        self.batches: dict[str, BatchRow] = {}
        self.base: Counter[str] = Counter()
        self.unsettled: Counter[str] = Counter()

    @initialize()
    def start_clean(self) -> None:
        """Settle what earlier programs left, then take the ledger as the starting point."""
        self._close()
        self.base = Counter(self.store.account_balances())
        self.unsettled = Counter()

    # -- the model's postings -------------------------------------------------------------

    def _post(self, payment: Model, lines: dict[str, int], *, money: bool) -> None:
        assert sum(lines.values()) == 0
        for account, amount in lines.items():
            payment.moved[account] += amount
            self.base[account] += amount
            if money:
                self.unsettled[account] += amount

    def _sale(self, payment: Model, amount: int) -> None:
        charge = fee(amount)
        lines = {ISSUER: amount, MERCHANT: -(amount - charge), FEES: -charge}
        self._post(payment, lines, money=True)
        payment.money = True

    def _hold(self, payment: Model, amount: int) -> None:
        self._post(payment, {HOLDS: amount, HOLDS_PAYABLE: -amount}, money=False)

    def _cancel(self, payment: Model, amount: int) -> None:
        # The part hands back the fee of what remained less the fee of what remains after.
        charge = fee(payment.captured) - fee(payment.captured - amount)
        lines = {ISSUER: -amount, MERCHANT: amount - charge, FEES: charge}
        self._post(payment, lines, money=True)

    # -- rules ----------------------------------------------------------------------------

    @rule(target=payments, amount=amounts)
    def sale(self, amount: int) -> str:
        pid = self._authorize(amount, "sale")
        payment = self.models[pid] = Model(pid, "sale", "captured", amount, captured=amount)
        self._sale(payment, amount)
        return pid

    @rule(target=payments, amount=amounts)
    def preauthorization(self, amount: int) -> str:
        pid = self._authorize(amount, "preauthorization")
        payment = self.models[pid] = Model(pid, "preauthorization", "authorized", amount)
        self._hold(payment, amount)
        return pid

    @rule(pid=payments, amount=amounts)
    def increment(self, pid: str, amount: int) -> None:
        p = self.models[pid]
        expected: Expected
        if (p.intent, p.status) != ("preauthorization", "authorized"):
            expected = (409, "payment_state_conflict")
        elif p.authorized + amount > MAX_AMOUNT:
            expected = (422, "amount_exceeded")
        else:
            expected = amount
        if self._operate(p, "increments", amount, expected):
            p.authorized += amount
            self._hold(p, amount)

    @rule(pid=payments, amount=shares)
    def capture(self, pid: str, amount: Share) -> None:
        p = self.models[pid]
        amount = resolve(amount, p.authorized)
        expected: Expected
        value = p.authorized if amount is None else amount
        if (p.intent, p.status) != ("preauthorization", "authorized"):
            expected = (409, "payment_state_conflict")
        elif value > p.authorized:
            expected = (422, "amount_exceeded")
        else:
            expected = value
        if self._operate(p, "capture", amount, expected):
            self._hold(p, -p.authorized)  # the whole hold is released
            self._sale(p, value)
            p.captured, p.status = value, "captured"

    @rule(pid=payments)
    def void(self, pid: str) -> None:
        self._undo(self.models[pid], "void", None)

    @rule(pid=payments, amount=shares)
    def reversal(self, pid: str, amount: Share) -> None:
        p = self.models[pid]
        limit = p.authorized if p.status == "authorized" else p.captured
        self._undo(p, "reversals", resolve(amount, limit))

    @rule(pid=payments, amount=shares)
    def refund(self, pid: str, amount: Share) -> None:
        p = self.models[pid]
        amount = resolve(amount, p.captured - p.refunded)
        left = p.captured - p.refunded
        value = left if amount is None else amount
        expected: Expected
        if p.status != "captured":
            expected = (409, "payment_state_conflict")
        elif value > left or value == 0:
            expected = (422, "amount_exceeded")
        else:
            expected = value
        if self._operate(p, "refunds", amount, expected):
            self._post(p, {MERCHANT: value, ISSUER: -value}, money=True)
            p.refunded += value

    @rule()
    def close_batch(self) -> None:
        batch = self._close()
        gross = sum(t.gross for t in batch.totals)
        net = sum(t.net for t in batch.totals)
        assert (gross, net) == (self.unsettled[ISSUER], -self.unsettled[MERCHANT]), batch
        self.unsettled = Counter()
        for p in self.models.values():
            p.settled = p.settled or p.money
            if p.settled and p.settled_journals is None:
                p.settled_journals = self._journals(p.id)

    # -- what the machine does with the API -----------------------------------------------

    def _authorize(self, amount: int, intent: str) -> str:
        pid: str = self.life.authorize(amount, intent=intent)["authorization_id"]
        return pid

    def _undo(self, p: Model, name: str, amount: int | None) -> None:
        """A void (the whole amount) or a reversal (all or part): the lifecycle table."""
        expected: Expected
        if p.status == "authorized":
            value = p.authorized if amount is None else amount
            limit = p.authorized
        else:
            value = p.captured if amount is None else amount
            limit = p.captured
        undoable = p.status == "captured" and p.refunded == 0 and not p.settled
        if not (p.status == "authorized" or undoable):
            expected = (409, "payment_state_conflict")
        elif value > limit:
            expected = (422, "amount_exceeded")
        else:
            expected = value
        if not self._operate(p, name, amount, expected):
            return
        final = "voided" if name == "void" else "reversed"
        if p.status == "authorized":
            self._hold(p, -value)
            p.authorized -= value
            if p.authorized == 0:
                p.status = final
        else:
            self._cancel(p, value)
            p.captured -= value
            if p.intent == "sale":
                p.authorized -= value
            if p.captured == 0:
                p.status = final

    def _operate(self, p: Model, name: str, amount: int | None, expected: Expected) -> bool:
        """Post the operation; check its answer is the expected one; True if it applied."""
        fields: dict[str, Any] = {} if amount is None or name == "void" else {"amount": amount}
        response = self.life.op(p.id, name, **fields)
        if isinstance(expected, tuple):
            status, code = expected
            assert response.status_code == status, (name, amount, response.text, p)
            assert response.json()["code"] == code, (name, amount, response.text, p)
            return False
        assert response.status_code == 200, (name, amount, response.text, p)
        assert response.json()["amount"] == expected, (name, amount, response.text, p)
        return True

    def _close(self) -> BatchRow:
        response: httpx.Response = self.life.post("/v1/settlement/batches")
        assert response.status_code == 200, response.text
        batch = self.store.get_batch(response.json()["batch_id"])
        assert batch is not None
        self.batches[batch.id] = batch
        return batch

    def _journal_rows(self, pid: str) -> list[Any]:
        rows: list[Any] = self.store.engine.read(
            lambda tx: tx.all("SELECT kind, batch_id FROM journals WHERE payment_id = ?", [pid])
        )
        return rows

    def _journals(self, pid: str) -> Counter[str]:
        return Counter(str(row["kind"]) for row in self._journal_rows(pid))

    def _settled(self, pid: str) -> bool:
        return any(row["batch_id"] is not None for row in self._journal_rows(pid))

    def _moved(self, pid: str) -> dict[str, int]:
        rows = self.store.engine.read(
            lambda tx: tx.all(
                "SELECT p.account AS account, j.currency AS currency, SUM(p.amount) AS total "
                "FROM postings p JOIN journals j ON j.id = p.journal_id "
                "WHERE j.payment_id = ? GROUP BY p.account, j.currency",
                [pid],
            )
        )
        return {f"{r['account']} {r['currency']}": int(r["total"]) for r in rows}

    # -- invariants -----------------------------------------------------------------------

    @invariant()
    def every_journal_balances(self) -> None:
        assert self.store.ledger_totals().unbalanced == 0
        assert sum(self.store.account_balances().values()) == 0

    @invariant()
    def every_balance_is_the_models(self) -> None:
        actual = {a: b for a, b in self.store.account_balances().items() if b}
        assert actual == {a: b for a, b in self.base.items() if b}

    @invariant()
    def every_payment_is_the_models(self) -> None:
        for p in self.models.values():
            row = self.store.get_payment(p.id)
            assert row is not None
            seen = (row.status.value, row.authorized, row.captured, row.refunded)
            assert seen == (p.status, p.authorized, p.captured, p.refunded), p
            assert 0 <= row.refunded <= row.captured <= row.authorized <= MAX_AMOUNT, row
            assert self._settled(p.id) == p.settled, p

    @invariant()
    def undone_payments_leave_every_account_where_it_was(self) -> None:
        for p in self.models.values():
            if p.status in ("voided", "reversed") and p.refunded == 0:
                assert {a: b for a, b in self._moved(p.id).items() if b} == {}, p
            elif p.status == "captured" and p.refunded == p.captured:
                # A refund returns the money, not the fee: the merchant still pays it.
                charge = -p.moved[FEES]
                moved = {a: b for a, b in self._moved(p.id).items() if b}
                assert moved == {a: b for a, b in {MERCHANT: charge, FEES: -charge}.items() if b}

    @invariant()
    def nothing_but_refunds_moves_after_settlement(self) -> None:
        for p in self.models.values():
            if p.settled_journals is None:
                continue
            now = self._journals(p.id)
            added = now - p.settled_journals
            assert set(added) <= {"refund"}, (p, added)
        for batch_id, batch in self.batches.items():
            assert self.store.get_batch(batch_id) == batch


def _run(life: Lifecycle, store: SqlPaymentStore) -> None:
    class OnThisStore(LifecycleMachine):
        def __init__(self) -> None:
            super().__init__(life, store)

    run_state_machine_as_test(
        OnThisStore,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


def test_the_lifecycle_keeps_every_invariant(
    any_api: Api, any_new_card: Callable[..., TestCard], any_store: SqlPaymentStore
) -> None:
    # Only a registered terminal has a merchant to settle for (an unknown one is a 404).
    now = datetime.now(UTC)
    any_store.put_merchant(MerchantRow("M1", "Shop", "5411", CUR, "acct", now))
    any_store.put_terminal(
        TerminalRow(TERMINAL, "M1", ("pay", "bike"), TerminalStatus.ACTIVE, None, now)
    )
    _run(Lifecycle(any_api, any_new_card("visa")), any_store)
