"""Kernel 2 (Mastercard-style M/Chip, EMV Contactless Book C-2).

After GET PROCESSING OPTIONS and the records, the terminal does the EMV work itself:

1. offline data authentication: CDA when the AIP offers it (b1) and the terminal supports
   it; the issuer and ICC keys are recovered before GENERATE AC, the signature checked on
   its response (Book 2 6.6). A failure before GENERATE AC sets "CDA failed", CDA is not
   requested and terminal action analysis decides (Book 4 6.3.2.1): the shipped TAC-Denial
   asks for an AAC, declined as ``cda_failed:<failure>``; a failure on the response declines;
2. processing restrictions: expiry and effective dates (Book 3 10.4);
3. cardholder verification: on-device CVM for a phone above the CVM Required Limit (AIP
   byte 1 b2), otherwise the CVM List (Book 3 10.5), with the terminal's CVM capability
   depending on the limit (C-2: "CVM Capability – CVM Required / No CVM Required");
4. terminal risk management: floor limit (Book 3 10.6);
5. terminal action analysis with TAC/IAC (Book 3 10.7) -> GENERATE AC with CDOL1;
6. outcome: ARQC Online Request, TC Approved, AAC Declined, or "See Phone" when a phone
   declines asking for on-device verification (POS Cardholder Interaction Information,
   DF4B, Book C-2).
"""

from __future__ import annotations

from emvcore import apdu, tlv
from emvcore.apdu import CDA_REQUESTED, CryptogramType
from emvcore.contactless import CDCVM_RESULTS, TAG_POS_CARDHOLDER_INTERACTION
from emvcore.dol import build_dol_data, parse_dol
from emvcore.errors import EmvError, OdaError
from emvcore.numeric import decode_n
from emvcore.oda.certificates import RecoveredKey
from emvcore.oda.dynamic import cda_response_data, cda_transaction_data_hash, verify_cda
from emvcore.tags import Tag
from terminal.kernel import issuer_update
from terminal.kernel.completion import complete
from terminal.kernel.cvm import Cvm, TerminalCvms, process_cvm_list
from terminal.kernel.oda import icc_public_key, record_failure
from terminal.kernel.outcome import PRESENT_CARD, SEE_PHONE, KernelResult, KernelStop, Outcome
from terminal.kernel.registry import register
from terminal.kernel.session import CardSession, card_error
from terminal.kernel.taa import terminal_action_analysis
from terminal.kernel.tvr import TsiBit, TvrBit

AIP_CARDHOLDER_VERIFICATION = 0x10  # byte 1 b5
AIP_ON_DEVICE_CVM = 0x02  # byte 1 b2 (Book C-2)
AIP_CDA = 0x01  # byte 1 b1
#: POS Cardholder Interaction Information byte 2 bits asking for on-device CVM (Book C-2).
PCII_SEE_PHONE_MASK = 0x03
#: Order of cryptogram types: a card may answer with the type asked for or a lower one
#: (Book 3 6.5.5.4, Table 13).
_RANK = {CryptogramType.AAC: 0, CryptogramType.ARQC: 1, CryptogramType.TC: 2}


@register(2, "C-2", resume=issuer_update.resume)
def activate(session: CardSession) -> KernelResult:
    """Kernel activation (Book B 3.4): the C-2 steps, then the Outcome parameter set."""
    return complete(session, *run(session))


def run(session: CardSession) -> tuple[CryptogramType, Cvm]:
    """The C-2 steps after SELECT; returns the card's cryptogram type and the CVM."""
    pdol = session.select()
    session.accept_gpo(session.get_processing_options(pdol))
    session.require(Tag.AFL)  # mandatory in the GPO response (Book 3 6.5.8.4)
    session.read_records()
    session.require(Tag.PAN, Tag.APPLICATION_EXPIRATION_DATE, Tag.CDOL1)
    aip = session.card[Tag.AIP]
    icc_key, oda_failure = _prepare_cda(session, aip)
    session.check_dates()
    cvm = _cardholder_verification(session, aip)
    if session.indicators.floor_limit_exceeded:
        session.tvr.set(TvrBit.FLOOR_LIMIT_EXCEEDED)
    session.tsi.set(TsiBit.TERMINAL_RISK_MANAGEMENT_PERFORMED)
    config, card = session.config, session.card
    requested = terminal_action_analysis(
        bytes(session.tvr),
        tac_denial=config.tac_denial,
        tac_online=config.tac_online,
        tac_default=config.tac_default,
        iac_denial=card.get(Tag.IAC_DENIAL),
        iac_online=card.get(Tag.IAC_ONLINE),
        iac_default=card.get(Tag.IAC_DEFAULT),
        online_only=config.online_only,
    )
    kind = _generate_ac(session, requested, icc_key)
    if kind is CryptogramType.AAC:
        pcii = card.get(TAG_POS_CARDHOLDER_INTERACTION, b"")
        if len(pcii) >= 2 and pcii[1] & PCII_SEE_PHONE_MASK:
            raise KernelStop(Outcome.TRY_AGAIN, "see_phone", ui=SEE_PHONE, restart=True,
                         ui_on_restart=PRESENT_CARD)  # fmt: skip
        if requested is CryptogramType.AAC and oda_failure is not None:
            raise KernelStop(Outcome.DECLINED, f"cda_failed:{oda_failure}")
    elif _RANK[kind] > _RANK[requested]:
        raise card_error("unexpected_cryptogram")  # a card may not return more than asked
    return kind, cvm


