"""Secure messaging for integrity and authentication: the MAC of an issuer script command.

EMV Book 2 9.2 (Format 2, 9.2.1.2): a script command that needs integrity carries a MAC
as the last bytes of its data field, the class byte says so (b4-b3 of CLA = 01, e.g. ``84``,
``04``), and Lc counts the MAC. The MAC (Book 2 9.2.3, Annex A1.2) is ISO/IEC 9797-1 MAC
algorithm 3, padding method 2, under the secure messaging integrity session key SK_SMI, over::

    CLA || INS || P1 || P2 || Lc || ATC || ARQC || plaintext data

ATC and ARQC are those of the transaction the script comes with (Book 2 9.2.3: the
issuer-chosen transaction data in the MAC input, which ties a script to one
transaction); they are in the input, never on the wire. SK_SMI comes from the card's
secure messaging master key MK_SMI with the common session key construction of Book 2
A1.3.1 and ``R`` = the Application Cryptogram (Book 2 A1.3, "SK_SMI ... R = the AC").

    >>> sk = derive_smi_session_key(bytes.fromhex("0123456789ABCDEFFEDCBA9876543210"),
    ...                             bytes.fromhex("1234567890123456"))
    >>> command = secure_command(sk, 0x84, 0x1E, 0x00, 0x00, b"",
    ...                          atc=bytes.fromhex("0001"), arqc=bytes.fromhex("1234567890123456"))
    >>> command[:5].hex().upper(), len(command)
    ('841E000008', 13)
    >>> verify_command_mac(sk, command, atc=bytes.fromhex("0001"),
    ...                    arqc=bytes.fromhex("1234567890123456"))
    b''
"""

from __future__ import annotations

import hmac

from emvcore.crypto.mac import Padding, mac_iso9797_alg3
from emvcore.crypto.session import derive_ac_diversified_sk
from emvcore.errors import CryptoError

__all__ = [
    "MAC_LENGTH",
    "command_mac",
    "derive_smi_session_key",
    "secure_command",
    "verify_command_mac",
]

#: The MAC length this stack uses (Book 2 9.2.3: 4 to 8 bytes, the issuer's choice).
MAC_LENGTH = 8
#: CLA b4-b3 = 01: secure messaging, command header authenticated (ISO/IEC 7816-4 5.1.1).
SM_CLA_BITS = 0x0C
SM_CLA_FORMAT_2 = 0x04


def derive_smi_session_key(icc_mk_smi: bytes, arqc: bytes) -> bytes:
    """SK_SMI: the Book 2 A1.3.1 session key of MK_SMI with ``R`` = the 8-byte ARQC."""
    if len(arqc) != 8:
        raise CryptoError(f"the application cryptogram must be 8 bytes long, not {len(arqc)}")
    return derive_ac_diversified_sk(icc_mk_smi, arqc)


def _mac_input(header: bytes, lc: int, atc: bytes, arqc: bytes, data: bytes) -> bytes:
    if len(atc) != 2 or len(arqc) != 8:
        raise CryptoError("the MAC input needs the 2-byte ATC and the 8-byte ARQC")
    return header + bytes([lc]) + atc + arqc + data


def command_mac(
    sk_smi: bytes,
    header: bytes,
    data: bytes,
    *,
    atc: bytes,
    arqc: bytes,
    length: int = MAC_LENGTH,
) -> bytes:
    """The MAC of a command ``header`` (CLA INS P1 P2) with plaintext ``data`` (Book 2 9.2.3)."""
    if len(header) != 4:
        raise CryptoError(f"a command header is 4 bytes, not {len(header)}")
    lc = len(data) + length
    if lc > 255:
        raise CryptoError(f"a script command carries at most 255 bytes, not {lc}")
    return mac_iso9797_alg3(
        sk_smi, _mac_input(header, lc, atc, arqc, data), Padding.METHOD_2, length
    )


def secure_command(
    sk_smi: bytes,
    cla: int,
    ins: int,
    p1: int,
    p2: int,
    data: bytes,
    *,
    atc: bytes,
    arqc: bytes,
    length: int = MAC_LENGTH,
) -> bytes:
    """The whole Format 2 command APDU: header, Lc, plaintext data, MAC (no Le: case 3)."""
    if cla & SM_CLA_BITS != SM_CLA_FORMAT_2:
        raise CryptoError(f"CLA {cla:02X} does not announce secure messaging (b4-b3 = 01)")
    header = bytes([cla, ins, p1, p2])
    mac = command_mac(sk_smi, header, data, atc=atc, arqc=arqc, length=length)
    return header + bytes([len(data) + length]) + data + mac


def verify_command_mac(
    sk_smi: bytes, command: bytes, *, atc: bytes, arqc: bytes, length: int = MAC_LENGTH
) -> bytes | None:
    """The card side: the plaintext data of a Format 2 command whose MAC verifies, else None.

    ``command`` is the whole case 3 APDU (header, Lc, data field). None for a bad MAC, a
    data field shorter than the MAC, or a length that does not add up.
    """
    if len(command) < 5 or command[4] != len(command) - 5 or command[4] < length:
        return None
    field = command[5:]
    data, mac = field[:-length], field[-length:]
    expected = command_mac(sk_smi, command[:4], data, atc=atc, arqc=arqc, length=length)
    return data if hmac.compare_digest(mac, expected) else None
