"""Why an authorization was approved or declined: stable reason codes and their ISO 8583 codes.

Part of the API contract: terminals, reports and tests read these strings, and the response
code goes to the card as tag 8A.

Reasons and ISO 8583 response codes (field 39, also sent to the card as tag 8A):

======================  ====  ================================================================
reason                  code  meaning
======================  ====  ================================================================
approved                00    approved
cryptogram_invalid      05    do not honour: the ARQC did not verify (or its CVN is wrong)
cid_not_arqc            05    do not honour: the card did not request online authorization
atc_replayed            05    do not honour: this ATC was already used
atc_stale               05    do not honour: ATC far below the highest seen
token_unknown           14    invalid card number: no such token
token_expired           54    expired card
token_inactive          62    restricted card: the token is suspended or deleted
par_denied              62    restricted card: the account (PAR) is on the deny list
amount_limit_exceeded   61    exceeds amount limit: above the merchant category's limit
velocity_exceeded       65    exceeds frequency limit: too many approvals for this PAR
token_domain_restricted 57    transaction not permitted to cardholder: the token's domain
                              restriction controls (EMV Payment Tokenisation Specification,
                              Technical Framework, section 2: "Token Domain Restriction
                              Controls") exclude this merchant's category, or the terminal
                              is not registered so its category is unknown
amount_mismatch         13    invalid amount: 9F02 differs from the request's amount
currency_mismatch       13    invalid amount: 5F2A differs from the request's currency
issuer_key_unknown      96    system malfunction: the token exists but no issuer key covers
                              its BIN. This is the acquirer's configuration at fault, not
                              the card, so it is not reported as "14 invalid card number".
currency_not_accepted   58    transaction not permitted to terminal: the terminal's merchant
                              does not accept the request's currency (its registered one)
oda_failed              05    do not honour: the TVR (tag 95) says offline data
                              authentication failed: byte 1 b7 "SDA failed", b4 "DDA
                              failed" or b3 "CDA failed" (EMV Book 3 Annex C5), and the
                              issuer profile of the token's BIN does not accept it
card_expired            54    expired card: the TVR says "expired application" (byte 2 b7,
                              EMV Book 3 Annex C5): the card's own expiry date (5F24) passed
reversed_before_        05    do not honour: the terminal reversed this request (by its
authorization                 idempotency key) before it arrived (see
                              :meth:`~acquirer.payments.service.AuthorizationService.bar_key`)
======================  ====  ================================================================
"""

from __future__ import annotations

import enum
from types import MappingProxyType


class Reason(enum.StrEnum):
    """Why an authorization was approved or declined; stable, part of the API contract."""

    APPROVED = "approved"
    CRYPTOGRAM_INVALID = "cryptogram_invalid"
    CID_NOT_ARQC = "cid_not_arqc"
    ATC_REPLAYED = "atc_replayed"
    ATC_STALE = "atc_stale"
    TOKEN_UNKNOWN = "token_unknown"  # noqa: S105 (a reason, not a secret)
    TOKEN_EXPIRED = "token_expired"  # noqa: S105 (a reason, not a secret)
    TOKEN_INACTIVE = "token_inactive"  # noqa: S105 (a reason, not a secret)
    TOKEN_DOMAIN_RESTRICTED = "token_domain_restricted"  # noqa: S105 (a reason, not a secret)
    PAR_DENIED = "par_denied"
    AMOUNT_LIMIT_EXCEEDED = "amount_limit_exceeded"
    VELOCITY_EXCEEDED = "velocity_exceeded"
    AMOUNT_MISMATCH = "amount_mismatch"
    CURRENCY_MISMATCH = "currency_mismatch"
    ISSUER_KEY_UNKNOWN = "issuer_key_unknown"
    REVERSED_BEFORE_AUTHORIZATION = "reversed_before_authorization"
    CURRENCY_NOT_ACCEPTED = "currency_not_accepted"
    ODA_FAILED = "oda_failed"
    CARD_EXPIRED = "card_expired"

    @property
    def response_code(self) -> str:
        """The ISO 8583 response code (2 characters) for this reason."""
        return RESPONSE_CODES[self]


RESPONSE_CODES = MappingProxyType(
    {
        Reason.APPROVED: "00",
        Reason.CRYPTOGRAM_INVALID: "05",
        Reason.CID_NOT_ARQC: "05",
        Reason.ATC_REPLAYED: "05",
        Reason.ATC_STALE: "05",
        Reason.TOKEN_UNKNOWN: "14",
        Reason.TOKEN_EXPIRED: "54",
        Reason.TOKEN_INACTIVE: "62",
        Reason.TOKEN_DOMAIN_RESTRICTED: "57",
        Reason.PAR_DENIED: "62",
        Reason.AMOUNT_LIMIT_EXCEEDED: "61",
        Reason.VELOCITY_EXCEEDED: "65",
        Reason.AMOUNT_MISMATCH: "13",
        Reason.CURRENCY_MISMATCH: "13",
        Reason.ISSUER_KEY_UNKNOWN: "96",
        Reason.REVERSED_BEFORE_AUTHORIZATION: "05",
        Reason.CURRENCY_NOT_ACCEPTED: "58",
        Reason.ODA_FAILED: "05",
        Reason.CARD_EXPIRED: "54",
    }
)
