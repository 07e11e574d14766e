"""The steps every kernel path shares: SELECT, GET PROCESSING OPTIONS, READ RECORD.

A :class:`CardSession` is one attempt at one candidate application. It keeps what the card
returned (primitive data objects by tag, duplicates refused), the terminal data sent, the
TVR and TSI, and the raw records the AFL marks for offline data authentication. Failures
end the attempt with :class:`~terminal.kernel.outcome.KernelStop`.
"""

from __future__ import annotations

from datetime import date

from emvcore import apdu, tlv
from emvcore.apdu import SW, ResponseApdu
from emvcore.dol import build_dol_data, parse_dol
from emvcore.errors import EmvError
from emvcore.numeric import decode_cn, decode_n
from emvcore.pan import parse_track2
from emvcore.tags import Tag
from terminal.kernel.config import KernelConfig
from terminal.kernel.entry import Candidate
from terminal.kernel.outcome import KernelStop, Outcome
from terminal.kernel.preprocessing import Indicators
from terminal.kernel.transaction import Transaction
from terminal.kernel.tvr import Tsi, Tvr, TvrBit
from terminal.readers.base import Reader

#: Largest AFL this kernel follows: 30 SFIs x 255 records would be a denial of service.
MAX_RECORDS = 64


def card_error(reason: str) -> KernelStop:
    """End Application for card data the kernel cannot use (Book A: "Card error")."""
    return KernelStop(Outcome.END_APPLICATION, reason)


