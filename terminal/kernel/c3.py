"""Kernel 3 (Visa-style qVSDC, EMV Contactless Book C-3).

The card answers GET PROCESSING OPTIONS with everything: the cryptogram (9F26), its type
(9F27, or the CVR in the IAD), the ATC, the IAD, the Card Transaction Qualifiers (9F6C)
and, when it offers fDDA, the Signed Dynamic Application Data (9F4B) and Card
Authentication Related Data (9F69). The reader then reads the records and decides:

- GPO '6986': a phone asking the cardholder to look at it: Try Again, "See Phone", restart;
- GPO '6984': the card will not go on contactlessly: Try Another Interface;
- fDDA (Book C-3 5.8; Book 2 6.5 signature format) when the card returned an SDAD and the
  cryptogram is a TC, or an ARQC with TTQ "ODA for online authorizations" set. On failure
  the CTQ decides: "go online if ODA fails" continues online, "switch interface if ODA
  fails" gives Try Another Interface, otherwise Declined;
- CVM from the CTQ (Book C-3 5.7): CDCVM performed on the device, online PIN or signature
  as the card requires and the reader supports; if a CVM is required and none can be done,
  the transaction is declined;
- outcome by cryptogram type: AAC Declined, ARQC Online Request, TC Approved (offline,
  only with a successful fDDA).
"""

from __future__ import annotations

from emvcore.apdu import CryptogramType
from emvcore.contactless import (
    CTQ_CDCVM_PERFORMED,
    CTQ_ONLINE_IF_ODA_FAILS,
    CTQ_ONLINE_PIN_REQUIRED,
    CTQ_SIGNATURE_REQUIRED,
    CTQ_SWITCH_INTERFACE_IF_ODA_FAILS,
    FDDA_VERSION_01,
    SW_SEE_PHONE,
    SW_TRY_ANOTHER_INTERFACE,
    TTQ_ODA_FOR_ONLINE,
    TTQ_ONLINE_PIN,
    TTQ_SIGNATURE,
)
from emvcore.errors import OdaError
from emvcore.oda.dynamic import fdda_terminal_data, recover_dynamic_data
from emvcore.tags import Tag
from terminal.kernel import issuer_update
from terminal.kernel.completion import complete
from terminal.kernel.cvm import Cvm
from terminal.kernel.oda import icc_public_key, record_failure
from terminal.kernel.outcome import (
    PRESENT_CARD,
    SEE_PHONE,
    AlternateInterface,
    KernelResult,
    KernelStop,
    Outcome,
)
from terminal.kernel.registry import register
from terminal.kernel.session import CardSession, card_error
from terminal.kernel.tvr import TsiBit, TvrBit


@register(3, "C-3", resume=issuer_update.resume)
def activate(session: CardSession) -> KernelResult:
    """Kernel activation (Book B 3.4): the C-3 steps, then the Outcome parameter set."""
    return complete(session, *run(session))


def run(session: CardSession) -> tuple[CryptogramType, Cvm]:
    """The C-3 steps after SELECT; returns the card's cryptogram type and the CVM."""
    pdol = session.select()
    response = session.get_processing_options(pdol)
    if response.sw == SW_SEE_PHONE:
        raise KernelStop(Outcome.TRY_AGAIN, "see_phone", ui=SEE_PHONE, restart=True,
                         ui_on_restart=PRESENT_CARD)  # fmt: skip
    if response.sw == SW_TRY_ANOTHER_INTERFACE:
        raise KernelStop(Outcome.TRY_ANOTHER_INTERFACE, "card_requires_another_interface",
                         alternate_interface=AlternateInterface.CONTACT_CHIP)  # fmt: skip
    session.accept_gpo(response)
    session.read_records()
    session.require(Tag.APPLICATION_CRYPTOGRAM, Tag.ATC, Tag.IAD)
    if session.pan() is None:
        session.tvr.set(TvrBit.ICC_DATA_MISSING)
        raise card_error("pan_missing")
    session.check_dates()
    kind = cryptogram_type(session)
    if kind is None:
        raise card_error("cryptogram_type_unknown")
    if kind is CryptogramType.TC and session.indicators.online_required:
        raise card_error("unexpected_cryptogram")  # offline approval where online was required
    _fdda(session, kind)
    if kind is CryptogramType.AAC:
        return kind, Cvm.NONE
    return kind, _cvm(session)


