"""The contactless kernel: from a card in the field to an outcome with its data record.

Flow (EMV Contactless Books A, B, C-2 and C-3; EMV Book 3 for the commands)::

    SELECT PPSE -> candidate list (entry point, Book B 3.3)
    for each candidate:  SELECT AID -> GET PROCESSING OPTIONS with the PDOL data
        C-3 (qVSDC):     the ARQC, ATC and IAD come back in the GPO response
        C-2 (M/Chip):    READ RECORD per AFL -> GENERATE AC (ARQC) with the CDOL1 data
    -> Online Request with the data record, or Declined (AAC), Select Next, End Application,
       Try Again (card removed)

After the online authorization, :meth:`Kernel.issuer_authentication` gives the issuer's
tag 91 to a card still in the field with EXTERNAL AUTHENTICATE (Book 3 6.5.4): the card,
which holds the key, verifies the ARPC.

The kernel sees only a :class:`~terminal.readers.base.Reader`. It never raises on card
behaviour: every failure becomes an :class:`~terminal.kernel.outcome.Outcome`.
"""

from __future__ import annotations

from dataclasses import replace

from emvcore import apdu, tlv
from emvcore.apdu import SW, CryptogramType, ResponseApdu
from emvcore.dol import build_dol_data, parse_dol
from emvcore.errors import EmvError
from emvcore.numeric import decode_cn
from emvcore.pan import mask_pan, parse_track2
from emvcore.tags import Tag
from terminal.errors import CardRemovedError, CardTimeoutError, ReaderError
from terminal.kernel.config import KernelConfig
from terminal.kernel.entry import Candidate, PpseError, candidates
from terminal.kernel.outcome import KernelResult, Outcome
from terminal.kernel.transaction import Transaction
from terminal.readers.base import Reader

#: Tags of the data record sent online (Book A 6.2.1; Book C-2 Annex B / C-3 Annex A).
ONLINE_TAGS: tuple[int, ...] = (
    0x9F02, 0x9F03, 0x9F1A, 0x95, 0x5F2A, 0x9A, 0x9C, 0x9F37, 0x82, 0x9F36, 0x9F26,
    0x9F27, 0x9F10, 0x5A, 0x57, 0x5F34, 0x5F24, 0x9F24, 0x84, 0x9F33, 0x9F35, 0x9F34,
    0x9F66, 0x9F6C, 0x9F6E, 0x9F1E, 0x9F21,
)  # fmt: skip
#: TVR byte 1 b8: offline data authentication was not performed (Book 3 Annex C5).
TVR_ODA_NOT_PERFORMED = 0x80
#: Largest AFL this kernel follows: 30 SFIs x 255 records would be a denial of service.
MAX_RECORDS = 64

MESSAGES = {
    Outcome.TRY_AGAIN: "Present card again",
    Outcome.END_APPLICATION: "Card not supported",
    Outcome.DECLINED: "Declined",
    Outcome.ONLINE_REQUEST: "Processing",
    Outcome.SELECT_NEXT: "Trying another application",
}


class _Stop(Exception):
    """Ends a kernel run with an outcome (internal control flow, never escapes)."""

    def __init__(self, outcome: Outcome, reason: str, message: str | None = None) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason
        self.message = message or MESSAGES.get(outcome, reason)


class Kernel:
    """Runs one contactless transaction on the card in a reader's field."""

    def __init__(self, config: KernelConfig | None = None) -> None:
        self.config = config or KernelConfig()

    def run(self, reader: Reader, transaction: Transaction) -> KernelResult:
        """Process the card in the field; always returns an outcome."""
        try:
            return self._run(reader, transaction)
        except _Stop as stop:
            return KernelResult(stop.outcome, stop.reason, stop.message)
        except CardRemovedError:
            return KernelResult(Outcome.TRY_AGAIN, "card_removed", MESSAGES[Outcome.TRY_AGAIN])
        except CardTimeoutError:
            return KernelResult(Outcome.TRY_AGAIN, "card_timeout", MESSAGES[Outcome.TRY_AGAIN])
        except ReaderError:
            return KernelResult(Outcome.TRY_AGAIN, "reader_error", MESSAGES[Outcome.TRY_AGAIN])

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
        ppse = _send(reader, apdu.select_ppse().encode())
        if not ppse.ok:
            raise _Stop(Outcome.END_APPLICATION, "card_not_supported")
        try:
            ordered = candidates(ppse.data, self.config.combinations)
        except PpseError:
            raise _Stop(Outcome.END_APPLICATION, "card_data_error", "Card error") from None
        if not ordered:
            raise _Stop(Outcome.END_APPLICATION, "card_not_supported")
        for candidate in ordered:
            try:
                return _Session(reader, transaction, self.config, candidate).run()
            except _Stop as stop:
                if stop.outcome is not Outcome.SELECT_NEXT:
                    raise
        raise _Stop(Outcome.END_APPLICATION, "card_not_supported")