class CardSession:
    """One attempt at one candidate application."""

    def __init__(
        self,
        reader: Reader,
        transaction: Transaction,
        config: KernelConfig,
        candidate: Candidate,
        indicators: Indicators,
        *,
        restart_flag: bool = False,
    ) -> None:
        self.reader = reader
        self.transaction = transaction
        self.config = config
        self.candidate = candidate
        self.indicators = indicators
        #: Book B 3.5: this activation is a restart (Start B or D) of the same transaction.
        self.restart_flag = restart_flag
        self.terminal = transaction.terminal_data(config)
        if indicators.ttq_configured:
            self.terminal[Tag.TTQ] = indicators.ttq
        # Application Identifier (AID) - terminal 9F06: the AID selected (Book 3 Annex A).
        self.terminal[Tag.AID_TERMINAL] = candidate.aid
        #: The FCI of the final SELECT (Book B 3.3.3), once the Entry Point has sent it.
        self.fci: dict[int, bytes] | None = None
        self.card: dict[int, bytes] = {}
        self.tvr = Tvr()
        self.tsi = Tsi()
        self.pdol_data = b""
        self.oda_records: list[tuple[int, bytes]] = []
        self.today: date = transaction.when.date()

    # -- commands ------------------------------------------------------------------------

    def send(self, command: apdu.CommandApdu) -> ResponseApdu:
        """One exchange; a malformed response is a card error."""
        try:
            return ResponseApdu.decode(self.reader.transceive(command.encode()))
        except EmvError:
            raise card_error("card_response_malformed") from None

    def select(self) -> bytes:
        """SELECT the candidate's ADF; a refusal moves to the next candidate (Book B 3.3.3).

        The Entry Point sends this final SELECT (with any Extended Selection, 3.3.2.5)
        before it activates the kernel; a kernel asking again gets the same FCI's PDOL.
        Returns the PDOL (empty when the card has none).
        """
        if self.fci is not None:
            return self.fci.get(Tag.PDOL, b"")
        response = self.send(apdu.select(self.candidate.select_name))
        if not response.ok:
            raise KernelStop(Outcome.SELECT_NEXT, "select_failed")
        try:
            fci = tlv.decode_one(response.data)
            if fci.tag != 0x6F:
                raise KernelStop(Outcome.SELECT_NEXT, "select_not_fci")
            data = tlv.flatten(fci.value, unique=True)
        except EmvError:
            raise KernelStop(Outcome.SELECT_NEXT, "select_fci_malformed") from None
        self.card[Tag.DF_NAME] = data.get(Tag.DF_NAME, self.candidate.aid)
        self.fci = data
        return data.get(Tag.PDOL, b"")

    def get_processing_options(self, pdol: bytes) -> ResponseApdu:
        """GPO with the PDOL data (Book 3 10.1); returns the response for path rules."""
        try:
            self.pdol_data = build_dol_data(parse_dol(pdol), self.terminal)
            # A PDOL asking for more than a short Lc carries (Book 3 6.5.8) is as unusable.
            command = apdu.get_processing_options(self.pdol_data)
        except EmvError:
            raise KernelStop(Outcome.SELECT_NEXT, "pdol_malformed") from None
        response = self.send(command)
        if response.sw == SW.CONDITIONS_NOT_SATISFIED:
            raise KernelStop(Outcome.SELECT_NEXT, "gpo_conditions_not_satisfied")
        return response

    def accept_gpo(self, response: ResponseApdu) -> None:
        """Take the GPO response: format 1 (80: AIP || AFL) or format 2 (77)."""
        if not response.ok:
            raise card_error("gpo_failed")
        try:
            template = tlv.decode_one(response.data)
            if template.tag == 0x80 and len(template.value) >= 2:
                self.merge({Tag.AIP: template.value[:2], Tag.AFL: template.value[2:]})
            elif template.tag == 0x77:
                self.merge(tlv.flatten(template.value, unique=True))
            else:
                raise card_error("gpo_response_malformed")
        except EmvError:
            raise card_error("gpo_response_malformed") from None
        if len(self.card.get(Tag.AIP, b"")) != 2:
            self.tvr.set(TvrBit.ICC_DATA_MISSING)
            raise card_error("aip_missing")

    def read_records(self) -> None:
        """READ RECORD every record the AFL names (Book 3 10.2); keep the ODA ones."""
        afl = self.card.get(Tag.AFL, b"")
        if len(afl) % 4:
            raise card_error("afl_malformed")
        plan: list[tuple[int, int, bool]] = []
        for i in range(0, len(afl), 4):
            sfi, first, last, oda = afl[i] >> 3, afl[i + 1], afl[i + 2], afl[i + 3]
            if not 1 <= sfi <= 30 or first == 0 or last < first or oda > last - first + 1:
                raise card_error("afl_malformed")
            plan += [(sfi, n, n < first + oda) for n in range(first, last + 1)]
        if len(plan) > MAX_RECORDS:
            raise card_error("afl_malformed")
        for sfi, number, for_oda in plan:
            response = self.send(apdu.read_record(sfi, number))
            if not response.ok:
                raise card_error("read_record_failed")
            try:
                template = tlv.decode_one(response.data)
                if template.tag != 0x70:
                    raise card_error("record_malformed")
                self.merge(tlv.flatten(template.value, unique=True))
            except EmvError:
                raise card_error("record_malformed") from None
            if for_oda:
                self.oda_records.append((sfi, response.data))

    # -- data ----------------------------------------------------------------------------

    def merge(self, found: dict[int, bytes]) -> None:
        """Add card data; a primitive object returned twice ends the transaction (Book 3 10.2)."""
        for tag, value in found.items():
            if tag in self.card and tag != Tag.DF_NAME:
                raise card_error("duplicate_card_data")
            self.card[tag] = value

    def require(self, *tags: int) -> None:
        """Mandatory data present, else ICC data missing and End Application."""
        for tag in tags:
            if not self.card.get(tag):
                self.tvr.set(TvrBit.ICC_DATA_MISSING)
                raise card_error(f"missing_{tag:X}")

    def pan(self) -> str | None:
        """The (token) PAN from 5A, else from Track 2 Equivalent Data (57)."""
        try:
            raw = self.card.get(Tag.PAN)
            if raw is not None:
                return decode_cn(raw)
            track2 = self.card.get(Tag.TRACK2)
            return parse_track2(track2).pan if track2 is not None else None
        except EmvError:
            return None

    def check_dates(self) -> None:
        """Processing restrictions on dates (Book 3 10.4.3): expired, not yet effective."""
        today = int(self.today.strftime("%Y%m%d"))
        try:
            expiry = self.card.get(Tag.APPLICATION_EXPIRATION_DATE)
            if expiry is not None and _full_date(decode_n(expiry)) < today:
                self.tvr.set(TvrBit.EXPIRED_APPLICATION)
            effective = self.card.get(Tag.APPLICATION_EFFECTIVE_DATE)
            if effective is not None and _full_date(decode_n(effective)) > today:
                self.tvr.set(TvrBit.APPLICATION_NOT_YET_EFFECTIVE)
        except EmvError:
            raise card_error("date_malformed") from None

    def data_for_dol(self) -> dict[int, bytes]:
        """Everything a CDOL may ask for: card data overridden by terminal data, TVR current."""
        return {**self.card, **self.terminal, Tag.TVR: bytes(self.tvr)}


def _full_date(yymmdd: int) -> int:
    """YYMMDD to YYYYMMDD: YY below 50 is 20YY, otherwise 19YY (Book 3 Annex A, 5F24)."""
    year = yymmdd // 10_000
    return yymmdd + (20_000_000 if year < 50 else 19_000_000)
