"""The double-entry ledger: which accounts a money movement touches, and by how much.

Every state change of a payment that moves money is one *journal* of *postings*. A posting
is an account and a signed amount in minor units: positive is a debit, negative a credit.
A journal balances when its postings sum to zero (Pacioli's rule, and the invariant of every
double-entry system): :func:`check_balanced` refuses one that does not before it is written,
and the store writes the journal in the same database transaction as the state change it
records, so a payment's state and its money never disagree.

Accounts (``:`` separates the account from the terminal it belongs to):

=========================  =========  ====================================================
account                    kind       balance means
=========================  =========  ====================================================
``holds_receivable``       memo       open authorization holds on cardholders' accounts
``holds_payable:<T>``      memo       the same holds, per terminal
``issuer_receivable``      asset      captured money the card schemes owe the acquirer
``merchant_payable:<T>``   liability  money the acquirer owes the merchant of terminal T
``fee_revenue``            revenue    the acquirer's merchant service charge
``debts_receivable``       memo       rental fares riders still owe (unpaid debts)
``debts_payable:<M>``      memo       the same debts, per operator (merchant M)
``fees:storage:<M>``       liability  parcel storage fees owed to locker operator M
=========================  =========  ====================================================

Journal kinds and their postings (A: amount; F: the fee on A):

- ``sale`` and ``capture``: DR issuer_receivable A; CR merchant_payable A - F; CR fee_revenue F.
- ``hold`` (pre-authorization, incremental authorization): DR holds_receivable A;
  CR holds_payable A.
- ``release`` (reversal, void or completion of a hold): the hold postings reversed.
- ``cancel`` (void or reversal of a sale not yet settled): the sale postings reversed. A
  part P of a remaining captured amount C hands back the fee ``F(C) - F(C - P)``
  (:func:`part_fee`), so the parts of a sale reversed in parts hand back exactly its fee.
- ``refund``: DR merchant_payable A; CR issuer_receivable A (the fee is not returned).
- ``debt`` (a rental's fare its hold could not cover): DR debts_receivable A;
  CR debts_payable A. A memo, like a hold: the money moves only when the debt is paid.
- ``debt_recovery`` (the debt paid by a sale, whose own ``sale`` journal moves the money):
  the debt postings reversed.
- ``storage_fee`` (the storage-fee part S of a parcel payment, see :mod:`acquirer.parcels.service`):
  DR merchant_payable S; CR fees:storage:<M> S.
- ``storage_fee_reversal`` (that parcel payment reversed, :mod:`acquirer.parcels.reversals`):
  the storage-fee postings reversed.

The fee is ``fee_bps`` basis points of the amount, rounded half up to the minor unit.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from acquirer.errors import LedgerImbalanceError

HOLDS_RECEIVABLE = "holds_receivable"
ISSUER_RECEIVABLE = "issuer_receivable"
FEE_REVENUE = "fee_revenue"
DEBTS_RECEIVABLE = "debts_receivable"


def debts_payable(merchant_id: str) -> str:
    """The memo account of an operator's riders' unpaid debts."""
    return f"debts_payable:{merchant_id}"


def holds_payable(terminal_id: str) -> str:
    """The memo account of a terminal's open holds."""
    return f"holds_payable:{terminal_id}"


def merchant_payable(terminal_id: str) -> str:
    """What the acquirer owes for a terminal's captured payments."""
    return f"merchant_payable:{terminal_id}"


class JournalKind(enum.StrEnum):
    """What a journal records."""

    SALE = "sale"
    HOLD = "hold"
    RELEASE = "release"
    CAPTURE = "capture"
    CANCEL = "cancel"
    REFUND = "refund"
    DEBT = "debt"
    DEBT_RECOVERY = "debt_recovery"
    STORAGE_FEE = "storage_fee"
    STORAGE_FEE_REVERSAL = "storage_fee_reversal"


@dataclass(frozen=True, slots=True)
class Posting:
    """One line of a journal: a debit (positive) or credit (negative) to an account."""

    account: str
    amount: int


@dataclass(frozen=True, slots=True)
class Journal:
    """The postings of one money movement, in one currency."""

    kind: JournalKind
    currency: str
    postings: tuple[Posting, ...]


def fee(amount: int, fee_bps: int) -> int:
    """The merchant service charge on ``amount``: ``fee_bps`` basis points, half up.

    >>> fee(1250, 150), fee(1, 150), fee(0, 150), fee(34, 150)
    (19, 0, 0, 1)
    """
    return (amount * fee_bps + 5_000) // 10_000


def part_fee(remaining: int, part: int, fee_bps: int) -> int:
    """The fee ``part`` of a ``remaining`` captured amount carries: what undoing it hands back.

    The fee of the amount remaining before less the fee of the amount remaining after, so
    the parts of a full reversal sum to the fee the sale charged, whatever the split (the
    fee rounds on the whole amount, never on each part):

    >>> part_fee(340, 34, 150), fee(340, 150), sum(part_fee(340 - 34 * n, 34, 150) for n in range(10))
    (0, 5, 5)
    >>> part_fee(1250, 625, 150) + part_fee(625, 625, 150) == fee(1250, 150)
    True
    """
    return fee(remaining, fee_bps) - fee(remaining - part, fee_bps)


