"""The Entry Point against EMV Contactless Book B: kernel registry, pre-processing, candidates.

Each test is named after the Book B (or EMV Book 3) section it checks, and runs with the
registered test kernel (:mod:`tests.terminal.entry_rig`) as well as with C-2 and C-3
on emulated cards where the requirement reaches them.
"""

from __future__ import annotations

import ast
import inspect
from datetime import datetime
from pathlib import Path

import pytest

from card_emulation import EmvApplet
from emvcore import tlv
from emvcore.keyfile import IssuerKeySet
from terminal.errors import SettingsError
from terminal.kernel import Kernel, KernelConfig, Outcome, Transaction, registry
from terminal.kernel import kernel as entry_point
from terminal.kernel.config import DEFAULT_COMBINATIONS, Combination, ReaderLimits
from terminal.kernel.entry import DEFAULT_KERNEL_BY_RID, candidates
from terminal.kernel.outcome import Start
from terminal.kernel.preprocessing import preprocess
from terminal.kernel.sequence import FileCounter, MemoryCounter
from terminal.kernel.transaction import CASH, CASHBACK, PURCHASE, REFUND
from terminal.readers.emulated import LoopbackReader
from terminal.settings import kernel_config, load_settings
from terminal.tap import WELCOME, read_card
from tests.card_emulation.support import make_card
from tests.terminal.entry_rig import (
    TEST_AID,
    TEST_KERNEL_ID,
    answer,
    directory_entry,
    fci,
    gpo_data,
    ppse,
    registered,
)
from tests.terminal.support import RecordingReader, ScriptedReader, ppse_fci

WHEN = datetime(2026, 11, 22, 9, 30, 5)
UN = bytes.fromhex("A1B2C3D4")
VISA = bytes.fromhex("A0000000031010")
MASTERCARD = bytes.fromhex("A0000000041010")
EXTENDED = TEST_KERNEL_ID.to_bytes(3, "big")


def txn(amount: int = 1250, kind: int = PURCHASE) -> Transaction:
    return Transaction(amount, "EUR", transaction_type=kind, when=WHEN, unpredictable_number=UN)


def config_of(*combinations: Combination, **fields: object) -> KernelConfig:
    return KernelConfig(combinations=combinations, **fields)  # type: ignore[arg-type]


TEST_COMBINATION = Combination(TEST_AID, TEST_KERNEL_ID)


def scripted(*frames: bytes) -> ScriptedReader:
    return ScriptedReader(list(frames))


# -- 3.3.2: the kernel registry and kernel ids --------------------------------------------------


def test_book_b_3_3_2_5_extended_kernel_id_selects_the_registered_test_kernel() -> None:
    reader = scripted(
        ppse(directory_entry(TEST_AID, EXTENDED + b"\x04")),  # 9F2A may be longer than 3
        fci(TEST_AID),
        answer(Outcome.APPROVED),
    )
    with registered() as kernel:
        result = Kernel(config_of(TEST_COMBINATION)).run(reader, txn())
    assert (result.outcome, result.kernel_id, result.aid) == (
        Outcome.APPROVED,
        TEST_KERNEL_ID,
        TEST_AID,
    )
    assert len(kernel.sessions) == 1
    assert reader.sent[1][5:-1] == TEST_AID  # the final SELECT names the ADF


def test_book_b_3_3_2_5_kernel_id_parsing() -> None:
    assert registry.requested_kernel_id(bytes.fromhex("03")) == 3
    assert registry.requested_kernel_id(bytes.fromhex("42")) == 0x42  # b8-b7 = 01: short
    assert registry.requested_kernel_id(bytes.fromhex("810203")) == 0x810203  # 10: extended
    assert registry.requested_kernel_id(bytes.fromhex("C10203FF")) == 0xC10203  # 11: 3 bytes
    assert registry.requested_kernel_id(bytes.fromhex("C102")) is None  # too short: ignored
    assert registry.is_extended(0xC10203) and not registry.is_extended(0x3F)


def test_book_b_3_3_2_5_domestic_kernel_id_shorter_than_three_bytes_is_ignored() -> None:
    fci_ = ppse_fci(directory_entry(TEST_AID, EXTENDED[:2]))
    with registered():
        assert candidates(fci_, (TEST_COMBINATION,)) == []


def test_book_b_3_4_the_entry_point_names_no_kernel() -> None:
    # The Entry Point module imports no kernel module; C-2 and C-3 registered themselves.
    tree = ast.parse(inspect.getsource(entry_point))
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert not {"c2", "c3"} & imported
    assert {k: v.name for k, v in registry.registered().items() if k in (2, 3)} == {
        2: "C-2",
        3: "C-3",
    }