def cryptogram_type(session: CardSession) -> CryptogramType | None:
    """CID b8-b7 (Book 3 Table 15); without a CID, the CVR in a Visa IAD (Book C-3 A.2)."""
    cid = session.card.get(Tag.CID)
    if cid is not None and len(cid) == 1:
        bits = cid[0] & 0xC0
    else:
        iad = session.card.get(Tag.IAD, b"")
        if len(iad) < 5 or iad[0] != 0x06:
            return None
        bits = ((iad[4] >> 4) & 0x03) << 6
    return CryptogramType(bits) if bits != 0xC0 else None


def _fdda(session: CardSession, kind: CryptogramType) -> None:
    """fDDA (Book C-3 5.8) where it applies; failures handled by the CTQ rules."""
    card, ttq = session.card, session.indicators.ttq
    sdad = card.get(Tag.SIGNED_DYNAMIC_APPLICATION_DATA)
    wanted = kind is CryptogramType.TC or (
        kind is CryptogramType.ARQC and ttq[0] & TTQ_ODA_FOR_ONLINE
    )
    if not wanted or (sdad is None and kind is not CryptogramType.TC):
        session.tvr.set(TvrBit.ODA_NOT_PERFORMED)
        return
    try:
        icc = icc_public_key(session)
        un = session.terminal[Tag.UNPREDICTABLE_NUMBER]
        card_auth_data = card.get(Tag.CARD_AUTHENTICATION_RELATED_DATA)
        if card_auth_data is None:
            terminal_data = un  # fDDA version 00: the unpredictable number alone (Book C-3)
        else:
            terminal_data = fdda_terminal_data(
                unpredictable_number=un,
                amount=session.terminal[Tag.AMOUNT_AUTHORISED],
                currency=session.terminal[Tag.TRANSACTION_CURRENCY_CODE],
                card_authentication_related_data=card_auth_data,
            )
        recover_dynamic_data(icc, sdad, terminal_data)
    except OdaError as exc:
        record_failure(session, exc, TvrBit.DDA_FAILED)
        session.tsi.set(TsiBit.ODA_PERFORMED)
        ctq = card.get(Tag.CTQ, b"")
        if len(ctq) != 2:  # absent or malformed: no CTQ rule applies, as in _cvm
            ctq = b"\x00\x00"
        if kind is CryptogramType.ARQC and ctq[0] & CTQ_ONLINE_IF_ODA_FAILS:
            return
        if ctq[0] & CTQ_SWITCH_INTERFACE_IF_ODA_FAILS:
            raise KernelStop(Outcome.TRY_ANOTHER_INTERFACE, f"fdda_failed:{exc.failure}") from None
        raise KernelStop(Outcome.DECLINED, f"fdda_failed:{exc.failure}") from None
    session.tsi.set(TsiBit.ODA_PERFORMED)


def _cvm(session: CardSession) -> Cvm:
    """CVM selection from the CTQ and TTQ (Book C-3 5.7)."""
    ttq = session.indicators.ttq
    ctq = session.card.get(Tag.CTQ)
    required = session.indicators.cvm_required
    if ctq is not None and len(ctq) == 2:
        if ctq[1] & CTQ_CDCVM_PERFORMED:
            # fDDA version 01 signs a copy of the CTQ in 9F69 (version, card UN, CTQ): a CTQ
            # that differs from it was changed on the way (Book C-3 5.7, CDCVM checks).
            related = session.card.get(Tag.CARD_AUTHENTICATION_RELATED_DATA, b"")
            if len(related) >= 7 and related[0] == FDDA_VERSION_01 and related[5:7] != ctq:
                session.tvr.set(TvrBit.CARDHOLDER_VERIFICATION_FAILED)
                raise KernelStop(Outcome.DECLINED, "cdcvm_not_confirmed")
            return Cvm.CDCVM
        if ctq[0] & CTQ_ONLINE_PIN_REQUIRED and ttq[0] & TTQ_ONLINE_PIN:
            return Cvm.ONLINE_PIN
        if ctq[0] & CTQ_SIGNATURE_REQUIRED and ttq[0] & TTQ_SIGNATURE:
            return Cvm.SIGNATURE
        if ctq[0] & (CTQ_ONLINE_PIN_REQUIRED | CTQ_SIGNATURE_REQUIRED):
            session.tvr.set(TvrBit.CARDHOLDER_VERIFICATION_FAILED)
            raise KernelStop(Outcome.DECLINED, "cvm_not_supported")
    elif required:
        if ttq[0] & TTQ_SIGNATURE:
            return Cvm.SIGNATURE
        if ttq[0] & TTQ_ONLINE_PIN:
            return Cvm.ONLINE_PIN
    if required:
        session.tvr.set(TvrBit.CARDHOLDER_VERIFICATION_FAILED)
        raise KernelStop(Outcome.DECLINED, "cvm_required_not_performed")
    return Cvm.NO_CVM
