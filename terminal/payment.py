"""One payment, start to finish: wait for the tap, run the kernel, go online, authenticate.

This is where the kernel's Online Request meets the acquirer: the data record goes out, the
decision comes back, and when the acquirer returns the issuer's authentication data (tag 91)
and the card is still in the field, the card verifies the ARPC (EXTERNAL AUTHENTICATE,
EMV Book 3 6.5.4). A response the card rejects is treated as not coming from the issuer and
the payment is declined.

An outcome that asks for a restart (Book A: "See Phone", card removed too early, two cards
in the field) shows its UI request and runs the transaction again on the next
presentation, up to :data:`MAX_PRESENTATIONS` times. Every path ends in a
:class:`PaymentResult`; nothing raises to the shopkeeper's screen.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emvcore.currency import format_minor_units
from terminal.errors import (
    AcquirerRejectedError,
    AcquirerUnavailableError,
    CardCollisionError,
    NoCardError,
    ReaderError,
)
from terminal.kernel import Kernel, KernelResult, Outcome, Transaction
from terminal.kernel.cvm import Cvm
from terminal.kernel.outcome import DEFAULT_UI, ONE_CARD_ONLY
from terminal.kernel.tvr import tvr_names
from terminal.kernel.ui import MessageId, Status, Tone, UiRequest
from terminal.online import AcquirerClient, AuthorizationResponse
from terminal.readers.base import Reader

#: How many presentations one payment accepts before giving up (first tap + retries).
MAX_PRESENTATIONS = 3
PRESENT_CARD = UiRequest(MessageId.PRESENT_CARD, Status.READY_TO_READ)
AUTHORISING = UiRequest(MessageId.AUTHORISING, Status.CARD_READ_SUCCESSFULLY, 0, Tone.SUCCESS)
APPROVED_SIGN = UiRequest(
    MessageId.APPROVED_PLEASE_SIGN, Status.CARD_READ_SUCCESSFULLY, 0, Tone.SUCCESS
)


@dataclass(frozen=True, slots=True)
class PaymentResult:
    """The final outcome of a payment attempt, for the display, a receipt or a kiosk app."""

    outcome: Outcome
    reason: str
    ui: UiRequest
    amount: int
    currency: str
    kernel: KernelResult | None = None
    authorization: AuthorizationResponse | None = None
    arpc_verified: bool | None = None
    #: Whether a reversal was sent after a lost answer or a failed issuer authentication:
    #: "reversed", "nothing_to_reverse", "pending" (could not be delivered), or None.
    reversal: str | None = None

    @property
    def message(self) -> str:
        """The display text."""
        return self.ui.text

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (no PAN, no key, no cryptogram)."""
        k, a = self.kernel, self.authorization
        return {
            "outcome": self.outcome.value,
            "reason": self.reason,
            "message": self.message,
            "message_id": f"{self.ui.message.value:02X}",
            "amount": self.amount,
            "currency": self.currency,
            "amount_text": format_minor_units(self.amount, self.currency),
            "application": k.label if k else None,
            "aid": k.aid.hex().upper() if k and k.aid else None,
            "kernel_id": k.kernel_id if k else None,
            "token_masked": k.masked_pan if k else None,
            "par": k.par if k else None,
            "atc": k.atc if k else None,
            "cvm": k.cvm.value if k else None,
            "oda_performed": k.oda_performed if k else None,
            "tvr": k.tvr.hex().upper() if k else None,
            "tvr_bits": tvr_names(k.tvr) if k else [],
            "authorization_id": a.authorization_id if a else None,
            "response_code": a.response_code if a else None,
            "arqc_verified": a.cryptogram_verified if a else None,
            "arpc_verified": self.arpc_verified,
            "reversal": self.reversal,
        }


def pay(
    reader: Reader,
    transaction: Transaction,
    *,
    terminal_id: str,
    client: AcquirerClient,
    kernel: Kernel | None = None,
    wait: float | None = 30.0,
    on_ui: Callable[[UiRequest], None] | None = None,
) -> PaymentResult:
    """Run one payment of ``transaction`` on the next card presented to ``reader``.

    The final outcome is also signalled on the reader's own buzzer and LEDs where it has
    them (ACS readers).
    """
    result = _pay(reader, transaction, terminal_id=terminal_id, client=client, kernel=kernel,
                  wait=wait, on_ui=on_ui)  # fmt: skip
    if result.outcome in (Outcome.APPROVED, Outcome.DECLINED):
        reader.signal(result.outcome is Outcome.APPROVED)
    return result


