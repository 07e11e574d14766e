"""The Entry Point: from a transaction to a kernel's outcome (EMV Contactless Book B).

Flow (Book A 6.5 starts; Book B sections)::

    Start A  begin (9F41) -> pre-processing (3.1): the combination set of the transaction
             type, reader limits -> indicators, TTQ; nothing allowed: Try Another Interface
             before any card is polled
    Start B  protocol activation (3.2, the caller polls: terminal.tap.read_card)
    Start C  SELECT PPSE -> candidate list (3.3.2) -> final SELECT of the first candidate
             (3.3.3) -> kernel activation (3.4) of the kernel registered under its id
    outcome  processing (3.5): Select Next -> Start C with the next candidate; Try Again
             -> Start B; Online Request -> the online response, then Start D
    Start D  :meth:`Kernel.online_response`: the issuer's 91/71/72 handed to the kernel

The Entry Point never names a kernel: it looks the candidate's kernel id up in
:mod:`terminal.kernel.registry`, where C-2, C-3 and any test kernel registered themselves.
It sees only a :class:`~terminal.readers.base.Reader`, and never raises on card
behaviour: every failure becomes an :class:`~terminal.kernel.outcome.Outcome`.
"""

from __future__ import annotations

import dataclasses

from emvcore import apdu
from emvcore.apdu import ResponseApdu
from emvcore.dol import parse_dol
from emvcore.errors import EmvError
from emvcore.tags import Tag
from terminal.errors import CardCollisionError, CardRemovedError, CardTimeoutError, ReaderError
from terminal.kernel import issuer_update, registry
from terminal.kernel.completion import ONLINE_TAGS
from terminal.kernel.config import KernelConfig
from terminal.kernel.entry import Candidate, PpseError, candidates
from terminal.kernel.issuer_update import OnlineResponse
from terminal.kernel.outcome import (
    DEFAULT_UI,
    ONE_CARD_ONLY,
    PRESENT_CARD,
    KernelResult,
    KernelStop,
    OnlineResponseData,
    Outcome,
    Start,
)
from terminal.kernel.preprocessing import Indicators, Prepared, pre_process
from terminal.kernel.session import CardSession
from terminal.kernel.transaction import Transaction
from terminal.readers.base import Reader

__all__ = ["ONLINE_TAGS", "Kernel"]

#: Book B 3.3.3 (final combination selection, the kernel 3 / kernel 1 rule; the step
#: number is as remembered, the stored material does not show it): a kernel 3 candidate
#: whose PDOL does not ask for the TTQ (9F66) is a kernel 1 card.
KERNEL_1 = 1
KERNEL_3 = 3


