"""An EMV contactless payment application as an APDU state machine.

One object, one method: :meth:`EmvApplet.process_apdu` takes a command APDU and returns the
response APDU, exactly as a chip does. The transports (in-process loopback, vpcd, nfcpy
target) wrap this one object and know nothing of EMV.

State machine (EMV Book 3 section 10 and Book C-2/C-3 card behaviour)::

    IDLE --SELECT PPSE--> PPSE_SELECTED --SELECT AID--> APP_SELECTED --GPO--> INITIATED
    INITIATED --READ RECORD--> INITIATED --GENERATE AC (ARQC)--> CRYPTOGRAM_ISSUED
    CRYPTOGRAM_ISSUED --EXTERNAL AUTHENTICATE--> FINISHED
    (qVSDC: GPO itself issues the ARQC, INITIATED carries it)

Status words (ISO/IEC 7816-4 5.1.3, EMV Book 3 6.3.5 and 6.5): a class byte the card does
not use answers ``6E00``, an unknown instruction ``6D00``, bad P1/P2 ``6A86``, an
inconsistent Lc or data field ``6700``, a command out of order ``6985`` (conditions of use
not satisfied), READ RECORD of an SFI the card does not have ``6A82`` and of a missing
record in one it has ``6A83``, GET DATA of an object it does not hold ``6A88``.

Le is honoured (ISO/IEC 7816-4 5.1 and 5.3.4, EMV Book 1 9.2.2.3): a response never carries
more than Ne bytes. When Le asks for fewer bytes than the response has, the card answers
``6Cxx`` with the exact length and the command leaves the transaction state as it found it,
so the terminal can re-send it with Le = xx (the ATC, once moved, stays moved: a real
card's counter never goes back). A command with data to return and no Le field at all
(Ne = 0) is answered ``61xx`` and its data is fetched with GET RESPONSE. Nothing raises out
of ``process_apdu``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from enum import Enum, auto
from typing import ClassVar

from cryptography.hazmat.primitives.asymmetric import rsa

from card_emulation.image import CardImage, Fault
from card_emulation.profiles import Profile, profile
from card_emulation.records import afl, application_fci, build_records, ppse_fci
from card_emulation.scripts import ScriptState, process_script_command
from emvcore import tlv
from emvcore.apdu import CDA_REQUESTED, PPSE_NAME, SW, CommandApdu, CryptogramType, Ins
from emvcore.contactless import (
    CDCVM_RESULTS,
    CTQ_CDCVM_PERFORMED,
    CTQ_ONLINE_PIN_REQUIRED,
    CTQ_SIGNATURE_REQUIRED,
    FDDA_VERSION_01,
    PCII_OD_CVM_REQUIRED,
    SW_SEE_PHONE,
    TAG_POS_CARDHOLDER_INTERACTION,
    TTQ_CVM_REQUIRED,
    TTQ_ONLINE_PIN,
    TTQ_SIGNATURE,
)
from emvcore.crypto.cvn import CryptogramVersion, cryptogram_version
from emvcore.dol import DolEntry, dol_data_length, parse_dol, split_dol_data
from emvcore.errors import EmvError
from emvcore.issuer_scripts import ScriptIns
from emvcore.oda.dynamic import (
    cda_icc_dynamic_data,
    cda_transaction_data_hash,
    fdda_icc_dynamic_data,
    fdda_terminal_data,
    sign_dynamic_data,
)
from emvcore.pan import encode_track2
from emvcore.tags import Tag

#: Card Verification Results byte 1, b8-b7 "second GENERATE AC not requested" (10) and
#: b6-b5 the type of the cryptogram issued (Visa VIS / M/Chip CVR layout).
_CVR_BYTE1 = {CryptogramType.ARQC: 0xA0, CryptogramType.TC: 0x90, CryptogramType.AAC: 0x80}
_CVR_LENGTH = {"visa": 3, "mastercard": 6}
#: POS Cardholder Interaction Information a phone returns to ask for its holder.
PCII_SEE_PHONE = bytes([0x00, PCII_OD_CVM_REQUIRED, 0x00])

#: Terminal data a cryptogram covers, with lengths; what a DOL did not ask for is zeros
#: (Book 3 5.4).
_AC_TERMINAL_DATA = {
    0x9F02: 6,
    0x9F03: 6,
    0x9F1A: 2,
    0x95: 5,
    0x5F2A: 2,
    0x9A: 3,
    0x9C: 1,
    0x9F37: 4,
}


class State(Enum):
    """Where the application is in a transaction."""

    IDLE = auto()
    PPSE_SELECTED = auto()
    APP_SELECTED = auto()
    INITIATED = auto()
    CRYPTOGRAM_ISSUED = auto()
    FINISHED = auto()


#: The class bytes this card answers to (interindustry 00, proprietary 80, and with secure
#: messaging 04/84 for issuer script commands; no logical channels): any other is ``6E00``.
_CLASSES = frozenset({0x00, 0x80, 0x04, 0x84})
#: What a command may change of the transaction, restored when it is refused with ``6Cxx``.
_TRANSACTION_FIELDS = (
    "state", "_terminal_data", "_pdol_data", "_ac_data", "_arqc", "holder_verified",
)  # fmt: skip
#: Most data one response can carry: Ne 256 for a short Le '00' (ISO/IEC 7816-4 5.1).
_SHORT_NE = 256


def _sw(sw: int, data: bytes = b"") -> bytes:
    return data + sw.to_bytes(2, "big")


def _more(remaining: int) -> bytes:
    """``61xx``: xx more bytes to fetch with GET RESPONSE ('00' meaning 256 or more)."""
    return bytes([0x61, min(remaining, _SHORT_NE) & 0xFF])


class EmvApplet:
    """A personalized contactless EMV application answering APDUs.

    ``on_atc`` is called with the updated card image each time the ATC moves, before the
    response leaves the card, so the caller can persist it (see :class:`.store.CardStore`).
    """

    def __init__(
        self, card: CardImage, *, on_atc: Callable[[CardImage], None] | None = None
    ) -> None:
        self.card = card
        self.profile: Profile = profile(card.profile)
        self.cvn: CryptogramVersion = cryptogram_version(self.profile.cryptogram_version)
        self._on_atc = on_atc
        self._pdol: tuple[DolEntry, ...] = parse_dol(self.profile.pdol)
        self._cdol1: tuple[DolEntry, ...] = parse_dol(self.profile.cdol1)
        self._records = build_records(card, self.profile)
        self._ppse_fci_data = ppse_fci(self.profile)
        self._application_fci_data = application_fci(self.profile)
        self._afl = afl(self.profile)
        self._icc_key: rsa.RSAPrivateKey | None = None
        self.state = State.IDLE
        self._terminal_data: dict[int, bytes] = {}
        self._pdol_data = b""
        self._ac_data: dict[int, bytes] = {}
        self._arqc: bytes | None = None
        #: A phone's holder has unlocked it (cleared once a CDCVM transaction used it).
        self.holder_verified = False
        #: Response data waiting for GET RESPONSE after a ``61xx``.
        self._pending = b""
        #: What issuer script commands changed (:mod:`card_emulation.scripts`).
        self.scripts = ScriptState()

    # -- the one entry point -------------------------------------------------------------

    def process_apdu(self, apdu: bytes) -> bytes:
        """Answer one command APDU with a response APDU (data || SW1 SW2)."""
        pending, self._pending = self._pending, b""
        try:
            command = CommandApdu.decode(bytes(apdu))
        except EmvError:
            return _sw(SW.WRONG_LENGTH)
        if command.cla not in _CLASSES:
            return _sw(SW.CLA_NOT_SUPPORTED)
        if command.ins == Ins.GET_RESPONSE and command.cla == 0x00:
            return self._get_response(command, pending)
        handler = self._handlers.get(command.ins)
        if handler is None:
            return _sw(SW.INS_NOT_SUPPORTED)
        expected_cla, method = handler
        if command.cla != expected_cla:
            return _sw(SW.CLA_NOT_SUPPORTED)
        saved = self._transaction_state()
        try:
            response = method(self, command)
        except EmvError:
            response = _sw(SW.WRONG_DATA)
        data, sw = response[:-2], response[-2:]
        if not data:
            return response
        if command.le is None:
            # Ne = 0: no data may come back in this response; announce it (ISO/IEC 7816-4 5.1).
            self._pending = data
            return _more(len(data))
        if len(data) > command.le:
            if len(data) > _SHORT_NE:
                self._pending = data[command.le :]
                return data[: command.le] + _more(len(self._pending))
            # Wrong Le: the command is refused, the state restored, the exact length given.
            self._restore(saved)
            return bytes([0x6C, len(data) & 0xFF])
        return data + sw

    def reset(self) -> None:
        """Power-on or field reset: the transaction state goes, the ATC stays."""
        self.state = State.IDLE
        self._terminal_data = {}
        self._pdol_data = b""
        self._ac_data = {}
        self._arqc = None
        self._pending = b""

    def _transaction_state(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in _TRANSACTION_FIELDS}

    def _restore(self, saved: dict[str, object]) -> None:
        """Undo a refused command's effect on the transaction (never on the ATC)."""
        for name, value in saved.items():
            setattr(self, name, value)

    def _get_response(self, command: CommandApdu, pending: bytes) -> bytes:
        """GET RESPONSE (ISO/IEC 7816-4 7.6.1): the next part of data announced by ``61xx``."""
        if command.p1 or command.p2:
            self._pending = pending
            return _sw(SW.INCORRECT_P1P2)
        if command.data:
            self._pending = pending
            return _sw(SW.WRONG_LENGTH)
        if not pending:
            return _sw(SW.CONDITIONS_NOT_SATISFIED)
        ne = command.le or 0
        if ne >= len(pending):
            return _sw(SW.OK, pending)
        if ne == 0:
            self._pending = pending
            return _more(len(pending))
        self._pending = pending[ne:]
        return pending[:ne] + _more(len(self._pending))

    # -- commands ------------------------------------------------------------------------

    def _select(self, command: CommandApdu) -> bytes:
        """SELECT by DF name (Book 1 11.3, Book B 3.3): PPSE or the application."""
        if command.p1 != 0x04 or command.p2 not in (0x00, 0x02):
            return _sw(SW.INCORRECT_P1P2)
        name = command.data
        if len(name) > 16:
            return _sw(SW.WRONG_LENGTH)  # a DF name is 1 to 16 bytes (ISO/IEC 7816-4 8.2.1.2)
        if name == PPSE_NAME and command.p2 == 0x00:
            self.reset()
            self.state = State.PPSE_SELECTED
            return _sw(SW.OK, self._ppse_fci_data)
        aid = self.profile.aid
        # Partial name matching (ISO/IEC 7816-4 5.3.1.1): a 5..16-byte prefix selects.
        if command.p2 == 0x00 and 5 <= len(name) <= len(aid) and aid.startswith(name):
            if self.scripts.card_blocked:
                return _sw(SW.FUNCTION_NOT_SUPPORTED)  # card blocked (Book 1 12.3.2)
            self.reset()
            self.state = State.APP_SELECTED
            # An application blocked by script: selected with 6283 (Book 1 12.3.2).
            sw = SW.WARNING_SELECTED_FILE_INVALIDATED if self.scripts.application_blocked else SW.OK
            return _sw(sw, self._application_fci_data)
        return _sw(SW.FILE_NOT_FOUND)

    def _get_processing_options(self, command: CommandApdu) -> bytes:
        """GET PROCESSING OPTIONS (Book 3 6.5.8): PDOL data in, AIP and AFL out."""
        if self.state is not State.APP_SELECTED or self.scripts.application_blocked:
            return _sw(SW.CONDITIONS_NOT_SATISFIED)
        if command.p1 != 0 or command.p2 != 0:
            return _sw(SW.INCORRECT_P1P2)
        if not command.data:
            return _sw(SW.WRONG_LENGTH)  # a case 4 command: the 83 template is mandatory
        template = tlv.decode_one(command.data)
        if template.tag != 0x83:
            return _sw(SW.WRONG_DATA)
        if len(template.value) != dol_data_length(self._pdol):
            return _sw(SW.WRONG_LENGTH)
        self._terminal_data = split_dol_data(self._pdol, template.value)
        self._pdol_data = template.value
        ctq = self.profile.ctq
        ttq = self._terminal_data.get(Tag.TTQ, bytes(4))
        if self.profile.cryptogram_in_gpo and len(ttq) == 4 and ttq[1] & TTQ_CVM_REQUIRED:
            if self.profile.consumer_device:
                if not self.holder_verified:
                    # The phone shows its prompt; the holder unlocks it and taps again.
                    self.holder_verified = True
                    return _sw(SW_SEE_PHONE)
                self.holder_verified = False
                ctq = bytes([ctq[0], ctq[1] | CTQ_CDCVM_PERFORMED])
            elif ttq[0] & TTQ_ONLINE_PIN:
                ctq = bytes([ctq[0] | CTQ_ONLINE_PIN_REQUIRED, ctq[1]])
            elif ttq[0] & TTQ_SIGNATURE:
                ctq = bytes([ctq[0] | CTQ_SIGNATURE_REQUIRED, ctq[1]])
        self.state = State.INITIATED
        items: list[tuple[int, bytes]] = [(Tag.AIP, self.profile.aip), (Tag.AFL, self._afl)]
        if self.profile.cryptogram_in_gpo:
            issued = self._issue_cryptogram(CryptogramType.ARQC, self._terminal_data)
            if issued is None:
                self.state = State.APP_SELECTED
                return _sw(SW.CONDITIONS_NOT_SATISFIED)
            track2 = encode_track2(self.card.token, self.card.expiry)
            items += [(Tag.TRACK2, track2), *issued, (Tag.CTQ, ctq)]
            if self.card.oda is not None:
                items += self._fdda(ctq)
        return _sw(SW.OK, tlv.encode(0x77, tlv.encode_many(items)))

    def _read_record(self, command: CommandApdu) -> bytes:
        """READ RECORD (Book 3 6.5.11) of a record the AFL names."""
        if self.state not in (State.INITIATED, State.CRYPTOGRAM_ISSUED):
            return _sw(SW.CONDITIONS_NOT_SATISFIED)
        if command.data:
            return _sw(SW.WRONG_LENGTH)  # a case 2 command: no data field
        sfi = command.p2 >> 3
        if command.p2 & 0x07 != 0x04 or sfi == 31:
            return _sw(SW.INCORRECT_P1P2)  # only "record P1" of an SFI; SFI 31 is RFU
        if sfi == 0:
            return _sw(SW.COMMAND_NOT_ALLOWED)  # "current EF": this card selects none
        if not any(key[0] == sfi for key in self._records):
            return _sw(SW.FILE_NOT_FOUND)
        record = self._records.get((sfi, command.p1))
        if record is None:
            return _sw(SW.RECORD_NOT_FOUND)
        return _sw(SW.OK, record)

    def _generate_ac(self, command: CommandApdu) -> bytes:
        """First GENERATE AC (Book 3 6.5.5) with CDOL1 data; this card is online-only."""
        if self.profile.cryptogram_in_gpo or self.state is not State.INITIATED:
            return _sw(SW.CONDITIONS_NOT_SATISFIED)
        if command.p1 & 0x2F or command.p2 != 0:
            return _sw(SW.INCORRECT_P1P2)
        if len(command.data) != dol_data_length(self._cdol1):
            return _sw(SW.WRONG_LENGTH)
        requested = CryptogramType(command.p1 & 0xC0) if command.p1 & 0xC0 != 0xC0 else None
        if requested is None:
            return _sw(SW.INCORRECT_P1P2)
        # Online-only card: a TC request is answered with an ARQC (Book 3 Table 12).
        issue = CryptogramType.AAC if requested is CryptogramType.AAC else CryptogramType.ARQC
        cdol1_data = split_dol_data(self._cdol1, command.data)
        data = {**self._terminal_data, **cdol1_data}
        see_phone = (
            self.profile.consumer_device
            and cdol1_data.get(Tag.CVM_RESULTS) == CDCVM_RESULTS
            and not self.holder_verified
        )
        if see_phone:
            self.holder_verified = True  # the holder unlocks the phone and taps again
            issue = CryptogramType.AAC
        elif cdol1_data.get(Tag.CVM_RESULTS) == CDCVM_RESULTS:
            self.holder_verified = False
        issued = self._issue_cryptogram(issue, data)
        if issued is None:
            return _sw(SW.CONDITIONS_NOT_SATISFIED)
        if see_phone:
            issued.append((TAG_POS_CARDHOLDER_INTERACTION, PCII_SEE_PHONE))
        if (
            command.p1 & CDA_REQUESTED
            and self.card.oda is not None
            and issue is not CryptogramType.AAC
        ):
            issued = self._cda(issued, command.data, cdol1_data)
        return _sw(SW.OK, tlv.encode(0x77, tlv.encode_many(issued)))

    def _get_data(self, command: CommandApdu) -> bytes:
        """GET DATA (Book 3 6.5.7): the ATC; other proprietary objects are not held."""
        if self.state is State.IDLE:
            return _sw(SW.CONDITIONS_NOT_SATISFIED)
        if command.data:
            return _sw(SW.WRONG_LENGTH)  # a case 2 command: no data field
        tag = (command.p1 << 8) | command.p2
        if tag == Tag.ATC:
            return _sw(SW.OK, tlv.encode(Tag.ATC, self.card.atc.to_bytes(2, "big")))
        if tag in self.scripts.issuer_data:  # written by an issuer script's PUT DATA
            return _sw(SW.OK, tlv.encode(tag, self.scripts.issuer_data[tag]))
        return _sw(SW.REFERENCED_DATA_NOT_FOUND)

    def _external_authenticate(self, command: CommandApdu) -> bytes:
        """EXTERNAL AUTHENTICATE (Book 3 6.5.4): the card checks the issuer's ARPC (tag 91)."""
        if self._arqc is None or self.state not in (State.INITIATED, State.CRYPTOGRAM_ISSUED):
            return _sw(SW.CONDITIONS_NOT_SATISFIED)
        if command.p1 or command.p2:
            return _sw(SW.INCORRECT_P1P2)
        if not 8 <= len(command.data) <= 16:
            return _sw(SW.WRONG_LENGTH)
        self.state = State.FINISHED
        good = self.cvn.verify_issuer_authentication_data(
            self.card.icc_mk, self._ac_data, self._arqc, command.data
        )
        return _sw(SW.OK if good else SW.VERIFICATION_FAILED)

    def _script_command(self, command: CommandApdu) -> bytes:
        """An issuer script command under secure messaging (:mod:`card_emulation.scripts`)."""
        return process_script_command(self.scripts, command, icc_mk_smi=self.card.icc_mk_smi,
                                      atc=self.card.atc, arqc=self._arqc)  # fmt: skip

    _handlers: ClassVar[dict[int, tuple[int, Callable[[EmvApplet, CommandApdu], bytes]]]] = {
        Ins.SELECT: (0x00, _select),
        Ins.GET_PROCESSING_OPTIONS: (0x80, _get_processing_options),
        Ins.READ_RECORD: (0x00, _read_record),
        Ins.GENERATE_AC: (0x80, _generate_ac),
        Ins.GET_DATA: (0x80, _get_data),
        Ins.EXTERNAL_AUTHENTICATE: (0x00, _external_authenticate),
        ScriptIns.APPLICATION_BLOCK: (0x84, _script_command),
        ScriptIns.APPLICATION_UNBLOCK: (0x84, _script_command),
        ScriptIns.CARD_BLOCK: (0x84, _script_command),
        ScriptIns.PIN_CHANGE_UNBLOCK: (0x84, _script_command),
        ScriptIns.PUT_DATA: (0x04, _script_command),
    }

    # -- cryptograms ---------------------------------------------------------------------

    def issue_arqc(self, terminal_data: Mapping[int, bytes]) -> list[tuple[int, bytes]] | None:
        """An ARQC over ``terminal_data`` outside a tap: a phone wallet paying online.

        The same cryptogram a GPO or GENERATE AC issues (ATC moved and persisted first, the
        profile's IAD, the card's faults applied), over terminal data the caller supplies,
        e.g. a checkout session's (:func:`emvcore.tapmode.session_transaction_data`).
        Returns CID, ATC, AC and IAD as (tag, value) pairs, ``None`` when the ATC is
        exhausted; the applet is left in its power-on state.
        """
        issued = self._issue_cryptogram(CryptogramType.ARQC, dict(terminal_data))
        self.reset()
        return issued

    def _issue_cryptogram(
        self, kind: CryptogramType, terminal_data: dict[int, bytes]
    ) -> list[tuple[int, bytes]] | None:
        """Move the ATC, persist it, compute the AC; ``None`` when the ATC is exhausted."""
        if self.card.atc >= self.profile.atc_limit:
            return None
        self.card = self.card.with_atc(self.card.atc + 1)
        if self._on_atc is not None:
            self._on_atc(self.card)
        atc = self.card.atc.to_bytes(2, "big")
        cvr = bytes([_CVR_BYTE1[kind]]) + bytes(_CVR_LENGTH[self.profile.scheme] - 1)
        iad = self.cvn.build_iad(dki=self.card.dki, cvr=cvr)
        data = {tag: terminal_data.get(tag) or bytes(n) for tag, n in _AC_TERMINAL_DATA.items()}
        data.update({Tag.AIP: self.profile.aip, Tag.ATC: atc, Tag.IAD: iad})
        ac = self.cvn.generate_ac(self.card.icc_mk, data)
        if Fault.TAMPER_CRYPTOGRAM in self.card.faults:
            ac = bytes([ac[0] ^ 0x01]) + ac[1:]
        self._ac_data = data
        self._arqc = ac if kind is CryptogramType.ARQC else None
        self.state = (
            State.CRYPTOGRAM_ISSUED if not self.profile.cryptogram_in_gpo else State.INITIATED
        )
        return [
            (Tag.CID, bytes([kind])),
            (Tag.ATC, atc),
            (Tag.APPLICATION_CRYPTOGRAM, ac),
            (Tag.IAD, iad),
        ]

    # -- offline data authentication ----------------------------------------------------

    def _private_key(self) -> rsa.RSAPrivateKey:
        if self._icc_key is None:
            assert self.card.oda is not None
            self._icc_key = self.card.oda.private_key()
        return self._icc_key

    def _sign(self, icc_dynamic_data: bytes, terminal_dynamic_data: bytes) -> bytes:
        sdad = sign_dynamic_data(self._private_key(), icc_dynamic_data, terminal_dynamic_data)
        if Fault.TAMPER_SIGNATURE in self.card.faults:
            sdad = sdad[:-1] + bytes([sdad[-1] ^ 0x01])
        return sdad

    def _fdda(self, ctq: bytes) -> list[tuple[int, bytes]]:
        """fDDA (Book C-3 5.8): sign the UN, amount, currency and 9F69 in the GPO response."""
        card_un = os.urandom(4)
        card_auth_data = bytes([FDDA_VERSION_01]) + card_un + ctq
        terminal = fdda_terminal_data(
            unpredictable_number=self._terminal_data.get(Tag.UNPREDICTABLE_NUMBER, bytes(4)),
            amount=self._terminal_data.get(Tag.AMOUNT_AUTHORISED, bytes(6)),
            currency=self._terminal_data.get(Tag.TRANSACTION_CURRENCY_CODE, bytes(2)),
            card_authentication_related_data=card_auth_data,
        )
        sdad = self._sign(fdda_icc_dynamic_data(card_un), terminal)
        return [
            (Tag.SIGNED_DYNAMIC_APPLICATION_DATA, sdad),
            (Tag.CARD_AUTHENTICATION_RELATED_DATA, card_auth_data),
        ]

    def _cda(
        self, issued: list[tuple[int, bytes]], cdol1_raw: bytes, cdol1_data: dict[int, bytes]
    ) -> list[tuple[int, bytes]]:
        """CDA (Book 2 6.6.1): the AC goes inside the signature, not in clear."""
        cid = issued[0][1][0]
        ac = next(value for tag, value in issued if tag == Tag.APPLICATION_CRYPTOGRAM)
        others = [(tag, value) for tag, value in issued if tag != Tag.APPLICATION_CRYPTOGRAM]
        digest = cda_transaction_data_hash(self._pdol_data, cdol1_raw, tlv.encode_many(others))
        dynamic = cda_icc_dynamic_data(
            icc_dynamic_number=os.urandom(8), cid=cid, ac=ac, transaction_data_hash=digest
        )
        sdad = self._sign(dynamic, cdol1_data.get(Tag.UNPREDICTABLE_NUMBER, bytes(4)))
        return [*others[:2], (Tag.SIGNED_DYNAMIC_APPLICATION_DATA, sdad), *others[2:]]
