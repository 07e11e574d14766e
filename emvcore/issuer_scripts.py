"""Issuer scripts: the script commands an issuer sends back with its authorization response.

An Issuer Script Template (tag 71, run before a second GENERATE AC; 72, after it) holds an
optional Script Identifier (9F18, 4 bytes) and Issuer Script Commands (86), each a whole
command APDU the terminal passes to the card as it is (EMV Book 3 10.10, Book 4 Annex A5).
The commands of EMV Book 3 6.5 that scripts carry, all with secure messaging for integrity
(Book 2 9.2, :mod:`emvcore.crypto.sm`), CLA ``84`` (``04`` for PUT DATA):

===================  =====  =========================================================
command              INS    effect on the card
===================  =====  =========================================================
APPLICATION BLOCK    ``1E``  the application answers SELECT ``6283`` and refuses to
                             transact (Book 3 6.5.1)
APPLICATION UNBLOCK  ``18``  undoes APPLICATION BLOCK (Book 3 6.5.2)
CARD BLOCK           ``16``  every application of the card, for good (Book 3 6.5.3)
PIN CHANGE/UNBLOCK   ``24``  P2 ``00``: reset the PIN try counter; ``01``/``02``: a new
                             PIN, enciphered under SK_SMC (Book 3 6.5.10)
PUT DATA             ``DA``  P1 P2 = the tag of a primitive data object to write
===================  =====  =========================================================

:func:`build_script` is the issuer's side, pure: the card's MK_SMI (derived from the
issuer's master key as the AC key is, Book 2 A1.4), the transaction's ATC and ARQC, and the
plain commands in; the script template with every command MACed out.

    >>> mk = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    >>> script = build_script(mk, atc=bytes.fromhex("0001"), arqc=bytes(8),
    ...                       commands=[application_block()], script_id=bytes.fromhex("00000001"))
    >>> script[:2].hex().upper(), script[2:9].hex().upper(), script[9:16].hex().upper()
    ('7216', '9F180400000001', '860D841E000008')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from emvcore import tlv
from emvcore.crypto.sm import MAC_LENGTH, derive_smi_session_key, secure_command
from emvcore.errors import CryptoError
from emvcore.tags import Tag

__all__ = [
    "SCRIPT_IDENTIFIER",
    "PlainCommand",
    "ScriptIns",
    "application_block",
    "application_unblock",
    "build_script",
    "card_block",
    "pin_unblock",
    "put_data",
]

#: Issuer Script Identifier (EMV Book 3 Annex A).
SCRIPT_IDENTIFIER = 0x9F18
#: Proprietary class with secure messaging (Format 2), and the interindustry one for PUT DATA.
SM_CLA = 0x84
SM_CLA_INTERINDUSTRY = 0x04


class ScriptIns(IntEnum):
    """Instruction bytes of the script commands (EMV Book 3 6.5; PUT DATA ISO/IEC 7816-4)."""

    CARD_BLOCK = 0x16
    APPLICATION_UNBLOCK = 0x18
    APPLICATION_BLOCK = 0x1E
    PIN_CHANGE_UNBLOCK = 0x24
    PUT_DATA = 0xDA


@dataclass(frozen=True, slots=True)
class PlainCommand:
    """A script command before its MAC: header and plaintext data."""

    cla: int
    ins: int
    p1: int = 0
    p2: int = 0
    data: bytes = b""


def application_block() -> PlainCommand:
    """APPLICATION BLOCK (Book 3 6.5.1)."""
    return PlainCommand(SM_CLA, ScriptIns.APPLICATION_BLOCK)


def application_unblock() -> PlainCommand:
    """APPLICATION UNBLOCK (Book 3 6.5.2)."""
    return PlainCommand(SM_CLA, ScriptIns.APPLICATION_UNBLOCK)


def card_block() -> PlainCommand:
    """CARD BLOCK (Book 3 6.5.3)."""
    return PlainCommand(SM_CLA, ScriptIns.CARD_BLOCK)


def pin_unblock() -> PlainCommand:
    """PIN CHANGE/UNBLOCK with P2 ``00``: reset the PIN try counter (Book 3 6.5.10)."""
    return PlainCommand(SM_CLA, ScriptIns.PIN_CHANGE_UNBLOCK)


def put_data(tag: int, value: bytes) -> PlainCommand:
    """PUT DATA of the primitive data object ``tag`` (one or two bytes) with ``value``.

    >>> put_data(0x9F58, b"\\x05").p1, put_data(0x9F58, b"\\x05").p2
    (159, 88)
    """
    if not 0 < tag <= 0xFFFF:
        raise CryptoError(f"PUT DATA names a one- or two-byte tag, not {tag:X}")
    return PlainCommand(SM_CLA_INTERINDUSTRY, ScriptIns.PUT_DATA, tag >> 8, tag & 0xFF, value)


def build_script(
    icc_mk_smi: bytes,
    *,
    atc: bytes,
    arqc: bytes,
    commands: Sequence[PlainCommand],
    template: int = Tag.ISSUER_SCRIPT_TEMPLATE_2,
    script_id: bytes | None = None,
    mac_length: int = MAC_LENGTH,
) -> bytes:
    """An Issuer Script Template (71 or 72) of ``commands``, each MACed under SK_SMI.

    SK_SMI is derived from ``icc_mk_smi`` and the transaction's ``arqc`` (Book 2 A1.3);
    ``atc`` and ``arqc`` enter every MAC (Book 2 9.2.3).
    """
    if template not in (Tag.ISSUER_SCRIPT_TEMPLATE_1, Tag.ISSUER_SCRIPT_TEMPLATE_2):
        raise CryptoError(f"an issuer script template is 71 or 72, not {template:X}")
    if script_id is not None and len(script_id) != 4:
        raise CryptoError(f"the script identifier is 4 bytes, not {len(script_id)}")
    if not commands:
        raise CryptoError("a script holds at least one command")
    sk = derive_smi_session_key(icc_mk_smi, arqc)
    items: list[tuple[int, bytes]] = []
    if script_id is not None:
        items.append((SCRIPT_IDENTIFIER, script_id))
    for c in commands:
        apdu = secure_command(sk, c.cla, c.ins, c.p1, c.p2, c.data, atc=atc, arqc=arqc,
                              length=mac_length)  # fmt: skip
        items.append((Tag.ISSUER_SCRIPT_COMMAND, apdu))
    return tlv.encode(template, tlv.encode_many(items))
