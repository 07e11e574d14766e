"""Start D: the issuer's response handed back to the kernel (Book A 6.5, Book B 3.5).

An Online Request outcome says with its Online Response Data parameter what it wants back
(Book A 6.2): C-2 and C-3 ask for the EMV data, which the Entry Point hands to the kernel
at Start D while the card may still be in the field:

- Issuer Authentication Data (tag 91): EXTERNAL AUTHENTICATE (EMV Book 3 6.5.4); the
  card, which holds the key, verifies the ARPC;
- Issuer Script Templates 1 and 2 (tags 71 and 72): each Issuer Script Command (86) sent
  as it is, in order; a script stops at its first command the card refuses (Book 3 10.10,
  "Issuer-to-Card Script Processing"). Without a second GENERATE AC on the contactless
  path, the 71 scripts run first, then the 72 scripts, both after EXTERNAL AUTHENTICATE.
  The results are Issuer Script Results (9F5B, Book 4 Annex A5: byte 1 b8-b5 = 1 failed,
  2 successful, b4-b1 the failing command's number; bytes 2-5 the Script Identifier 9F18).

The card may have left the field by then: the result says what could not be done.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from emvcore import apdu, tlv
from emvcore.apdu import SW, ResponseApdu
from emvcore.errors import EmvError
from emvcore.tags import Tag
from terminal.errors import ReaderError
from terminal.kernel.outcome import DEFAULT_UI, KernelResult, Outcome, Start
from terminal.readers.base import Reader

#: Issuer Script Identifier (EMV Book 3 Annex A), inside a 71/72 template.
ISSUER_SCRIPT_IDENTIFIER = 0x9F18
SCRIPT_FAILED = 0x10
SCRIPT_SUCCESSFUL = 0x20


@dataclass(frozen=True, slots=True)
class OnlineResponse:
    """The issuer's answer as the Entry Point hands it to the kernel (Online Response Data)."""

    approved: bool
    issuer_authentication_data: bytes | None = None
    #: Issuer Script Templates, each the whole TLV (tag 71 or 72 with its value).
    scripts: tuple[bytes, ...] = ()

    @classmethod
    def from_emv_data(cls, approved: bool, emv_data: bytes) -> OnlineResponse:
        """From the EMV data of an authorization response (91, 71, 72 in any order).

        Malformed TLV raises :class:`~emvcore.errors.TlvError`.

        >>> r = OnlineResponse.from_emv_data(True, bytes.fromhex("910A" + "11" * 10 + "7203860100"))
        >>> r.issuer_authentication_data.hex(), [s.hex() for s in r.scripts]
        ('11111111111111111111', ['7203860100'])
        """
        found = tlv.decode(emv_data)
        arpc = next((t.value for t in found if t.tag == Tag.ISSUER_AUTHENTICATION_DATA), None)
        scripts = tuple(
            tlv.encode(t.tag, t.value)
            for t in found
            if t.tag in (Tag.ISSUER_SCRIPT_TEMPLATE_1, Tag.ISSUER_SCRIPT_TEMPLATE_2)
        )
        return cls(approved, arpc, scripts)


def _exchange(reader: Reader, command: apdu.CommandApdu) -> ResponseApdu | None:
    try:
        return ResponseApdu.decode(reader.transceive(command.encode()))
    except (ReaderError, EmvError):
        return None


def issuer_authentication(reader: Reader, issuer_authentication_data: bytes) -> bool | None:
    """EXTERNAL AUTHENTICATE: True (9000), False (refused), None (card gone or unusable)."""
    try:
        command = apdu.external_authenticate(issuer_authentication_data)
    except EmvError:
        return None  # not 8-16 bytes: nothing the card could be asked
    response = _exchange(reader, command)
    return None if response is None else response.sw == SW.OK


def run_script(reader: Reader, script: bytes) -> bytes:
    """Send one Issuer Script Template's commands; its 5-byte Issuer Script Result."""
    try:
        template = tlv.decode_one(script)
        parts = tlv.decode(template.value)
    except EmvError:
        return bytes([SCRIPT_FAILED]) + bytes(4)
    script_id = next((p.value for p in parts if p.tag == ISSUER_SCRIPT_IDENTIFIER), b"")
    identifier = script_id if len(script_id) == 4 else bytes(4)
    commands = [p.value for p in parts if p.tag == Tag.ISSUER_SCRIPT_COMMAND]
    for number, raw in enumerate(commands, start=1):
        try:
            response = ResponseApdu.decode(reader.transceive(raw))
        except (ReaderError, EmvError):
            response = None
        # Book 3 10.10: a command answered other than 9000/62xx/63xx ends the script.
        if response is None or (response.sw != SW.OK and response.sw >> 8 not in (0x62, 0x63)):
            return bytes([SCRIPT_FAILED | min(number, 0x0F)]) + identifier
    return bytes([SCRIPT_SUCCESSFUL]) + identifier


def resume(reader: Reader, read: KernelResult, response: OnlineResponse) -> KernelResult:
    """Start D for an EMV kernel (C-2, C-3): issuer authentication, then the scripts.

    The outcome is Approved when the issuer approved and the card did not refuse the
    ARPC; Declined otherwise (``issuer_authentication_failed`` when the card refused it).
    """
    verified = None
    if response.issuer_authentication_data is not None:
        verified = issuer_authentication(reader, response.issuer_authentication_data)
    ordered = sorted(response.scripts, key=lambda s: s[:1] != b"\x71")  # 71 before 72
    results = b"".join(run_script(reader, script) for script in ordered)
    if response.approved and verified is not False:
        outcome, reason = Outcome.APPROVED, "approved"
    else:
        outcome = Outcome.DECLINED
        reason = "issuer_authentication_failed" if response.approved else "issuer_declined"
    return dataclasses.replace(
        read,
        outcome=outcome,
        reason=reason,
        ui=DEFAULT_UI[outcome],
        start=Start.NA,
        issuer_authenticated=verified,
        issuer_script_results=results,
    )