def _prepare_cda(session: CardSession, aip: bytes) -> tuple[RecoveredKey | None, str | None]:
    """The ICC key for CDA, or None and why ODA failed, if it did (Book 2 6.6, Book 3 10.3)."""
    if not (aip[0] & AIP_CDA and session.config.cda_supported):
        session.tvr.set(TvrBit.ODA_NOT_PERFORMED)
        return None, None
    try:
        return icc_public_key(session), None
    except OdaError as exc:
        record_failure(session, exc, TvrBit.CDA_FAILED)
        session.tsi.set(TsiBit.ODA_PERFORMED)
        return None, str(exc.failure)


def _cardholder_verification(session: CardSession, aip: bytes) -> Cvm:
    """On-device CVM or the CVM List, with the capability the CVM Required Limit sets."""
    required = session.indicators.cvm_required
    if not aip[0] & AIP_CARDHOLDER_VERIFICATION:
        session.terminal[Tag.CVM_RESULTS] = bytes.fromhex("3F0000")
        return Cvm.NONE
    session.tsi.set(TsiBit.CARDHOLDER_VERIFICATION_PERFORMED)
    if required and aip[0] & AIP_ON_DEVICE_CVM:
        session.terminal[Tag.CVM_RESULTS] = CDCVM_RESULTS
        return Cvm.CDCVM
    config, card = session.config, session.card
    terminal = (
        TerminalCvms(signature=config.signature_supported, online_pin=config.online_pin_supported,
                     no_cvm=False)
        if required
        else TerminalCvms(signature=False, online_pin=False, no_cvm=config.no_cvm_supported)
    )  # fmt: skip
    try:
        app_currency = card.get(Tag.APPLICATION_CURRENCY_CODE)
        same_currency = app_currency is not None and decode_n(app_currency) == decode_n(
            session.terminal[Tag.TRANSACTION_CURRENCY_CODE]
        )
    except EmvError:
        raise card_error("currency_malformed") from None
    outcome = process_cvm_list(
        card.get(Tag.CVM_LIST, b""),
        amount=session.transaction.amount,
        in_application_currency=same_currency,
        transaction_type=session.transaction.transaction_type,
        terminal=terminal,
    )
    session.tvr.set(*outcome.tvr_bits)
    session.terminal[Tag.CVM_RESULTS] = outcome.results
    return outcome.cvm


def _generate_ac(
    session: CardSession, requested: CryptogramType, icc_key: RecoveredKey | None
) -> CryptogramType:
    """GENERATE AC with CDOL1 (Book 3 6.5.5), CDA requested when the ICC key is in hand."""
    try:
        cdol1_data = build_dol_data(parse_dol(session.card[Tag.CDOL1]), session.data_for_dol())
    except EmvError:
        raise card_error("cdol1_malformed") from None
    session.terminal[Tag.TVR] = bytes(session.tvr)
    p1 = requested | (CDA_REQUESTED if icc_key is not None else 0)
    try:
        command = apdu.generate_ac(p1, cdol1_data)
    except EmvError:  # CDOL1 asks for more than a short Lc carries (Book 3 6.5.5)
        raise card_error("cdol1_malformed") from None
    response = session.send(command)
    if not response.ok:
        raise card_error("generate_ac_failed")
    try:
        template = tlv.decode_one(response.data)
        if template.tag == 0x80 and len(template.value) >= 11 and icc_key is None:
            v = template.value
            found: dict[int, bytes] = {
                Tag.CID: v[:1],
                Tag.ATC: v[1:3],
                Tag.APPLICATION_CRYPTOGRAM: v[3:11],
            }
            if len(v) > 11:
                found[Tag.IAD] = v[11:]
        elif template.tag == 0x77:
            found = tlv.flatten(template.value, unique=True)
        else:
            raise card_error("generate_ac_malformed")
    except EmvError:
        raise card_error("generate_ac_malformed") from None
    cid = found.get(Tag.CID)
    if cid is None or len(cid) != 1 or len(found.get(Tag.ATC, b"")) != 2:
        raise card_error("generate_ac_malformed")
    if icc_key is not None and cid[0] & 0xC0 != CryptogramType.AAC:
        # A declining card does not sign (Book 2 6.6.1): its AAC comes in clear.
        found[Tag.APPLICATION_CRYPTOGRAM] = _verify_cda(
            session, icc_key, template.value, cid[0], cdol1_data
        )
    session.merge({t: v for t, v in found.items() if t != Tag.SIGNED_DYNAMIC_APPLICATION_DATA})
    if len(session.card.get(Tag.APPLICATION_CRYPTOGRAM, b"")) != 8:
        raise card_error("cryptogram_missing")
    bits = cid[0] & 0xC0
    if bits == 0xC0:
        raise card_error("cryptogram_type_unknown")
    return CryptogramType(bits)


def _verify_cda(
    session: CardSession, icc_key: RecoveredKey, template_value: bytes, cid: int, cdol1_data: bytes
) -> bytes:
    """Check the SDAD of a GENERATE AC response and return the AC it carries (Book 2 6.6.2).

    The hash covers the response's other data objects exactly as the card sent them.
    """
    sdad = tlv.find(template_value, Tag.SIGNED_DYNAMIC_APPLICATION_DATA)
    others = cda_response_data(template_value)
    session.tsi.set(TsiBit.ODA_PERFORMED)
    try:
        result = verify_cda(
            icc_key,
            sdad,
            unpredictable_number=session.terminal[Tag.UNPREDICTABLE_NUMBER],
            cid=cid,
            transaction_data_hash=cda_transaction_data_hash(session.pdol_data, cdol1_data, others),
        )
    except OdaError as exc:
        record_failure(session, exc, TvrBit.CDA_FAILED)
        raise KernelStop(Outcome.DECLINED, f"cda_failed:{exc.failure}") from None
    return result.ac