def test_book_b_3_4_a_kernel_id_nobody_registered_is_not_activated() -> None:
    config = config_of(Combination(VISA, 0x2A))
    frames = (ppse(directory_entry(VISA, b"\x2a")), fci(VISA))
    result = Kernel(config).run(scripted(*frames), txn())
    assert (result.outcome, result.reason) == (Outcome.END_APPLICATION, "kernel_not_supported")
    with registered(0x2A) as kernel:
        result = Kernel(config).run(scripted(*frames, answer(Outcome.DECLINED)), txn())
    assert (result.outcome, result.kernel_id) == (Outcome.DECLINED, 0x2A)
    assert len(kernel.sessions) == 1


def test_book_b_3_3_2_settings_name_kernel_ids(tmp_path: Path) -> None:
    path = tmp_path / "terminal.toml"
    with registered():
        path.write_text(
            "[[kernel.combination]]\naid = 'A0000000031010'\nkernel = 'c3'\n"
            "[[kernel.combination]]\naid = 'A0000000041010'\nkernel = 'C-2'\n"
            "[[kernel.combination]]\naid = 'A0000000041010'\nkernel = 2\n"
            f"[[kernel.combination]]\naid = '{TEST_AID.hex()}'\nkernel = 'C10203'\n"
            "transaction_types = ['refund']\nextended_selection = true\nttq = ''\n"
        )
        combinations = load_settings(path).combinations
    assert [c.kernel_id for c in combinations] == [3, 2, 2, TEST_KERNEL_ID]
    assert combinations[3].transaction_types == frozenset({REFUND})
    assert combinations[3].extended_selection_supported
    assert combinations[3].limits.ttq is None
    path.write_text("[[kernel.combination]]\naid = 'A0000000031010'\nkernel = 'C10203'\n")
    with pytest.raises(SettingsError, match="registered kernel"):
        load_settings(path)  # the test kernel is gone: its id names no kernel


# -- 3.3.2 / 3.3.3: the candidate list ------------------------------------------------------------


def test_book_b_3_3_2_5_kernel_id_00_means_any_kernel_for_the_aid() -> None:
    both = (Combination(VISA, 3), Combination(VISA, TEST_KERNEL_ID))
    found = candidates(ppse_fci(directory_entry(VISA, b"\x00")), both)
    # 00 takes the RID default (Visa: kernel 3) ...
    assert [c.kernel_id for c in found] == [3]
    # ... and an RID without one matches every kernel configured for the AID.
    other = (Combination(TEST_AID, 3), Combination(TEST_AID, TEST_KERNEL_ID))
    found = candidates(ppse_fci(directory_entry(TEST_AID, b"\x00")), other)
    assert [c.kernel_id for c in found] == [3, TEST_KERNEL_ID]


def test_book_b_3_3_2_5_rid_without_default_kernel_selects_with_the_configured_kernel() -> None:
    reader = scripted(ppse(directory_entry(TEST_AID)), fci(TEST_AID), answer(Outcome.APPROVED))
    with registered() as kernel:
        result = Kernel(config_of(TEST_COMBINATION)).run(reader, txn())
    assert (result.outcome, result.kernel_id) == (Outcome.APPROVED, TEST_KERNEL_ID)
    assert len(kernel.sessions) == 1


def test_book_b_table_3_6_rid_default_kernels() -> None:
    assert {rid.hex().upper(): k for rid, k in DEFAULT_KERNEL_BY_RID.items()} == {
        "A000000004": 2,
        "A000000003": 3,
        "A000000025": 4,
        "A000000065": 5,
        "A000000152": 6,
        "A000000324": 6,
        "A000000333": 7,
    }
    found = candidates(
        ppse_fci(directory_entry(bytes.fromhex("A0000003241010"))),
        (Combination(bytes.fromhex("A000000324"), 6), Combination(bytes.fromhex("A000000324"), 2)),
    )
    assert [c.kernel_id for c in found] == [6]


def test_book_b_3_3_3_6_kernel_3_pdol_without_ttq_needs_kernel_1() -> None:
    frames = (ppse(directory_entry(VISA)), fci(VISA, pdol=bytes.fromhex("9F0206")))
    config = config_of(Combination(VISA, 3))
    result = Kernel(config).run(scripted(*frames), txn())
    assert (result.outcome, result.reason) == (Outcome.END_APPLICATION, "kernel_1_not_supported")
    with registered(1) as kernel_1:
        result = Kernel(config).run(scripted(*frames, answer(Outcome.APPROVED)), txn())
    assert (result.outcome, result.kernel_id) == (Outcome.APPROVED, 1)
    assert len(kernel_1.sessions) == 1