class _Session:
    """One attempt at one candidate application."""

    def __init__(
        self, reader: Reader, transaction: Transaction, config: KernelConfig, candidate: Candidate
    ) -> None:
        self.reader = reader
        self.candidate = candidate
        self.terminal = transaction.terminal_data(config)
        self.card: dict[int, bytes] = {}

    def run(self) -> KernelResult:
        pdol = self._select()
        self._get_processing_options(pdol)
        self._read_records()
        if Tag.APPLICATION_CRYPTOGRAM not in self.card:
            self._generate_ac()
        return self._result()

    def _select(self) -> bytes:
        """SELECT the candidate's ADF; a refusal moves to the next candidate (Book B 3.3.3)."""
        response = _send(self.reader, apdu.select(self.candidate.aid).encode())
        if not response.ok:
            raise _Stop(Outcome.SELECT_NEXT, "select_failed")
        try:
            fci = tlv.decode_one(response.data)
            if fci.tag != 0x6F:
                raise _Stop(Outcome.SELECT_NEXT, "select_not_fci")
            data = tlv.flatten(fci.value, unique=True)
        except EmvError:
            raise _Stop(Outcome.SELECT_NEXT, "select_fci_malformed") from None
        self.card[Tag.DF_NAME] = data.get(Tag.DF_NAME, self.candidate.aid)
        return data.get(Tag.PDOL, b"")

    def _get_processing_options(self, pdol: bytes) -> None:
        """GPO with the PDOL data (Book 3 10.1); response format 1 (80) or 2 (77)."""
        try:
            pdol_data = build_dol_data(parse_dol(pdol), self.terminal)
        except EmvError:
            raise _Stop(Outcome.SELECT_NEXT, "pdol_malformed") from None
        response = _send(self.reader, apdu.get_processing_options(pdol_data).encode())
        if response.sw == SW.CONDITIONS_NOT_SATISFIED:
            raise _Stop(Outcome.SELECT_NEXT, "gpo_conditions_not_satisfied")
        if not response.ok:
            raise _Stop(Outcome.END_APPLICATION, "gpo_failed", "Card error")
        try:
            template = tlv.decode_one(response.data)
            if template.tag == 0x80 and len(template.value) >= 2:
                self._merge({Tag.AIP: template.value[:2], Tag.AFL: template.value[2:]})
            elif template.tag == 0x77:
                self._merge(tlv.flatten(template.value, unique=True))
            else:
                raise _Stop(Outcome.END_APPLICATION, "gpo_response_malformed", "Card error")
        except EmvError:
            raise _Stop(Outcome.END_APPLICATION, "gpo_response_malformed", "Card error") from None
        if len(self.card.get(Tag.AIP, b"")) != 2:
            raise _Stop(Outcome.END_APPLICATION, "aip_missing", "Card error")

    def _read_records(self) -> None:
        """READ RECORD every record the AFL names (Book 3 10.2)."""
        afl = self.card.get(Tag.AFL, b"")
        if len(afl) % 4:
            raise _Stop(Outcome.END_APPLICATION, "afl_malformed", "Card error")
        records = []
        for i in range(0, len(afl), 4):
            sfi, first, last, oda = afl[i] >> 3, afl[i + 1], afl[i + 2], afl[i + 3]
            if not 1 <= sfi <= 30 or first == 0 or last < first or oda > last - first + 1:
                raise _Stop(Outcome.END_APPLICATION, "afl_malformed", "Card error")
            records += [(sfi, number) for number in range(first, last + 1)]
        if len(records) > MAX_RECORDS:
            raise _Stop(Outcome.END_APPLICATION, "afl_malformed", "Card error")
        for sfi, number in records:
            response = _send(self.reader, apdu.read_record(sfi, number).encode())
            if not response.ok:
                raise _Stop(Outcome.END_APPLICATION, "read_record_failed", "Card error")
            try:
                template = tlv.decode_one(response.data)
                if template.tag != 0x70:
                    raise _Stop(Outcome.END_APPLICATION, "record_malformed", "Card error")
                self._merge(tlv.flatten(template.value, unique=True))
            except EmvError:
                raise _Stop(Outcome.END_APPLICATION, "record_malformed", "Card error") from None

    def _generate_ac(self) -> None:
        """First GENERATE AC asking for an ARQC (Book 3 6.5.5, 9.2) with the CDOL1 data."""
        cdol1 = self.card.get(Tag.CDOL1)
        if cdol1 is None:
            raise _Stop(Outcome.END_APPLICATION, "cdol1_missing", "Card error")
        tvr = bytearray(self.terminal[Tag.TVR])
        tvr[0] |= TVR_ODA_NOT_PERFORMED
        self.terminal[Tag.TVR] = bytes(tvr)
        try:
            cdol1_data = build_dol_data(parse_dol(cdol1), {**self.card, **self.terminal})
        except EmvError:
            raise _Stop(Outcome.END_APPLICATION, "cdol1_malformed", "Card error") from None
        response = _send(self.reader, apdu.generate_ac(CryptogramType.ARQC, cdol1_data).encode())
        if not response.ok:
            raise _Stop(Outcome.END_APPLICATION, "generate_ac_failed", "Card error")
        try:
            template = tlv.decode_one(response.data)
            if template.tag == 0x80 and len(template.value) >= 11:
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
                raise _Stop(Outcome.END_APPLICATION, "generate_ac_malformed", "Card error")
        except EmvError:
            raise _Stop(Outcome.END_APPLICATION, "generate_ac_malformed", "Card error") from None
        self._merge(found)

    def _result(self) -> KernelResult:
        """Decide from the cryptogram type the card returned (Book 3 Table 13)."""
        card = self.card
        ac = card.get(Tag.APPLICATION_CRYPTOGRAM, b"")
        atc = card.get(Tag.ATC, b"")
        if len(ac) != 8 or len(atc) != 2:
            raise _Stop(Outcome.END_APPLICATION, "cryptogram_missing", "Card error")
        kind = _cryptogram_type(card)
        pan = _token_pan(card)
        if pan is None:
            raise _Stop(Outcome.END_APPLICATION, "pan_missing", "Card error")
        par = card.get(Tag.PAR)
        read = KernelResult(
            Outcome.DECLINED,
            "card_declined",
            MESSAGES[Outcome.DECLINED],
            aid=self.candidate.aid,
            kernel_id=self.candidate.kernel_id,
            label=self.candidate.label,
            cryptogram_type=kind,
            masked_pan=mask_pan(pan),
            par=par.decode("ascii", "replace") if par else None,
            atc=int.from_bytes(atc, "big"),
            card_data=dict(card),
        )
        if kind is CryptogramType.AAC:
            return read
        if kind is not CryptogramType.ARQC:
            # An online-only terminal asked for an ARQC; a TC is more than the card may give.
            raise _Stop(Outcome.END_APPLICATION, "unexpected_cryptogram", "Card error")
        record = {**self.card, **self.terminal}
        data_record = tlv.encode_many((tag, record[tag]) for tag in ONLINE_TAGS if tag in record)
        return replace(
            read,
            outcome=Outcome.ONLINE_REQUEST,
            reason="online_request",
            message=MESSAGES[Outcome.ONLINE_REQUEST],
            data_record=data_record,
        )

    def _merge(self, found: dict[int, bytes]) -> None:
        """Add card data; a primitive object returned twice ends the transaction (Book 3 10.2)."""
        for tag, value in found.items():
            if tag in self.card and tag != Tag.DF_NAME:
                raise _Stop(Outcome.END_APPLICATION, "duplicate_card_data", "Card error")
            self.card[tag] = value


def _send(reader: Reader, command: bytes) -> ResponseApdu:
    try:
        return ResponseApdu.decode(reader.transceive(command))
    except EmvError:
        raise _Stop(Outcome.END_APPLICATION, "card_response_malformed", "Card error") from None


def _cryptogram_type(card: dict[int, bytes]) -> CryptogramType | None:
    """CID b8-b7 (Book 3 Table 15); without a CID, the Visa CVR in the IAD (Book C-3 A.2)."""
    cid = card.get(Tag.CID)
    if cid is not None and len(cid) == 1:
        bits = cid[0] & 0xC0
    else:
        iad = card.get(Tag.IAD, b"")
        if len(iad) < 5 or iad[0] != 0x06:
            return None
        bits = ((iad[4] >> 4) & 0x03) << 6
    return CryptogramType(bits) if bits != 0xC0 else None


def _token_pan(card: dict[int, bytes]) -> str | None:
    """The (token) PAN from 5A, else from the Track 2 Equivalent Data (57)."""
    raw = card.get(Tag.PAN)
    try:
        if raw is not None:
            return decode_cn(raw)
        track2 = card.get(Tag.TRACK2)
        return parse_track2(track2).pan if track2 is not None else None
    except EmvError:
        return None
