"""The transaction the terminal asks a card to pay, as EMV terminal data objects."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime

from emvcore.currency import currency
from emvcore.numeric import encode_n
from emvcore.tags import Tag
from terminal.kernel.config import KernelConfig
from terminal.kernel.sequence import encode_sequence

#: Transaction Type 9C (EMV Book 3 Annex A, n 2: the first two digits of the ISO 8583
#: processing code). Each constant is the byte as sent, its hex digits the decimal code:
#: ``REFUND = 0x20`` goes out as ``20``.
PURCHASE = 0x00
CASH = 0x01
CASHBACK = 0x09
REFUND = 0x20
TRANSACTION_TYPES = {"purchase": PURCHASE, "cash": CASH, "cashback": CASHBACK, "refund": REFUND}


@dataclass(frozen=True, slots=True)
class Transaction:
    """One payment request: amount in minor units and its ISO 4217 currency."""

    amount: int
    currency: str
    amount_other: int = 0
    transaction_type: int = PURCHASE
    when: datetime = field(default_factory=datetime.now)
    #: Unpredictable Number 9F37: four fresh bytes from the OS for every transaction.
    unpredictable_number: bytes = field(default_factory=lambda: os.urandom(4))
    #: Transaction Sequence Counter 9F41, given by the Entry Point at Start A
    #: (:meth:`terminal.kernel.Kernel.begin`); restarts of the transaction keep it.
    sequence: int | None = None

    def terminal_data(self, config: KernelConfig) -> dict[int, bytes]:
        """The terminal-sourced data objects a PDOL or CDOL1 may ask for.

        >>> from datetime import datetime
        >>> txn = Transaction(1250, "EUR", when=datetime(2026, 11, 22, 9, 30), unpredictable_number=bytes(4))
        >>> data = txn.terminal_data(KernelConfig())
        >>> data[0x9F02].hex(), data[0x5F2A].hex(), data[0x9A].hex(), data[0x9C].hex()
        ('000000001250', '0978', '261122', '00')
        >>> Transaction(500, "EUR", transaction_type=REFUND).terminal_data(KernelConfig())[0x9C].hex()
        '20'

        """
        data: dict[int, bytes] = {
            Tag.AMOUNT_AUTHORISED: encode_n(self.amount, 6),
            Tag.AMOUNT_OTHER: encode_n(self.amount_other, 6),
            Tag.TRANSACTION_CURRENCY_CODE: encode_n(currency(self.currency).numeric, 2),
            Tag.TERMINAL_COUNTRY_CODE: encode_n(config.country_code, 2),
            Tag.TRANSACTION_DATE: encode_n(self.when.strftime("%y%m%d"), 3),
            Tag.TRANSACTION_TIME: encode_n(self.when.strftime("%H%M%S"), 3),
            Tag.TRANSACTION_TYPE: bytes([self.transaction_type]),  # n 2: the byte is its BCD
            Tag.UNPREDICTABLE_NUMBER: self.unpredictable_number,
            Tag.TERMINAL_TYPE: bytes([config.terminal_type]),
            Tag.TERMINAL_CAPABILITIES: config.capabilities,
            Tag.IFD_SERIAL_NUMBER: config.ifd_serial.encode("ascii"),
            Tag.TVR: bytes(5),
            # CVM processing arrives with the complete kernel: "no CVM performed" until then.
            Tag.CVM_RESULTS: bytes.fromhex("3F0000"),
        }
        if self.sequence is not None:
            data[Tag.TRANSACTION_SEQUENCE_COUNTER] = encode_sequence(self.sequence)
        return {**data, **config.extra}