def test_book_b_3_3_3_6_kernel_3_pdol_with_ttq_stays_kernel_3(keys: IssuerKeySet) -> None:
    reader = RecordingReader(EmvApplet(make_card(keys, "visa")))
    with registered(1) as kernel_1:
        result = Kernel().run(reader, txn())
    assert (result.outcome, result.kernel_id) == (Outcome.ONLINE_REQUEST, 3)
    assert kernel_1.sessions == []


@pytest.mark.parametrize("supported", [True, False])
def test_book_b_3_3_2_5_extended_selection(supported: bool) -> None:
    extra = bytes.fromhex("0102")
    reader = scripted(
        ppse(directory_entry(TEST_AID, EXTENDED, extended_selection=extra)),
        fci(TEST_AID + extra),
        answer(Outcome.APPROVED),
    )
    combination = Combination(TEST_AID, TEST_KERNEL_ID, extended_selection_supported=supported)
    with registered():
        assert Kernel(config_of(combination)).run(reader, txn()).outcome is Outcome.APPROVED
    assert reader.sent[1][5:-1] == (TEST_AID + extra if supported else TEST_AID)


# -- 3.1.1: pre-processing --------------------------------------------------------------------


def test_book_b_3_1_1_6_terminal_floor_limit_where_the_reader_floor_limit_is_absent() -> None:
    no_floor = Combination(VISA, 3, ReaderLimits(floor_limit=None))
    assert not preprocess(no_floor, 1_000, "EUR").floor_limit_exceeded
    i = preprocess(no_floor, 1_001, "EUR", terminal_floor_limit=1_000)
    assert (i.floor_limit_exceeded, i.online_required, i.ttq[1] & 0x80) == (True, True, 0x80)
    assert not preprocess(no_floor, 1_000, "EUR", terminal_floor_limit=1_000).floor_limit_exceeded
    # The reader's own limit wins where it is set.
    own = Combination(VISA, 3, ReaderLimits(floor_limit=5_000))
    assert not preprocess(own, 1_001, "EUR", terminal_floor_limit=1_000).floor_limit_exceeded


def test_book_b_3_1_1_1_a_combination_without_a_ttq() -> None:
    combination = Combination(TEST_AID, TEST_KERNEL_ID, ReaderLimits(ttq=None))
    i = preprocess(combination, 6_000, "EUR")
    assert (i.ttq_configured, i.ttq, i.cvm_required) == (False, bytes(4), True)
    reader = scripted(
        ppse(directory_entry(TEST_AID, EXTENDED)), fci(TEST_AID), answer(Outcome.APPROVED)
    )
    with registered() as kernel:
        Kernel(config_of(combination)).run(reader, txn(6_000))
    assert 0x9F66 not in kernel.echoed[0]  # no TTQ among the Entry Point's data
    with registered() as kernel:
        Kernel(config_of(TEST_COMBINATION)).run(
            scripted(
                ppse(directory_entry(TEST_AID, EXTENDED)), fci(TEST_AID), answer(Outcome.APPROVED)
            ),
            txn(6_000),
        )
    assert kernel.echoed[0][0x9F66] == bytes.fromhex("23C04000")


def test_book_b_3_1_1_combination_sets_per_transaction_type() -> None:
    refunds = Combination(TEST_AID, TEST_KERNEL_ID, transaction_types=frozenset({REFUND}))
    config = config_of(refunds)
    purchase = Kernel(config).run(scripted(), txn(1250, PURCHASE))  # no card exchange at all
    assert (purchase.outcome, purchase.reason) == (
        Outcome.TRY_ANOTHER_INTERFACE,
        "amount_not_allowed_contactless",
    )
    for kind in (REFUND,):
        reader = scripted(
            ppse(directory_entry(TEST_AID, EXTENDED)), fci(TEST_AID), answer(Outcome.APPROVED)
        )
        with registered():
            assert Kernel(config).run(reader, txn(1250, kind)).outcome is Outcome.APPROVED
    mixed = (
        Combination(VISA, 3, transaction_types=frozenset({PURCHASE, CASHBACK})),
        Combination(MASTERCARD, 2, transaction_types=frozenset({CASH, REFUND})),
    )
    by_type = {k: [c.aid for c in config_of(*mixed).combinations_for(k)] for k in (0, 1, 9, 0x20)}
    assert by_type == {0: [VISA], 1: [MASTERCARD], 9: [VISA], 0x20: [MASTERCARD]}


def test_book_b_3_1_1_4_zero_amount_on_an_offline_only_reader_is_excluded() -> None:
    offline_only = Combination(VISA, 3, ReaderLimits(ttq=bytes.fromhex("2B004000")))
    online = Combination(VISA, 3, ReaderLimits(ttq=bytes.fromhex("23004000")))
    assert not preprocess(offline_only, 0, "EUR").allowed
    assert preprocess(offline_only, 100, "EUR").allowed
    zero_online = preprocess(online, 0, "EUR")
    assert (zero_online.allowed, zero_online.online_required) == (True, True)


