"""The Outcome parameter set of an EMV kernel that has its cryptogram (Book A 6.2).

C-2 and C-3 both end the same way once the card has answered with a cryptogram: the
cryptogram type gives the outcome (ARQC Online Request, TC Approved, AAC Declined, Book
C-2 / C-3 "Outcome"), the data record carries the data the acquirer needs (Book A 6.2.1),
and the parameters say what the Entry Point does next:

- Online Request: Start D with Online Response Data "EMV data" (the issuer's 91/71/72 go
  back to the kernel, :mod:`terminal.kernel.issuer_update`), data record present;
- Approved: data record present, Receipt when the CVM is "obtain signature";
- Declined: no data record;
- UI Request on Outcome always present (the outcome's message), Alternate Interface
  Preference, Field Off Request and Removal Timeout N/A.
"""

from __future__ import annotations

from emvcore import tlv
from emvcore.apdu import CryptogramType
from emvcore.pan import mask_pan
from emvcore.tags import Tag
from terminal.kernel.cvm import Cvm
from terminal.kernel.outcome import (
    DEFAULT_UI,
    KernelResult,
    OnlineResponseData,
    Outcome,
    Start,
)
from terminal.kernel.session import CardSession
from terminal.kernel.tvr import TsiBit

#: Tags of the data record sent online (Book A 6.2.1; Book C-2 Annex B / C-3 Annex A).
ONLINE_TAGS: tuple[int, ...] = (
    0x9F02, 0x9F03, 0x9F1A, 0x95, 0x5F2A, 0x9A, 0x9C, 0x9F37, 0x82, 0x9F36, 0x9F26,
    0x9F27, 0x9F10, 0x5A, 0x57, 0x5F34, 0x5F24, 0x9F24, 0x84, 0x9F33, 0x9F35, 0x9F34,
    0x9F66, 0x9F6C, 0x9F6E, 0x9F1E, 0x9F21, 0x9F69, 0x9B, 0x9F06, 0x9F41,
)  # fmt: skip

_OUTCOMES = {
    CryptogramType.ARQC: (Outcome.ONLINE_REQUEST, "online_request"),
    CryptogramType.TC: (Outcome.APPROVED, "offline_approved"),
    CryptogramType.AAC: (Outcome.DECLINED, "card_declined"),
}


def complete(session: CardSession, kind: CryptogramType, cvm: Cvm) -> KernelResult:
    """The outcome for the cryptogram the card returned, with the data record."""
    card = session.card
    pan = session.pan()
    atc = card.get(Tag.ATC, b"")
    par = card.get(Tag.PAR)
    session.tsi.set(TsiBit.CARD_RISK_MANAGEMENT_PERFORMED)
    outcome, reason = _OUTCOMES[kind]
    record = {**card, **session.terminal, Tag.TSI: bytes(session.tsi)}
    data_record = b""
    if outcome is not Outcome.DECLINED:
        data_record = tlv.encode_many((tag, record[tag]) for tag in ONLINE_TAGS if tag in record)
    online = outcome is Outcome.ONLINE_REQUEST
    return KernelResult(
        outcome,
        reason,
        DEFAULT_UI[outcome],
        tvr=bytes(session.tvr),
        cvm=cvm,
        start=Start.D if online else Start.NA,
        online_response_data=OnlineResponseData.EMV_DATA if online else OnlineResponseData.NA,
        receipt=cvm is Cvm.SIGNATURE and outcome is not Outcome.DECLINED,
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