def check_balanced(journal: Journal) -> Journal:
    """``journal`` itself if its postings sum to zero; :class:`LedgerImbalanceError` if not.

    >>> check_balanced(Journal(JournalKind.REFUND, "EUR", (Posting("a", 5), Posting("b", -5))))
    ... # doctest: +ELLIPSIS
    Journal(kind=<JournalKind.REFUND: 'refund'>, ...)
    """
    total = sum(posting.amount for posting in journal.postings)
    if total != 0:
        raise LedgerImbalanceError(f"{journal.kind} journal does not balance (off by {total})")
    return journal


def _journal(kind: JournalKind, currency: str, lines: Sequence[tuple[str, int]]) -> Journal:
    postings = tuple(Posting(account, amount) for account, amount in lines if amount != 0)
    return check_balanced(Journal(kind, currency, postings))


def sale(terminal_id: str, currency: str, amount: int, fee_bps: int) -> Journal:
    """A captured amount: owed by the schemes, payable to the merchant less the fee."""
    charge = fee(amount, fee_bps)
    return _journal(
        JournalKind.SALE,
        currency,
        [
            (ISSUER_RECEIVABLE, amount),
            (merchant_payable(terminal_id), -(amount - charge)),
            (FEE_REVENUE, -charge),
        ],
    )


def capture(terminal_id: str, currency: str, amount: int, fee_bps: int) -> Journal:
    """The capture (completion) of a hold: the same postings as a sale."""
    lines = [(p.account, p.amount) for p in sale(terminal_id, currency, amount, fee_bps).postings]
    return _journal(JournalKind.CAPTURE, currency, lines)


def hold(terminal_id: str, currency: str, amount: int) -> Journal:
    """A pre-authorization or incremental authorization of ``amount``."""
    return _journal(
        JournalKind.HOLD,
        currency,
        [(HOLDS_RECEIVABLE, amount), (holds_payable(terminal_id), -amount)],
    )


def release(terminal_id: str, currency: str, amount: int) -> Journal:
    """``amount`` of a hold released (reversal, void, or the unused rest at completion)."""
    return _journal(
        JournalKind.RELEASE,
        currency,
        [(holds_payable(terminal_id), amount), (HOLDS_RECEIVABLE, -amount)],
    )


def cancel(terminal_id: str, currency: str, amount: int, fee_bps: int, remaining: int) -> Journal:
    """``amount`` of a sale's ``remaining`` captured amount voided or reversed before settlement.

    The sale postings reversed for that part, its fee being :func:`part_fee`.
    """
    charge = part_fee(remaining, amount, fee_bps)
    return _journal(
        JournalKind.CANCEL,
        currency,
        [
            (ISSUER_RECEIVABLE, -amount),
            (merchant_payable(terminal_id), amount - charge),
            (FEE_REVENUE, charge),
        ],
    )


def refund(terminal_id: str, currency: str, amount: int) -> Journal:
    """Money returned to the cardholder out of the merchant's payable balance."""
    return _journal(
        JournalKind.REFUND,
        currency,
        [(merchant_payable(terminal_id), amount), (ISSUER_RECEIVABLE, -amount)],
    )


def debt(merchant_id: str, currency: str, amount: int) -> Journal:
    """A rider's unpaid fare: owed by the rider, to be paid on to the operator."""
    return _journal(
        JournalKind.DEBT,
        currency,
        [(DEBTS_RECEIVABLE, amount), (debts_payable(merchant_id), -amount)],
    )


def debt_recovery(merchant_id: str, currency: str, amount: int) -> Journal:
    """A debt paid (the sale that paid it carries the money): the debt postings reversed."""
    return _journal(
        JournalKind.DEBT_RECOVERY,
        currency,
        [(debts_payable(merchant_id), amount), (DEBTS_RECEIVABLE, -amount)],
    )


def storage_fees(merchant_id: str) -> str:
    """What the acquirer owes a locker operator for parcel storage fees it collected."""
    return f"fees:storage:{merchant_id}"


def storage_fee(terminal_id: str, merchant_id: str, currency: str, amount: int) -> Journal:
    """The storage-fee part of a parcel sale, moved out of the locker terminal's payable.

    >>> [(p.account, p.amount) for p in storage_fee("LOCK1", "M1", "EUR", 300).postings]
    [('merchant_payable:LOCK1', 300), ('fees:storage:M1', -300)]
    """
    return _journal(
        JournalKind.STORAGE_FEE,
        currency,
        [(merchant_payable(terminal_id), amount), (storage_fees(merchant_id), -amount)],
    )


def storage_fee_reversal(terminal_id: str, merchant_id: str, currency: str, amount: int) -> Journal:
    """A reversed parcel sale's storage-fee part, moved back: the storage-fee postings reversed.

    >>> [(p.account, p.amount) for p in storage_fee_reversal("LOCK1", "M1", "EUR", 300).postings]
    [('fees:storage:M1', 300), ('merchant_payable:LOCK1', -300)]
    """
    return _journal(
        JournalKind.STORAGE_FEE_REVERSAL,
        currency,
        [(storage_fees(merchant_id), amount), (merchant_payable(terminal_id), -amount)],
    )
