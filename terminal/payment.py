"""One payment, start to finish: wait for the tap, run the kernel, go online, authenticate.

This is where the kernel's Online Request meets the acquirer: the data record goes out, the
decision comes back, and when the acquirer returns the issuer's authentication data (tag 91)
and the card is still in the field, the card verifies the ARPC (EXTERNAL AUTHENTICATE,
EMV Book 3 6.5.4). A response the card rejects is treated as not coming from the issuer and
the payment is declined. Every path ends in a :class:`PaymentResult`; nothing raises to the
shopkeeper's screen.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from emvcore.currency import format_minor_units
from terminal.errors import AcquirerRejectedError, AcquirerUnavailableError, NoCardError
from terminal.kernel import Kernel, KernelResult, Outcome, Transaction
from terminal.online import AcquirerClient, AuthorizationResponse
from terminal.readers.base import Reader


@dataclass(frozen=True, slots=True)
class PaymentResult:
    """The final outcome of a payment attempt, for the display, a receipt or a kiosk app."""

    outcome: Outcome
    reason: str
    message: str
    amount: int
    currency: str
    kernel: KernelResult | None = None
    authorization: AuthorizationResponse | None = None
    arpc_verified: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (no PAN, no key, no cryptogram)."""
        k, a = self.kernel, self.authorization
        return {
            "outcome": self.outcome.value,
            "reason": self.reason,
            "message": self.message,
            "amount": self.amount,
            "currency": self.currency,
            "amount_text": format_minor_units(self.amount, self.currency),
            "application": k.label if k else None,
            "aid": k.aid.hex().upper() if k and k.aid else None,
            "kernel_id": k.kernel_id if k else None,
            "token_masked": k.masked_pan if k else None,
            "par": k.par if k else None,
            "atc": k.atc if k else None,
            "authorization_id": a.authorization_id if a else None,
            "response_code": a.response_code if a else None,
            "arqc_verified": a.cryptogram_verified if a else None,
            "arpc_verified": self.arpc_verified,
        }


def pay(
    reader: Reader,
    transaction: Transaction,
    *,
    terminal_id: str,
    client: AcquirerClient,
    kernel: Kernel | None = None,
    wait: float | None = 30.0,
) -> PaymentResult:
    """Run one payment of ``transaction`` on the next card presented to ``reader``."""
    kernel = kernel or Kernel()
    amount, cur = transaction.amount, transaction.currency

    def result(outcome: Outcome, reason: str, message: str, **extra: Any) -> PaymentResult:
        return PaymentResult(outcome, reason, message, amount, cur, **extra)

    try:
        reader.wait_for_card(wait)
    except NoCardError:
        return result(Outcome.TRY_AGAIN, "no_card", "No card presented")
    read = kernel.run(reader, transaction)
    if read.outcome is not Outcome.ONLINE_REQUEST:
        return result(read.outcome, read.reason, read.message, kernel=read)
    try:
        decision = client.authorize(
            terminal_id=terminal_id,
            amount=amount,
            currency=cur,
            emv_data=read.data_record,
            idempotency_key=str(uuid.uuid4()),
        )
    except AcquirerUnavailableError:
        return result(
            Outcome.DECLINED,
            "acquirer_unavailable",
            "Declined: acquirer not reachable",
            kernel=read,
        )
    except AcquirerRejectedError as exc:
        return result(
            Outcome.DECLINED, f"acquirer_rejected:{exc.code or exc.status}", "Declined", kernel=read
        )
    arpc_verified = None
    if decision.issuer_authentication_data is not None:
        arpc_verified = kernel.issuer_authentication(reader, decision.issuer_authentication_data)
    if not decision.approved:
        return result(Outcome.DECLINED, decision.reason, "Declined", kernel=read,
                      authorization=decision, arpc_verified=arpc_verified)  # fmt: skip
    if arpc_verified is False:
        return result(Outcome.DECLINED, "issuer_authentication_failed", "Declined", kernel=read,
                      authorization=decision, arpc_verified=False)  # fmt: skip
    return result(Outcome.APPROVED, "approved", "Approved", kernel=read,
                  authorization=decision, arpc_verified=arpc_verified)  # fmt: skip
