"""The contactless kernel: from a card in the field to an outcome with its data record.

Flow (EMV Contactless Books A, B, C-2 and C-3; EMV Book 3 for the commands)::

    pre-processing (Book B 3.1): reader limits -> allowed combinations, TTQ
    SELECT PPSE -> candidate list of allowed combinations (Book B 3.3)
    for each candidate: the kernel of its combination (Select Next moves on)
        C-3 (qVSDC):  GPO returns the cryptogram; records; fDDA; CVM from the CTQ
        C-2 (M/Chip): GPO; records; CDA; CVM List; TAA; GENERATE AC with CDOL1
    -> Online Request with the data record, Approved (offline), Declined, Try Again,
       Try Another Interface or End Application, each with its UI request

After the online authorization, :meth:`Kernel.issuer_authentication` gives the issuer's
tag 91 to a card still in the field with EXTERNAL AUTHENTICATE (Book 3 6.5.4): the card,
which holds the key, verifies the ARPC.

The kernel sees only a :class:`~terminal.readers.base.Reader`. It never raises on card
behaviour: every failure becomes an :class:`~terminal.kernel.outcome.Outcome`.
"""

from __future__ import annotations

from collections.abc import Callable

from emvcore import apdu, tlv
from emvcore.apdu import SW, CryptogramType, ResponseApdu
from emvcore.errors import EmvError
from emvcore.pan import mask_pan
from emvcore.tags import Tag
from terminal.errors import CardCollisionError, CardRemovedError, CardTimeoutError, ReaderError
from terminal.kernel import c2, c3
from terminal.kernel.config import KernelConfig
from terminal.kernel.cvm import Cvm
from terminal.kernel.entry import Candidate, PpseError, candidates
from terminal.kernel.outcome import DEFAULT_UI, ONE_CARD_ONLY, KernelResult, KernelStop, Outcome
from terminal.kernel.preprocessing import Indicators, preprocess
from terminal.kernel.session import CardSession
from terminal.kernel.transaction import Transaction
from terminal.kernel.tvr import TsiBit
from terminal.readers.base import Reader

#: Tags of the data record sent online (Book A 6.2.1; Book C-2 Annex B / C-3 Annex A).
ONLINE_TAGS: tuple[int, ...] = (
    0x9F02, 0x9F03, 0x9F1A, 0x95, 0x5F2A, 0x9A, 0x9C, 0x9F37, 0x82, 0x9F36, 0x9F26,
    0x9F27, 0x9F10, 0x5A, 0x57, 0x5F34, 0x5F24, 0x9F24, 0x84, 0x9F33, 0x9F35, 0x9F34,
    0x9F66, 0x9F6C, 0x9F6E, 0x9F1E, 0x9F21, 0x9F69, 0x9B,
)  # fmt: skip

#: Kernel paths by kernel identifier.
PATHS: dict[int, Callable[[CardSession], tuple[CryptogramType, Cvm]]] = {2: c2.run, 3: c3.run}


