"""The card's side of issuer scripts: script commands checked under secure messaging.

The commands an issuer script carries (EMV Book 3 6.5; :mod:`emvcore.issuer_scripts`) come
with a MAC (EMV Book 2 9.2, Format 2) under SK_SMI, the session key of the card's MK_SMI
for the transaction's ARQC, over the header, Lc, the ATC, the ARQC and the plaintext. The
card:

* refuses a script command outside a transaction that issued an ARQC, or on a card
  without an MK_SMI: ``6985`` (conditions of use not satisfied);
* refuses one whose MAC does not verify: ``6988`` (incorrect secure messaging data
  objects), doing nothing, so the terminal's Issuer Script Results (9F5B) say "failed";
* otherwise acts: APPLICATION BLOCK / UNBLOCK, CARD BLOCK, PIN CHANGE/UNBLOCK (P2 ``00``,
  the try counter reset; this contactless card has no offline PIN to change, a new PIN
  under SK_SMC is ``6A81``), PUT DATA of a primitive object the card then returns to
  GET DATA.

The block state lives in the applet for its life (the card image persists only the ATC).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from emvcore.apdu import SW, CommandApdu
from emvcore.crypto.sm import derive_smi_session_key, verify_command_mac
from emvcore.issuer_scripts import ScriptIns


@dataclass
class ScriptState:
    """What script commands changed on the card."""

    application_blocked: bool = False
    card_blocked: bool = False
    pin_try_resets: int = 0
    issuer_data: dict[int, bytes] = field(default_factory=dict)


def _sw(sw: int) -> bytes:
    return sw.to_bytes(2, "big")


def process_script_command(
    state: ScriptState,
    command: CommandApdu,
    *,
    icc_mk_smi: bytes | None,
    atc: int,
    arqc: bytes | None,
) -> bytes:
    """Verify and run one script command of the transaction of ``atc`` and ``arqc``.

    Returns the response APDU (a status word).
    """
    key = icc_mk_smi
    if arqc is None or key is None:
        return _sw(SW.CONDITIONS_NOT_SATISFIED)
    if command.le is not None:
        return _sw(SW.WRONG_LENGTH)  # case 3: nothing comes back
    wire = bytes([command.cla, command.ins, command.p1, command.p2, len(command.data)])
    plain = verify_command_mac(
        derive_smi_session_key(key, arqc),
        wire + command.data,
        atc=atc.to_bytes(2, "big"),
        arqc=arqc,
    )
    if plain is None:
        return _sw(SW.SM_DATA_INCORRECT)
    ins = command.ins
    if ins == ScriptIns.PUT_DATA:
        if plain == b"":
            return _sw(SW.WRONG_LENGTH)
        state.issuer_data[(command.p1 << 8) | command.p2] = plain
        return _sw(SW.OK)
    if command.p1 or (command.p2 and ins != ScriptIns.PIN_CHANGE_UNBLOCK):
        return _sw(SW.INCORRECT_P1P2)
    if ins == ScriptIns.APPLICATION_BLOCK:
        state.application_blocked = True
    elif ins == ScriptIns.APPLICATION_UNBLOCK:
        if state.card_blocked:
            return _sw(SW.CONDITIONS_NOT_SATISFIED)  # a blocked card stays blocked
        state.application_blocked = False
    elif ins == ScriptIns.CARD_BLOCK:
        state.card_blocked = state.application_blocked = True
    elif command.p2 != 0x00 or plain:
        return _sw(SW.FUNCTION_NOT_SUPPORTED)  # PIN change: no offline PIN on this card
    else:
        state.pin_try_resets += 1
    return _sw(SW.OK)
