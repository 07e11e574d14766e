"""Cardholder verification: CVM List processing (EMV Book 3 10.5, Annex C3) and CVM Results.

The CVM List (8E) is amount X (4 bytes), amount Y (4 bytes), then two-byte CV Rules: the
CVM Code (b7: apply the next rule if this one fails; b6-b1: the method) and the CVM
Condition Code. The terminal walks the rules in order; the first rule whose condition is
satisfied and whose method the terminal supports decides. X/Y conditions apply only when
the transaction is in the application currency (9F42).

A contactless terminal without a PIN pad performs no PIN itself; "Signature" is recorded
as successful-pending (the receipt carries a signature line), "No CVM" as successful, and
a phone's consumer device CVM (CDCVM) as performed on the device.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from terminal.kernel.tvr import TvrBit


class Cvm(Enum):
    """The cardholder verification the transaction ended with."""

    NO_CVM = "no-cvm"
    SIGNATURE = "signature"
    ONLINE_PIN = "online-pin"
    CDCVM = "cdcvm"
    FAILED = "failed"
    NONE = "none"  # cardholder verification not performed


#: CVM codes, b6-b1 of the first byte of a CV Rule (Book 3 Annex C3 Table 39).
FAIL_CVM = 0x00
PLAINTEXT_PIN_ICC = 0x01
ENCIPHERED_PIN_ONLINE = 0x02
PLAINTEXT_PIN_ICC_AND_SIGNATURE = 0x03
ENCIPHERED_PIN_ICC = 0x04
ENCIPHERED_PIN_ICC_AND_SIGNATURE = 0x05
SIGNATURE = 0x1E
NO_CVM_REQUIRED = 0x1F
APPLY_NEXT_IF_UNSUCCESSFUL = 0x40
#: The PIN methods, and every method this terminal recognises (Book 3 Annex C3 Table 39).
PIN_METHODS = frozenset({PLAINTEXT_PIN_ICC, ENCIPHERED_PIN_ONLINE, PLAINTEXT_PIN_ICC_AND_SIGNATURE,
                         ENCIPHERED_PIN_ICC, ENCIPHERED_PIN_ICC_AND_SIGNATURE})  # fmt: skip
RECOGNISED = PIN_METHODS | {FAIL_CVM, SIGNATURE, NO_CVM_REQUIRED}

#: CVM Results byte 3 (Book 3 Annex A): 00 unknown, 01 failed, 02 successful.
RESULT_UNKNOWN, RESULT_FAILED, RESULT_SUCCESSFUL = 0x00, 0x01, 0x02
#: CVM Results when no CVM was performed (Book 3 10.5.5): method 3F.
NOT_PERFORMED = bytes.fromhex("3F0000")


@dataclass(frozen=True, slots=True)
class TerminalCvms:
    """What this terminal can verify."""

    signature: bool
    online_pin: bool
    no_cvm: bool


@dataclass(frozen=True, slots=True)
class CvmOutcome:
    """The CVM decided, the CVM Results (9F34) and the TVR bits to set."""

    cvm: Cvm
    results: bytes
    tvr_bits: tuple[TvrBit, ...] = ()


def process_cvm_list(
    cvm_list: bytes,
    *,
    amount: int,
    in_application_currency: bool,
    transaction_type: int,
    terminal: TerminalCvms,
) -> CvmOutcome:
    """Walk a CVM List (Book 3 10.5).

    >>> t = TerminalCvms(signature=True, online_pin=False, no_cvm=True)
    >>> rules = bytes(8) + bytes.fromhex("42031E031F03")
    >>> process_cvm_list(rules, amount=1000, in_application_currency=True, transaction_type=0, terminal=t)
    CvmOutcome(cvm=<Cvm.SIGNATURE: 'signature'>, results=b'\\x1e\\x03\\x00', tvr_bits=())
    """
    if len(cvm_list) < 10 or len(cvm_list) % 2:
        # An empty or malformed list: the ICC data is missing (Book 3 10.5.1).
        return CvmOutcome(Cvm.NONE, NOT_PERFORMED, (TvrBit.ICC_DATA_MISSING,))
    x, y = int.from_bytes(cvm_list[0:4], "big"), int.from_bytes(cvm_list[4:8], "big")
    last_failed: bytes | None = None
    failure_bits: list[TvrBit] = []
    for i in range(8, len(cvm_list), 2):
        code, condition = cvm_list[i], cvm_list[i + 1]
        method = code & 0x3F
        if not _condition_met(condition, method, amount, x, y, in_application_currency,
                              transaction_type, terminal):  # fmt: skip
            continue
        outcome = _perform(method, condition, terminal)
        if outcome is not None and outcome.cvm is not Cvm.FAILED:
            return CvmOutcome(outcome.cvm, outcome.results, tuple(failure_bits))
        # The method failed or is not supported by this terminal (Book 3 10.5): a PIN method
        # without a PIN pad sets "PIN Pad not present", a code the terminal does not know
        # "Unrecognised CVM"; a known method it does not support (signature) neither.
        if outcome is None and method in PIN_METHODS:
            failure_bits.append(TvrBit.PIN_PAD_NOT_PRESENT)
        elif outcome is None and method not in RECOGNISED:
            failure_bits.append(TvrBit.UNRECOGNISED_CVM)
        last_failed = bytes([code, condition, RESULT_FAILED])
        if not code & APPLY_NEXT_IF_UNSUCCESSFUL:
            break
    failure_bits.append(TvrBit.CARDHOLDER_VERIFICATION_FAILED)
    results = last_failed if last_failed is not None else bytes([0x3F, 0x00, RESULT_FAILED])
    return CvmOutcome(Cvm.FAILED, results, tuple(dict.fromkeys(failure_bits)))


def _condition_met(
    condition: int,
    method: int,
    amount: int,
    x: int,
    y: int,
    in_application_currency: bool,
    transaction_type: int,
    terminal: TerminalCvms,
) -> bool:
    """CVM Condition Codes (Book 3 Annex C3 Table 40)."""
    purchase = transaction_type == 0x00
    if condition == 0x00:
        return True
    if condition in (0x01, 0x04):  # unattended cash / manual cash
        return False
    if condition == 0x02:  # not unattended cash, not manual cash, not cashback
        return purchase or transaction_type == 0x20
    if condition == 0x03:  # if terminal supports the CVM
        return _supported(method, terminal)
    if condition == 0x05:  # purchase with cashback
        return transaction_type == 0x09
    if condition in (0x06, 0x07, 0x08, 0x09):
        if not in_application_currency:
            return False
        return {0x06: amount < x, 0x07: amount > x, 0x08: amount < y, 0x09: amount > y}[condition]
    return False  # RFU condition codes are not satisfied


def _supported(method: int, terminal: TerminalCvms) -> bool:
    return {
        SIGNATURE: terminal.signature,
        NO_CVM_REQUIRED: terminal.no_cvm,
        ENCIPHERED_PIN_ONLINE: terminal.online_pin,
        FAIL_CVM: True,
    }.get(method, False)


def _perform(method: int, condition: int, terminal: TerminalCvms) -> CvmOutcome | None:
    """Perform a method; None when the terminal does not recognise or support it."""
    if method == FAIL_CVM:
        return CvmOutcome(Cvm.FAILED, bytes([method, condition, RESULT_FAILED]))
    if not _supported(method, terminal):
        return None
    if method == SIGNATURE:
        return CvmOutcome(Cvm.SIGNATURE, bytes([method, condition, RESULT_UNKNOWN]))
    if method == NO_CVM_REQUIRED:
        return CvmOutcome(Cvm.NO_CVM, bytes([method, condition, RESULT_SUCCESSFUL]))
    return CvmOutcome(Cvm.ONLINE_PIN, bytes([method, condition, RESULT_UNKNOWN]))
