"""Token provisioning records: what a token service hands to card personalization.

The acquirer's token vault issues a token (DPAN) for a funding account and writes this record;
``tap-card personalize`` turns it, with the issuer key file, into an emulated card. The record
carries the token and its data, never the funding PAN::

    {"format": "tap-token/1", "token": "4895370012345674", "expiry": "2912",
     "psn": "00", "par": "T001...", "scheme": "visa", "test": true}

The Payment Account Reference (EMV tag 9F24) is 29 upper-case alphanumerics: a 4-character
BIN controller identifier and 25 characters unique to the funding account (EMVCo Payment
Account Reference specification), identical for every token of one account.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass

from emvcore.errors import TokenRecordError
from emvcore.pan import is_luhn_valid

FORMAT = "tap-token/1"
_PAR = re.compile(r"[0-9A-Z]{29}")
_YYMM = re.compile(r"\d\d(0[1-9]|1[0-2])")


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """A provisioned payment token (DPAN) and the data a card or wallet carries with it."""

    token: str
    expiry: str
    psn: str
    par: str
    scheme: str
    test: bool

    def __post_init__(self) -> None:
        if not (self.token.isdigit() and 12 <= len(self.token) <= 19 and is_luhn_valid(self.token)):
            raise TokenRecordError("token must be 12-19 digits with a valid Luhn check digit")
        if not _YYMM.fullmatch(self.expiry):
            raise TokenRecordError("expiry must be YYMM")
        if not (len(self.psn) == 2 and self.psn.isdigit()):
            raise TokenRecordError("psn must be two digits")
        if not _PAR.fullmatch(self.par):
            raise TokenRecordError("par must be 29 upper-case letters or digits")
        if not self.scheme.isidentifier():
            raise TokenRecordError("scheme must be a plain name such as 'visa'")

    def to_json(self) -> str:
        """The record as one JSON document.

        >>> TokenRecord("4895370000000007", "2912", "00", "T001" + "A" * 25, "visa", True).to_json()[:40]
        '{"format": "tap-token/1", "token": "4895'
        """
        return json.dumps({"format": FORMAT, **asdict(self)})

    @classmethod
    def from_json(cls, text: str) -> TokenRecord:
        """Parse and check a record; the error names the field, never the token."""
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TokenRecordError(f"token record is not JSON (line {exc.lineno})") from None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise TokenRecordError(f"token record is not in format {FORMAT}")
        fields = {"token": str, "expiry": str, "psn": str, "par": str, "scheme": str, "test": bool}
        for name, kind in fields.items():
            if not isinstance(document.get(name), kind):
                raise TokenRecordError(
                    f"token record field {name!r} is missing or not a {kind.__name__}"
                )
        return cls(**{name: document[name] for name in fields})
