"""CVM List processing (EMV Book 3 10.5, Annex C3): conditions, X/Y, apply-next, TVR bits."""

from __future__ import annotations

import pytest

from terminal.kernel.cvm import Cvm, CvmOutcome, TerminalCvms, process_cvm_list
from terminal.kernel.tvr import TvrBit

SIGNATURE_ONLY = TerminalCvms(signature=True, online_pin=False, no_cvm=False)
NO_CVM_ONLY = TerminalCvms(signature=False, online_pin=False, no_cvm=True)
EVERYTHING = TerminalCvms(signature=True, online_pin=True, no_cvm=True)
X, Y = 1_000, 5_000
PURCHASE, CASH, CASHBACK, REFUND = 0x00, 0x01, 0x09, 0x20


def cvm_list(*rules: str, x: int = X, y: int = Y) -> bytes:
    return x.to_bytes(4, "big") + y.to_bytes(4, "big") + bytes.fromhex("".join(rules))


def run(
    rules: bytes,
    *,
    amount: int = 2_000,
    same_currency: bool = True,
    transaction_type: int = PURCHASE,
    terminal: TerminalCvms = EVERYTHING,
) -> CvmOutcome:
    return process_cvm_list(
        rules,
        amount=amount,
        in_application_currency=same_currency,
        transaction_type=transaction_type,
        terminal=terminal,
    )


# Signature (1E) under each condition code; the fallback rule is "no CVM, always" (1F00).
@pytest.mark.parametrize(
    ("condition", "amount", "transaction_type", "satisfied"),
    [
        pytest.param(0x00, 2_000, PURCHASE, True, id="00-always"),
        pytest.param(0x01, 2_000, CASH, False, id="01-unattended-cash"),
        pytest.param(0x02, 2_000, PURCHASE, True, id="02-not-cash-or-cashback-purchase"),
        pytest.param(0x02, 2_000, REFUND, True, id="02-not-cash-or-cashback-refund"),
        pytest.param(0x02, 2_000, CASHBACK, False, id="02-not-cash-or-cashback-cashback"),
        pytest.param(0x02, 2_000, CASH, False, id="02-not-cash-or-cashback-cash"),
        pytest.param(0x03, 2_000, PURCHASE, True, id="03-terminal-supports-the-cvm"),
        pytest.param(0x04, 2_000, CASH, False, id="04-manual-cash"),
        pytest.param(0x05, 2_000, CASHBACK, True, id="05-cashback"),
        pytest.param(0x05, 2_000, PURCHASE, False, id="05-cashback-purchase"),
        pytest.param(0x06, 999, PURCHASE, True, id="06-under-x"),
        pytest.param(0x06, 1_000, PURCHASE, False, id="06-at-x"),
        pytest.param(0x07, 1_001, PURCHASE, True, id="07-over-x"),
        pytest.param(0x07, 1_000, PURCHASE, False, id="07-at-x"),
        pytest.param(0x08, 4_999, PURCHASE, True, id="08-under-y"),
        pytest.param(0x08, 5_000, PURCHASE, False, id="08-at-y"),
        pytest.param(0x09, 5_001, PURCHASE, True, id="09-over-y"),
        pytest.param(0x09, 5_000, PURCHASE, False, id="09-at-y"),
        pytest.param(0x0A, 2_000, PURCHASE, False, id="0A-rfu-never"),
    ],
)
def test_condition_codes(
    condition: int, amount: int, transaction_type: int, satisfied: bool
) -> None:
    outcome = run(
        cvm_list(f"1E{condition:02X}", "1F00"), amount=amount, transaction_type=transaction_type
    )
    if satisfied:
        assert outcome == CvmOutcome(Cvm.SIGNATURE, bytes([0x1E, condition, 0x00]))
    else:
        assert outcome == CvmOutcome(Cvm.NO_CVM, bytes.fromhex("1F0002"))


def test_condition_03_skips_a_cvm_the_terminal_lacks() -> None:
    outcome = run(cvm_list("1E03", "1F03"), terminal=NO_CVM_ONLY)
    assert outcome == CvmOutcome(Cvm.NO_CVM, bytes.fromhex("1F0302"))


