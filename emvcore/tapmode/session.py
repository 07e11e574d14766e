"""The transaction data a wallet's cryptogram covers when it pays a checkout session.

A wallet pays a session as a card pays a tap: an ARQC under its ICC master key, derived
from the issuer keys as a card's is, computed by the card's own cryptogram version
(:mod:`emvcore.crypto.cvn`). What differs is where the terminal data comes from: there is
no terminal kernel in the loop, so the session supplies it. :func:`session_transaction_data`
fills the terminal part of the EMV Book 2 section 8.1.1 minimum set from the session; the
card part (82 AIP, 9F36 ATC, 9F10 IAD) is the wallet's, as in any ARQC:

=========  ==========================  ==========================================
tag        EMV name                    value for a session
=========  ==========================  ==========================================
9F02       Amount, Authorised          the session amount, minor units, format n
9F03       Amount, Other               zero
9F1A       Terminal Country Code       zero (no terminal in the loop)
95         TVR                         zero (no terminal risk management ran)
5F2A       Transaction Currency Code   the session currency, ISO 4217 numeric
9A         Transaction Date            zero (the session's expiry bounds it)
9C         Transaction Type            00, purchase
9F37       Unpredictable Number        the session nonce (4 bytes, from the acquirer)
=========  ==========================  ==========================================

The acquirer verifies the wallet's EMV data record exactly as a card's, then checks that
9F02, 5F2A and 9F37 are the session's own: a cryptogram over another amount, currency or
session does not pay this one.

>>> data = session_transaction_data(1250, 978, bytes.fromhex("A1B2C3D4"))
>>> {f"{tag:X}": value.hex() for tag, value in data.items()}["9F02"], data[0x5F2A].hex()
('000000001250', '0978')
"""

from __future__ import annotations

from typing import Final

from emvcore.errors import TapModeError
from emvcore.numeric import encode_n
from emvcore.tags import Tag

__all__ = ["PURCHASE", "SESSION_NONCE_LENGTH", "session_transaction_data"]

SESSION_NONCE_LENGTH: Final = 4
#: Transaction Type 9C for a purchase of goods or services (ISO 8583 processing code 00).
PURCHASE: Final = b"\x00"
_MAX_AMOUNT = 10**12 - 1  # n 12


def session_transaction_data(
    amount: int, currency_numeric: int, session_nonce: bytes
) -> dict[int, bytes]:
    """The terminal data objects an ARQC over a checkout session covers (table above)."""
    if not 0 < amount <= _MAX_AMOUNT:
        raise TapModeError(f"a session amount is 1..{_MAX_AMOUNT} minor units")
    if not 0 < currency_numeric <= 999:
        raise TapModeError("an ISO 4217 numeric currency code is 1..999")
    if len(session_nonce) != SESSION_NONCE_LENGTH:
        raise TapModeError(f"a session nonce is {SESSION_NONCE_LENGTH} bytes long")
    return {
        Tag.AMOUNT_AUTHORISED: encode_n(amount, 6),
        Tag.AMOUNT_OTHER: bytes(6),
        Tag.TERMINAL_COUNTRY_CODE: bytes(2),
        Tag.TVR: bytes(5),
        Tag.TRANSACTION_CURRENCY_CODE: encode_n(currency_numeric, 2),
        Tag.TRANSACTION_DATE: bytes(3),
        Tag.TRANSACTION_TYPE: PURCHASE,
        Tag.UNPREDICTABLE_NUMBER: bytes(session_nonce),
    }