def _pay(
    reader: Reader,
    transaction: Transaction,
    *,
    terminal_id: str,
    client: AcquirerClient,
    kernel: Kernel | None = None,
    wait: float | None = 30.0,
    on_ui: Callable[[UiRequest], None] | None = None,
) -> PaymentResult:
    kernel = kernel or Kernel()
    show = on_ui or (lambda ui: None)
    amount, cur = transaction.amount, transaction.currency

    def result(
        outcome: Outcome, reason: str, ui: UiRequest | None = None, **extra: Any
    ) -> PaymentResult:
        return PaymentResult(outcome, reason, ui or DEFAULT_UI[outcome], amount, cur, **extra)

    read: KernelResult | None = None
    for _ in range(MAX_PRESENTATIONS):
        show(PRESENT_CARD)
        try:
            reader.wait_for_card(wait)
        except NoCardError:
            return result(Outcome.TRY_AGAIN, "no_card", kernel=read)
        except CardCollisionError:
            # Two cards in the field: "present one card only", then poll again (Book B 3.2.1).
            read = KernelResult(Outcome.TRY_AGAIN, "collision", ONE_CARD_ONLY, restart=True)
            show(read.ui)
            continue
        except ReaderError:
            return result(Outcome.TRY_AGAIN, "reader_error", kernel=read)
        read = kernel.run(reader, transaction)
        if not read.restart:
            break
        show(read.ui)
    assert read is not None
    if read.outcome is not Outcome.ONLINE_REQUEST:
        return result(read.outcome, read.reason, read.ui, kernel=read)
    show(AUTHORISING)
    key = str(uuid.uuid4())
    try:
        decision = client.authorize(
            terminal_id=terminal_id,
            amount=amount,
            currency=cur,
            emv_data=read.data_record,
            idempotency_key=key,
        )
    except AcquirerUnavailableError as exc:
        # No answer: the acquirer may have approved; undo whatever it did under this key.
        reversal = _reverse(client, terminal_id, key) if exc.maybe_delivered else None
        return result(Outcome.DECLINED, "acquirer_unavailable", kernel=read, reversal=reversal)
    except AcquirerRejectedError as exc:
        return result(Outcome.DECLINED, f"acquirer_rejected:{exc.code or exc.status}", kernel=read)
    arpc_verified = None
    if decision.issuer_authentication_data is not None:
        arpc_verified = kernel.issuer_authentication(reader, decision.issuer_authentication_data)
    if not decision.approved:
        outcome, reason, ui = Outcome.DECLINED, decision.reason, None
    elif arpc_verified is False:
        # The answer did not come from the issuer as far as the card can tell: decline, and
        # reverse the approval the acquirer holds.
        reversal = _reverse(client, terminal_id, key)
        return result(Outcome.DECLINED, "issuer_authentication_failed", kernel=read,
                      authorization=decision, arpc_verified=False, reversal=reversal)  # fmt: skip
    else:
        outcome, reason = Outcome.APPROVED, "approved"
        ui = APPROVED_SIGN if read.cvm is Cvm.SIGNATURE else None
    return result(
        outcome, reason, ui, kernel=read, authorization=decision, arpc_verified=arpc_verified
    )


def _reverse(client: AcquirerClient, terminal_id: str, original_key: str) -> str:
    """Reverse what the acquirer did under ``original_key``; report how it went.

    ``reversed``: undone; ``nothing_to_reverse``: the acquirer approved nothing under that key;
    ``pending``: the reversal could not be delivered and must be sent again (it is
    idempotent, and the original key identifies the authorization).
    """
    try:
        done = client.reverse(
            terminal_id=terminal_id,
            original_idempotency_key=original_key,
            idempotency_key=str(uuid.uuid4()),
        )
    except (AcquirerUnavailableError, AcquirerRejectedError):
        return "pending"
    return "reversed" if done else "nothing_to_reverse"