@pytest.mark.parametrize("condition", [0x06, 0x07, 0x08, 0x09])
def test_amount_conditions_need_the_application_currency(condition: int) -> None:
    # Any amount satisfies one of the two: X = 0 "over X", Y = huge "under Y"...
    rules = cvm_list(f"1E{condition:02X}", "1F00", x=0, y=0xFFFFFFFF)
    assert run(rules, amount=1, same_currency=True).cvm in (Cvm.SIGNATURE, Cvm.NO_CVM)
    # ... but never in another currency (Book 3 10.5: the condition is not satisfied).
    assert run(rules, amount=1, same_currency=False) == CvmOutcome(
        Cvm.NO_CVM, bytes.fromhex("1F0002")
    )


def test_x_and_y_are_read_from_the_list() -> None:
    rules = cvm_list("1E09", "1F00", x=0, y=12_345)
    assert run(rules, amount=12_346).cvm is Cvm.SIGNATURE
    assert run(rules, amount=12_345).cvm is Cvm.NO_CVM


def test_apply_next_after_an_unsupported_method() -> None:
    # Signature the terminal cannot do, b7 set: go on to "no CVM".
    outcome = run(cvm_list("5E00", "1F00"), terminal=NO_CVM_ONLY)
    assert outcome == CvmOutcome(Cvm.NO_CVM, bytes.fromhex("1F0002"))


def test_without_apply_next_the_first_failure_ends_it() -> None:
    outcome = run(cvm_list("1E00", "1F00"), terminal=NO_CVM_ONLY)
    assert outcome == CvmOutcome(
        Cvm.FAILED, bytes.fromhex("1E0001"), (TvrBit.CARDHOLDER_VERIFICATION_FAILED,)
    )


def test_fail_cvm() -> None:
    assert run(cvm_list("0000", "1F00")) == CvmOutcome(
        Cvm.FAILED, bytes.fromhex("000001"), (TvrBit.CARDHOLDER_VERIFICATION_FAILED,)
    )
    # Fail CVM with apply-next: the next rule decides.
    assert run(cvm_list("4000", "1F00")).cvm is Cvm.NO_CVM


def test_pin_method_without_a_pin_pad_sets_pin_pad_not_present() -> None:
    for method in ("01", "02", "03", "04", "05"):
        outcome = run(cvm_list(f"{method}00"), terminal=SIGNATURE_ONLY)
        assert outcome == CvmOutcome(
            Cvm.FAILED,
            bytes.fromhex(f"{method}0001"),
            (TvrBit.PIN_PAD_NOT_PRESENT, TvrBit.CARDHOLDER_VERIFICATION_FAILED),
        ), method


def test_unrecognised_method_sets_unrecognised_cvm() -> None:
    outcome = run(cvm_list("4A00", "1E00"), terminal=SIGNATURE_ONLY)
    # An RFU method with apply-next: "Unrecognised CVM", then signature succeeds.
    assert outcome == CvmOutcome(Cvm.SIGNATURE, bytes.fromhex("1E0000"), (TvrBit.UNRECOGNISED_CVM,))


def test_known_but_unsupported_method_sets_no_method_bit() -> None:
    outcome = run(cvm_list("1E00"), terminal=NO_CVM_ONLY)
    assert outcome.tvr_bits == (TvrBit.CARDHOLDER_VERIFICATION_FAILED,)


def test_online_pin_when_supported() -> None:
    assert run(cvm_list("0200")) == CvmOutcome(Cvm.ONLINE_PIN, bytes.fromhex("020000"))


def test_no_rule_applies() -> None:
    # Every condition fails: cardholder verification not successful, CVM Results 3F0001.
    outcome = run(cvm_list("1E06", "1F06"), amount=5_000)
    assert outcome == CvmOutcome(
        Cvm.FAILED, bytes.fromhex("3F0001"), (TvrBit.CARDHOLDER_VERIFICATION_FAILED,)
    )


@pytest.mark.parametrize("rules", [b"", bytes(8), bytes(8) + b"\x1e", bytes(8) + b"\x1e\x00\x1f"])
def test_empty_or_malformed_list_is_icc_data_missing(rules: bytes) -> None:
    assert run(rules) == CvmOutcome(Cvm.NONE, bytes.fromhex("3F0000"), (TvrBit.ICC_DATA_MISSING,))