class Kernel:
    """The Entry Point of one reader: runs contactless transactions on the card in its field."""

    def __init__(self, config: KernelConfig | None = None) -> None:
        self.config = config or KernelConfig()

    # -- Start A ---------------------------------------------------------------------------

    def begin(self, transaction: Transaction) -> Transaction:
        """Start A: number the transaction (9F41, once; restarts keep the number)."""
        if transaction.sequence is not None:
            return transaction
        return dataclasses.replace(transaction, sequence=self.config.sequence_counter.next())

    def preprocess(self, transaction: Transaction) -> Prepared:
        """Book B 3.1: the indicators of the combinations of the transaction's type."""
        return pre_process(
            self.config, transaction.transaction_type, transaction.amount, transaction.currency
        )

    def autorun(self, transaction: Transaction) -> Prepared:
        """Autorun (Book A 5.2): pre-processing done once, for a preset amount.

        An unattended terminal (a bike dock, a parcel locker) waits for cards with a
        preset amount: the Entry Point starts every transaction at Start B with these
        indicators instead of pre-processing each one. Pass the result as ``prepared=``.
        """
        return self.preprocess(transaction)

    def refusal(self, prepared: Prepared) -> KernelResult | None:
        """Try Another Interface when pre-processing allowed nothing (Book B 3.1.1.13)."""
        if prepared.allowed:
            return None
        ui = DEFAULT_UI[Outcome.TRY_ANOTHER_INTERFACE]
        return KernelResult(Outcome.TRY_ANOTHER_INTERFACE, "amount_not_allowed_contactless", ui)

    # -- Start B/C and kernel activation ---------------------------------------------------

    def run(
        self,
        reader: Reader,
        transaction: Transaction,
        *,
        prepared: Prepared | None = None,
        restart_flag: bool = False,
    ) -> KernelResult:
        """Process the card in the field; always returns an outcome.

        Without ``prepared`` this is a whole transaction from Start A; with it (from
        :meth:`preprocess` or :meth:`autorun`) it starts at protocol activation.
        ``restart_flag`` tells the kernel this is a restart of the same transaction.
        """
        transaction = self.begin(transaction)
        if prepared is None:
            prepared = self.preprocess(transaction)
        refused = self.refusal(prepared)
        if refused is not None:
            return refused
        try:
            return self._select_and_activate(reader, transaction, prepared, restart_flag)
        except KernelStop as stop:
            return KernelResult(
                stop.outcome,
                stop.reason,
                stop.ui,
                tvr=stop.tvr,
                start=stop.start,
                ui_on_restart=stop.ui_on_restart,
                alternate_interface=stop.alternate_interface,
            )
        except CardRemovedError:
            return _try_again("card_removed")
        except CardTimeoutError:
            return _try_again("card_timeout")
        except CardCollisionError:
            return KernelResult(Outcome.TRY_AGAIN, "collision", ONE_CARD_ONLY, start=Start.B,
                                ui_on_restart=PRESENT_CARD)  # fmt: skip
        except ReaderError:
            return _try_again("reader_error")

    def _select_and_activate(
        self, reader: Reader, transaction: Transaction, prepared: Prepared, restart_flag: bool
    ) -> KernelResult:
        try:
            ppse = ResponseApdu.decode(reader.transceive(apdu.select_ppse().encode()))
        except EmvError:
            raise KernelStop(Outcome.END_APPLICATION, "card_response_malformed") from None
        if not ppse.ok:
            raise KernelStop(Outcome.END_APPLICATION, "card_not_supported")
        allowed = prepared.allowed
        try:
            ordered = candidates(ppse.data, tuple(i.combination for i in allowed))
        except PpseError:
            raise KernelStop(Outcome.END_APPLICATION, "ppse_malformed") from None
        if not ordered:
            raise KernelStop(Outcome.END_APPLICATION, "card_not_supported")
        last = "card_not_supported"
        for candidate in ordered:  # Start C: each Select Next moves to the next one
            indicators = _indicators_for(candidate, allowed)
            session = CardSession(reader, transaction, self.config, candidate, indicators,
                                  restart_flag=restart_flag)  # fmt: skip
            try:
                result = self._activate(session)
            except KernelStop as stop:
                if stop.outcome is not Outcome.SELECT_NEXT:
                    stop.tvr = bytes(session.tvr)
                    raise
                last = stop.reason
                continue
            if result.outcome is not Outcome.SELECT_NEXT:
                return result
            last = result.reason
        # Every candidate failed: End Application, naming why the last one did (Book B 3.3.3).
        raise KernelStop(Outcome.END_APPLICATION, last)

    def _activate(self, session: CardSession) -> KernelResult:
        """Final SELECT (Book B 3.3.3), then the kernel registered for the candidate (3.4)."""
        pdol = session.select()
        candidate = session.candidate
        if candidate.kernel_id == KERNEL_3:
            try:
                asks_ttq = any(e.tag == Tag.TTQ for e in parse_dol(pdol))
            except EmvError:
                asks_ttq = True  # the kernel reports the malformed PDOL itself
            if not asks_ttq:
                if registry.lookup(KERNEL_1) is None:
                    raise KernelStop(Outcome.SELECT_NEXT, "kernel_1_not_supported")
                session.candidate = dataclasses.replace(candidate, kernel_id=KERNEL_1)
        kernel = registry.lookup(session.candidate.kernel_id)
        if kernel is None:
            raise KernelStop(Outcome.SELECT_NEXT, "kernel_not_supported")
        return kernel.activate(session)

    # -- Start D ---------------------------------------------------------------------------

    def online_response(
        self, reader: Reader, read: KernelResult, response: OnlineResponse
    ) -> KernelResult:
        """Start D (Book A 6.5, Book B 3.5): hand the issuer's response to the kernel.

        The kernel that produced the Online Request gets it when its outcome asked for
        Online Response Data; otherwise the issuer's decision stands as it is.
        """
        kernel = registry.lookup(read.kernel_id) if read.kernel_id is not None else None
        wants = read.online_response_data is not OnlineResponseData.NA
        if kernel is not None and kernel.resume is not None and wants:
            return kernel.resume(reader, read, response)
        outcome = Outcome.APPROVED if response.approved else Outcome.DECLINED
        return dataclasses.replace(
            read,
            outcome=outcome,
            reason="approved" if response.approved else "issuer_declined",
            ui=DEFAULT_UI[outcome],
            start=Start.NA,
        )

    def issuer_authentication(
        self, reader: Reader, issuer_authentication_data: bytes
    ) -> bool | None:
        """Have the card verify the issuer's ARPC (tag 91) with EXTERNAL AUTHENTICATE.

        True when the card accepts it (9000), False when it refuses it (6300 or another
        status word), None when the card is no longer in the field to ask.
        """
        return issuer_update.issuer_authentication(reader, issuer_authentication_data)


def _indicators_for(candidate: Candidate, allowed: tuple[Indicators, ...]) -> Indicators:
    """The indicators of the allowed combination a candidate was made from."""
    return next(found for found in allowed if found.combination == candidate.combination)


def _try_again(reason: str) -> KernelResult:
    return KernelResult(Outcome.TRY_AGAIN, reason, DEFAULT_UI[Outcome.TRY_AGAIN], start=Start.B)