class Kernel:
    """Runs one contactless transaction on the card in a reader's field."""

    def __init__(self, config: KernelConfig | None = None) -> None:
        self.config = config or KernelConfig()

    def run(self, reader: Reader, transaction: Transaction) -> KernelResult:
        """Process the card in the field; always returns an outcome."""
        try:
            return self._run(reader, transaction)
        except KernelStop as stop:
            return KernelResult(
                stop.outcome, stop.reason, stop.ui, tvr=stop.tvr, restart=stop.restart
            )
        except CardRemovedError:
            return _try_again("card_removed")
        except CardTimeoutError:
            return _try_again("card_timeout")
        except CardCollisionError:
            return KernelResult(Outcome.TRY_AGAIN, "collision", ONE_CARD_ONLY, restart=True)
        except ReaderError:
            return _try_again("reader_error")

    def issuer_authentication(
        self, reader: Reader, issuer_authentication_data: bytes
    ) -> bool | None:
        """Have the card verify the issuer's ARPC (tag 91) with EXTERNAL AUTHENTICATE.

        True when the card accepts it (9000), False when it refuses it (6300 or another
        status word), None when the card is no longer in the field to ask.
        """
        try:
            command = apdu.external_authenticate(issuer_authentication_data)
            response = ResponseApdu.decode(reader.transceive(command.encode()))
        except (ReaderError, EmvError):
            return None
        return response.sw == SW.OK

    def _run(self, reader: Reader, transaction: Transaction) -> KernelResult:
        indicators = {
            (c.aid, c.kernel_id): preprocess(c, transaction.amount, transaction.currency)
            for c in self.config.combinations
        }
        if not any(i.allowed for i in indicators.values()):
            raise KernelStop(Outcome.TRY_ANOTHER_INTERFACE, "amount_not_allowed_contactless")
        try:
            ppse = ResponseApdu.decode(reader.transceive(apdu.select_ppse().encode()))
        except EmvError:
            raise KernelStop(Outcome.END_APPLICATION, "card_response_malformed") from None
        if not ppse.ok:
            raise KernelStop(Outcome.END_APPLICATION, "card_not_supported")
        allowed = tuple(i.combination for i in indicators.values() if i.allowed)
        try:
            ordered = candidates(ppse.data, allowed)
        except PpseError:
            raise KernelStop(Outcome.END_APPLICATION, "ppse_malformed") from None
        if not ordered:
            raise KernelStop(Outcome.END_APPLICATION, "card_not_supported")
        last = "card_not_supported"
        for candidate in ordered:
            combination = _combination_for(candidate, indicators)
            session = CardSession(reader, transaction, self.config, candidate, combination)
            try:
                return _complete(session, PATHS[candidate.kernel_id](session))
            except KernelStop as stop:
                if stop.outcome is not Outcome.SELECT_NEXT:
                    stop.tvr = bytes(session.tvr)
                    raise
                last = stop.reason
        # Every candidate failed: End Application, naming why the last one did (Book B 3.3.3).
        raise KernelStop(Outcome.END_APPLICATION, last)


def _combination_for(
    candidate: Candidate, indicators: dict[tuple[bytes, int], Indicators]
) -> Indicators:
    """The indicators of the configured combination a candidate matched (partial AIDs too)."""
    for (aid, kernel_id), found in indicators.items():
        if found.allowed and kernel_id == candidate.kernel_id and candidate.aid.startswith(aid):
            return found
    raise KernelStop(Outcome.SELECT_NEXT, "combination_not_allowed")


def _try_again(reason: str) -> KernelResult:
    return KernelResult(Outcome.TRY_AGAIN, reason, DEFAULT_UI[Outcome.TRY_AGAIN], restart=True)


def _complete(session: CardSession, decided: tuple[CryptogramType, Cvm]) -> KernelResult:
    """The outcome for the cryptogram the card returned, with the data record."""
    kind, cvm = decided
    card = session.card
    pan = session.pan()
    atc = card.get(Tag.ATC, b"")
    par = card.get(Tag.PAR)
    session.tsi.set(TsiBit.CARD_RISK_MANAGEMENT_PERFORMED)
    outcome = {
        CryptogramType.ARQC: Outcome.ONLINE_REQUEST,
        CryptogramType.TC: Outcome.APPROVED,
        CryptogramType.AAC: Outcome.DECLINED,
    }[kind]
    reason = {
        Outcome.ONLINE_REQUEST: "online_request",
        Outcome.APPROVED: "offline_approved",
        Outcome.DECLINED: "card_declined",
    }[outcome]
    record = {**card, **session.terminal, Tag.TSI: bytes(session.tsi)}
    data_record = b""
    if outcome is not Outcome.DECLINED:
        data_record = tlv.encode_many((tag, record[tag]) for tag in ONLINE_TAGS if tag in record)
    return KernelResult(
        outcome,
        reason,
        DEFAULT_UI[outcome],
        tvr=bytes(session.tvr),
        cvm=cvm,
        aid=session.candidate.aid,
        kernel_id=session.candidate.kernel_id,
        label=session.candidate.label,
        cryptogram_type=kind,
        oda_performed=TsiBit.ODA_PERFORMED in session.tsi,
        data_record=data_record,
        masked_pan=mask_pan(pan) if pan else None,
        par=par.decode("ascii", "replace") if par else None,
        atc=int.from_bytes(atc, "big") if len(atc) == 2 else None,
        card_data=dict(card),
    )