@pytest.mark.parametrize("profile_name", ["visa", "mastercard"])
def test_book_b_3_1_1_13_preprocessing_runs_before_the_reader_is_polled(
    keys: IssuerKeySet, profile_name: str
) -> None:
    class NeverPolled(LoopbackReader):
        def wait_for_card(self, timeout: float | None = None):  # type: ignore[no-untyped-def]
            raise AssertionError("the field was polled")

    reader = NeverPolled(EmvApplet(make_card(keys, profile_name)))
    shown: list[object] = []
    result = read_card(reader, txn(50_000), kernel=Kernel(), wait=0.1, show=shown.append)
    assert (result.outcome, result.reason) == (
        Outcome.TRY_ANOTHER_INTERFACE,
        "amount_not_allowed_contactless",
    )
    assert shown == [WELCOME]


# -- terminal data: 9C, 9F41, 9F06 (EMV Book 3 Annex A) ------------------------------------------


@pytest.mark.parametrize(
    ("kind", "sent"), [(PURCHASE, "00"), (CASH, "01"), (CASHBACK, "09"), (REFUND, "20")]
)
def test_book_3_annex_a_transaction_type_is_n2(kind: int, sent: str) -> None:
    every = Combination(TEST_AID, TEST_KERNEL_ID)
    reader = scripted(
        ppse(directory_entry(TEST_AID, EXTENDED)), fci(TEST_AID), answer(Outcome.APPROVED)
    )
    with registered():
        Kernel(config_of(every)).run(reader, txn(1250, kind))
    assert gpo_data(reader.sent[2])[0x9C].hex() == sent


@pytest.mark.parametrize("profile_name", ["visa", "mastercard"])
def test_book_3_annex_a_refund_goes_out_as_20_with_c2_and_c3(
    keys: IssuerKeySet, profile_name: str
) -> None:
    reader = RecordingReader(EmvApplet(make_card(keys, profile_name)))
    result = Kernel().run(reader, txn(1250, REFUND))
    record = tlv.flatten(result.data_record)
    assert record[0x9C] == b"\x20"
    assert record[0x9F06] == result.aid  # Application Identifier (terminal): the selected AID


def test_book_3_annex_a_sequence_counter_increments_per_transaction_and_persists(
    tmp_path: Path, keys: IssuerKeySet
) -> None:
    path = tmp_path / "state" / "sequence-counter"
    config = KernelConfig(sequence_counter=FileCounter(path))
    seen = []
    for _ in range(2):
        reader = RecordingReader(EmvApplet(make_card(keys, "visa")))
        seen.append(tlv.flatten(Kernel(config).run(reader, txn()).data_record)[0x9F41].hex())
    assert seen == ["00000001", "00000002"]
    assert FileCounter(path).next() == 3  # a new process continues where the last one stopped
    path.write_text("garbage")
    with pytest.raises(ValueError, match="corrupt"):
        FileCounter(path).next()


def test_book_3_annex_a_sequence_counter_is_kept_across_a_restart() -> None:
    reader = scripted(
        ppse(directory_entry(TEST_AID, EXTENDED)),
        fci(TEST_AID),
        answer(Outcome.TRY_AGAIN, start=Start.B),
        ppse(directory_entry(TEST_AID, EXTENDED)),
        fci(TEST_AID),
        answer(Outcome.APPROVED),
    )
    config = config_of(TEST_COMBINATION, sequence_counter=MemoryCounter(41))
    with registered() as kernel:
        result = read_card(reader, txn(), kernel=Kernel(config), wait=0.1, show=lambda ui: None)
    assert result.outcome is Outcome.APPROVED
    assert [e[0x9F41].hex() for e in kernel.echoed] == ["00000042", "00000042"]
    assert [e[0x9F06] for e in kernel.echoed] == [TEST_AID, TEST_AID]


def test_default_combinations_still_run_c2_and_c3() -> None:
    assert {c.kernel_id for c in DEFAULT_COMBINATIONS} == {2, 3}


def test_book_b_3_1_1_settings_terminal_floor_limit_and_sequence_counter(tmp_path: Path) -> None:
    path = tmp_path / "terminal.toml"
    path.write_text(
        "[kernel]\nterminal_floor_limit = 1000\nsequence_counter = 'state/sequence-counter'\n"
    )
    config = kernel_config(load_settings(path))
    assert config.terminal_floor_limit == 1000
    assert isinstance(config.sequence_counter, FileCounter)
    assert config.sequence_counter.path == tmp_path / "state" / "sequence-counter"
    assert config.sequence_counter.next() == 1
    assert (tmp_path / "state" / "sequence-counter").read_text() == "1\n"
