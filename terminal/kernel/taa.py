"""Terminal action analysis (EMV Book 3 10.7): TVR against the action codes.

Denial: any TVR bit also set in TAC-Denial or IAC-Denial asks for an AAC. Otherwise an
online-capable terminal asks for an ARQC when a bit is set in TAC-Online or IAC-Online
(and an online-only terminal always does); an offline-only one would use the Default codes.
Absent Issuer Action Codes count as IAC-Denial all zeros and IAC-Online/Default all ones.
"""

from __future__ import annotations

from emvcore.apdu import CryptogramType

_ALL_ONES = b"\xff" * 5
_ZEROS = bytes(5)


def _hits(tvr: bytes, *codes: bytes) -> bool:
    return any(t & c for code in codes for t, c in zip(tvr, code, strict=True))


def terminal_action_analysis(
    tvr: bytes,
    *,
    tac_denial: bytes,
    tac_online: bytes,
    tac_default: bytes,
    iac_denial: bytes | None,
    iac_online: bytes | None,
    iac_default: bytes | None,
    online_only: bool,
    online_capable: bool = True,
) -> CryptogramType:
    """The cryptogram type to ask the card for.

    >>> z = bytes(5)
    >>> terminal_action_analysis(bytes.fromhex("0000000000"), tac_denial=z, tac_online=z,
    ...     tac_default=z, iac_denial=None, iac_online=None, iac_default=None, online_only=False)
    <CryptogramType.TC: 64>
    >>> terminal_action_analysis(bytes.fromhex("0400000000"), tac_denial=bytes.fromhex("0400000000"),
    ...     tac_online=z, tac_default=z, iac_denial=None, iac_online=None, iac_default=None, online_only=True)
    <CryptogramType.AAC: 0>
    """
    iac_d = iac_denial if iac_denial and len(iac_denial) == 5 else _ZEROS
    iac_o = iac_online if iac_online and len(iac_online) == 5 else _ALL_ONES
    iac_f = iac_default if iac_default and len(iac_default) == 5 else _ALL_ONES
    if _hits(tvr, tac_denial, iac_d):
        return CryptogramType.AAC
    if online_only:
        return CryptogramType.ARQC
    if online_capable:
        return CryptogramType.ARQC if _hits(tvr, tac_online, iac_o) else CryptogramType.TC
    return CryptogramType.AAC if _hits(tvr, tac_default, iac_f) else CryptogramType.TC
