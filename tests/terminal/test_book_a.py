"""The Entry Point against EMV Contactless Book A: Outcome parameters, restarts, UI, autorun.

Each test is named after the Book A (or Book B) section it checks and runs with the
registered test kernel (:mod:`tests.terminal.entry_rig`) and, where the requirement reaches
them, with C-2 and C-3 on emulated cards.
"""

from __future__ import annotations

import enum
import importlib
import pkgutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import pytest

import terminal.kernel
from card_emulation import EmvApplet
from emvcore import tlv
from emvcore.keyfile import IssuerKeySet
from terminal.kernel import Kernel, KernelConfig, Outcome, Transaction
from terminal.kernel.config import Combination
from terminal.kernel.issuer_update import OnlineResponse
from terminal.kernel.outcome import (
    DEFAULT_UI,
    ONE_CARD_ONLY,
    PRESENT_CARD,
    SEE_PHONE,
    WELCOME,
    AlternateInterface,
    KernelResult,
    OnlineResponseData,
    Start,
)
from terminal.kernel.ui import MessageId, Status, UiRequest, ValueQualifier
from terminal.readers.base import CardInfo
from terminal.readers.emulated import LoopbackReader
from terminal.tap import REMOVE_CARD, go_online, read_card, remove_card
from tests.card_emulation.support import make_card
from tests.terminal.entry_rig import (
    TAG_RESTART_FLAG,
    TEST_AID,
    TEST_KERNEL_ID,
    answer,
    directory_entry,
    fci,
    ppse,
    registered,
)
from tests.terminal.support import RecordingReader, ScriptedReader

WHEN = datetime(2026, 11, 22, 9, 30, 5)
UN = bytes.fromhex("A1B2C3D4")
EXTENDED = TEST_KERNEL_ID.to_bytes(3, "big")
CONFIG = KernelConfig(combinations=(Combination(TEST_AID, TEST_KERNEL_ID),))


def txn(amount: int = 1250) -> Transaction:
    return Transaction(amount, "EUR", when=WHEN, unpredictable_number=UN)


def tap(*answers: bytes) -> list[bytes]:
    """The frames of one test-kernel tap per scripted GPO answer."""
    frames: list[bytes] = []
    for gpo in answers:
        frames += [ppse(directory_entry(TEST_AID, EXTENDED)), fci(TEST_AID), gpo]
    return frames


# -- 6.2: the Outcome parameter set ----------------------------------------------------------


def test_book_a_6_2_every_parameter_from_the_test_kernel_reaches_the_terminal() -> None:
    gpo = answer(
        Outcome.TRY_ANOTHER_INTERFACE,
        alternate=AlternateInterface.CONTACT_CHIP,
        field_off_ms=1300,
        removal_ms=500,
        receipt=True,
        discretionary=b"\xde\xad",
        ui=UiRequest(MessageId.INSERT_CARD, Status.PROCESSING_ERROR),
        ui_on_restart=MessageId.PRESENT_CARD,
    )
    with registered():
        result = Kernel(CONFIG).run(ScriptedReader(tap(gpo)), txn())
    assert (result.outcome, result.start, result.alternate_interface) == (
        Outcome.TRY_ANOTHER_INTERFACE,
        Start.NA,
        AlternateInterface.CONTACT_CHIP,
    )
    assert (result.field_off_request_ms, result.removal_timeout_ms, result.receipt) == (
        1300,
        500,
        True,
    )
    assert result.ui_request_on_outcome_present and result.ui.message is MessageId.INSERT_CARD
    assert result.ui_request_on_restart_present
    assert result.discretionary_data_present and result.discretionary_data == b"\xde\xad"
    assert not result.data_record_present


@pytest.mark.parametrize("profile_name", ["visa", "mastercard"])
def test_book_a_6_2_outcome_parameter_set_of_c2_and_c3(
    keys: IssuerKeySet, profile_name: str
) -> None:
    reader = LoopbackReader(EmvApplet(make_card(keys, profile_name)))
    result = Kernel().run(reader, txn())
    assert result.outcome is Outcome.ONLINE_REQUEST
    assert (result.start, result.online_response_data) == (Start.D, OnlineResponseData.EMV_DATA)
    assert result.data_record_present and result.ui_request_on_outcome_present
    assert not (result.ui_request_on_restart_present or result.discretionary_data_present)
    assert (result.alternate_interface, result.field_off_request_ms, result.removal_timeout_ms) == (
        AlternateInterface.NA,
        None,
        0,
    )
    assert result.restart is False and result.receipt is False


def test_book_a_6_2_c3_try_another_interface_prefers_contact_chip() -> None:
    # GPO '6984': the card will not go on contactlessly (Book C-3).
    frames = [
        ppse(directory_entry(bytes.fromhex("A0000000031010"))),
        fci(bytes.fromhex("A0000000031010"), pdol=bytes.fromhex("9F6604")),
        bytes.fromhex("6984"),
    ]
    result = Kernel().run(ScriptedReader(frames), txn())
    assert (result.outcome, result.alternate_interface) == (
        Outcome.TRY_ANOTHER_INTERFACE,
        AlternateInterface.CONTACT_CHIP,
    )


def test_book_a_6_2_field_off_request_is_passed_to_the_reader() -> None:
    class FieldReader(ScriptedReader):
        def __init__(self, frames: list[bytes]) -> None:
            super().__init__(frames)
            self.field_offs: list[tuple[int, int]] = []

        def field_off(self, hold_ms: int) -> bool:
            self.field_offs.append((hold_ms, len(self.sent)))
            return True

    first = answer(Outcome.TRY_AGAIN, start=Start.B, field_off_ms=1300)
    reader = FieldReader(tap(first, answer(Outcome.APPROVED)))
    with registered():
        result = read_card(reader, txn(), kernel=Kernel(CONFIG), wait=0.1, show=lambda ui: None)
    assert result.outcome is Outcome.APPROVED
    assert reader.field_offs == [(1300, 3)]  # after the first activation, before the second


class FramesCard:
    """A card object for the loopback reader answering scripted frames; counts its resets."""

    def __init__(self, frames: list[bytes]) -> None:
        self.frames = list(frames)
        self.resets = 0
        self.answered_after_reset: list[int] = []

    def process_apdu(self, apdu: bytes) -> bytes:
        self.answered_after_reset.append(self.resets)
        return self.frames.pop(0)

    def reset(self) -> None:
        self.resets += 1


#: Far beyond any bounded wait here; a wait that ignored its bound fails the test instead.
HANG_GUARD = 20.0


def in_thread(call: Callable[[], object]) -> tuple[threading.Thread, dict[str, object]]:
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["result"] = call()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


def ended(thread: threading.Thread, box: dict[str, object]) -> object:
    thread.join(HANG_GUARD)
    assert not thread.is_alive(), "the call did not return"
    return box.get("error", box.get("result"))


def test_book_a_6_2_field_off_request_resets_the_card_on_the_loopback() -> None:
    """The loopback's field drop resets the card; the restart's commands come after it."""
    first = answer(Outcome.TRY_AGAIN, start=Start.B, field_off_ms=10)
    card = FramesCard(tap(first, answer(Outcome.APPROVED)))
    reader = LoopbackReader(card)
    with registered():
        result = read_card(reader, txn(), kernel=Kernel(CONFIG), wait=1, show=lambda ui: None)
    assert result.outcome is Outcome.APPROVED
    assert card.resets == 1
    assert card.answered_after_reset == [0, 0, 0, 1, 1, 1]  # first activation, then restart


def test_book_a_6_2_no_field_off_request_no_reset() -> None:
    card = FramesCard(tap(answer(Outcome.TRY_AGAIN, start=Start.B), answer(Outcome.APPROVED)))
    with registered():
        result = read_card(LoopbackReader(card), txn(), kernel=Kernel(CONFIG), wait=1,
                           show=lambda ui: None)  # fmt: skip
    assert (result.outcome, card.resets) == (Outcome.APPROVED, 0)


def test_book_a_6_2_removal_timeout_bounds_the_wait_for_removal() -> None:
    """The outcome's Removal Timeout, not the caller's endless wait, ends "Remove card"."""
    card = FramesCard(tap(answer(Outcome.APPROVED, removal_ms=50)))
    reader = LoopbackReader(card)
    with registered():
        result = read_card(reader, txn(), kernel=Kernel(CONFIG), wait=1, show=lambda ui: None)
    assert (result.outcome, result.removal_timeout_ms) == (Outcome.APPROVED, 50)
    shown: list[UiRequest] = []
    thread, box = in_thread(
        lambda: remove_card(reader, timeout=None, show=shown.append, read=result)
    )
    assert ended(thread, box) is False  # the card stayed: not removed in time
    assert shown == [REMOVE_CARD]
    # The next transaction does not read the card left in the field, and says so.
    with registered():
        again = read_card(reader, txn(), kernel=Kernel(CONFIG), wait=0.05, show=shown.append)
    assert (again.outcome, again.reason) == (Outcome.TRY_AGAIN, "card_not_removed")
    assert card.frames == []  # nothing was sent to it


def test_book_a_6_2_removal_timeout_card_removed_in_time() -> None:
    card = FramesCard(tap(answer(Outcome.APPROVED, removal_ms=60_000)))
    reader = LoopbackReader(card)
    with registered():
        result = read_card(reader, txn(), kernel=Kernel(CONFIG), wait=1, show=lambda ui: None)
    asked = threading.Event()

    def show(ui: UiRequest) -> None:
        if ui == REMOVE_CARD:
            asked.set()

    thread, box = in_thread(lambda: remove_card(reader, timeout=0.0, show=show, read=result))
    assert asked.wait(HANG_GUARD)
    reader.remove()  # the customer takes the card within the outcome's 60 s
    assert ended(thread, box) is True
    assert not reader.removal_pending


# -- 6.5 / Book B 3.5: restarts ----------------------------------------------------------------


def test_book_a_6_5_start_b_after_try_again_with_the_ui_request_on_restart() -> None:
    first = answer(
        Outcome.TRY_AGAIN,
        start=Start.B,
        ui=UiRequest(MessageId.SEE_PHONE, Status.NOT_READY),
        ui_on_restart=MessageId.PRESENT_CARD_AGAIN,
    )
    shown: list[UiRequest] = []
    with registered() as kernel:
        result = read_card(
            ScriptedReader(tap(first, answer(Outcome.APPROVED))),
            txn(),
            kernel=Kernel(CONFIG),
            wait=0.1,
            show=shown.append,
        )
    assert result.outcome is Outcome.APPROVED
    assert [ui.message for ui in shown] == [
        MessageId.WELCOME,
        MessageId.PRESENT_CARD,
        MessageId.SEE_PHONE,
        MessageId.PRESENT_CARD_AGAIN,  # the UI Request on Restart, not "Present card"
    ]
    # The restart flag: the kernel learns the second activation is a restart.
    assert [e[TAG_RESTART_FLAG] for e in kernel.echoed] == [b"\x00", b"\x01"]


@pytest.mark.parametrize("profile_name", ["visa-phone", "mastercard-phone"])
def test_book_a_6_5_start_b_after_see_phone_with_c2_and_c3(
    keys: IssuerKeySet, profile_name: str
) -> None:
    reader = LoopbackReader(EmvApplet(make_card(keys, profile_name)))
    shown: list[UiRequest] = []
    result = read_card(reader, txn(6_000), kernel=Kernel(), wait=0.1, show=shown.append)
    assert result.outcome is Outcome.ONLINE_REQUEST
    assert shown == [WELCOME, PRESENT_CARD, SEE_PHONE, PRESENT_CARD]
    first = Kernel().run(LoopbackReader(EmvApplet(make_card(keys, profile_name))), txn(6_000))
    assert (first.start, first.ui_on_restart) == (Start.B, PRESENT_CARD)


def test_book_a_6_5_start_c_after_select_next() -> None:
    second = bytes.fromhex("F0000000AA0002")
    frames = [
        ppse(
            directory_entry(TEST_AID, EXTENDED, priority=1)
            + directory_entry(second, EXTENDED, priority=2)
        ),
        fci(TEST_AID),
        answer(Outcome.SELECT_NEXT),
        fci(second),  # Start C: the next candidate, no new PPSE
        answer(Outcome.APPROVED),
    ]
    reader = ScriptedReader(frames)
    config = KernelConfig(
        combinations=(Combination(TEST_AID, TEST_KERNEL_ID), Combination(second, TEST_KERNEL_ID))
    )
    with registered() as kernel:
        result = Kernel(config).run(reader, txn())
    assert (result.outcome, result.aid) == (Outcome.APPROVED, second)
    assert len(kernel.sessions) == 2 and reader.frames == []


def test_book_a_6_5_start_d_hands_the_online_response_to_the_kernel() -> None:
    gpo = answer(Outcome.ONLINE_REQUEST, start=Start.D, online_data=OnlineResponseData.EMV_DATA)
    reader = ScriptedReader(tap(gpo))
    with registered() as kernel:
        entry_point = Kernel(CONFIG)
        read = entry_point.run(reader, txn())
        emv = bytes.fromhex("910A" + "11" * 10 + "7109" + "9F180400000001" + "8600")
        final = entry_point.online_response(reader, read, OnlineResponse.from_emv_data(True, emv))
    assert final.outcome is Outcome.APPROVED and final.start is Start.NA
    (response,) = kernel.resumed
    assert response.issuer_authentication_data == b"\x11" * 10
    assert response.scripts == (bytes.fromhex("7109" + "9F180400000001" + "8600"),)


@pytest.mark.parametrize("profile_name", ["visa", "mastercard"])
def test_book_a_6_5_start_d_with_c2_and_c3_runs_issuer_authentication_and_scripts(
    keys: IssuerKeySet, profile_name: str
) -> None:
    reader = RecordingReader(EmvApplet(make_card(keys, profile_name)))
    entry_point = Kernel()
    read = entry_point.run(reader, txn())
    script = tlv.encode(
        0x72,
        tlv.encode(0x9F18, bytes.fromhex("00000007"))
        + tlv.encode(0x86, bytes.fromhex("84DA000000")),
    )
    response = OnlineResponse(True, b"\x00" * 10, (script,))
    final = entry_point.online_response(reader, read, response)
    # EXTERNAL AUTHENTICATE, then the script's command, after the kernel's own commands.
    assert reader.instructions[-2:] == [0x82, 0xDA]
    assert final.issuer_authenticated is False  # a made-up ARPC: the card refuses it
    assert (final.outcome, final.reason) == (Outcome.DECLINED, "issuer_authentication_failed")
    assert final.issuer_script_results[1:] == bytes.fromhex("00000007")
    assert final.issuer_script_results[0] >> 4 in (1, 2)  # performed: failed or successful


def test_book_a_6_5_start_d_from_the_online_step() -> None:
    @dataclass(frozen=True)
    class Decision:
        approved: bool = True
        reason: str = "approved"
        issuer_authentication_data: bytes | None = b"\x22" * 10
        issuer_scripts: tuple[bytes, ...] = (bytes.fromhex("72038600"),)

    gpo = answer(Outcome.ONLINE_REQUEST, start=Start.D, online_data=OnlineResponseData.EMV_DATA)
    reader = ScriptedReader(tap(gpo))
    with registered() as kernel:
        entry_point = Kernel(CONFIG)
        read = entry_point.run(reader, txn())
        online = go_online(reader, read, kernel=entry_point, submit=lambda record, key: Decision(),
                           reverse=None, show=lambda ui: None)  # fmt: skip
    assert online.outcome is Outcome.APPROVED
    assert [(r.issuer_authentication_data, r.scripts) for r in kernel.resumed] == [
        (b"\x22" * 10, (bytes.fromhex("72038600"),))
    ]


# -- 5 and 9: protocol activation and the user interface -----------------------------------------


def test_book_a_9_welcome_idle_before_present_card() -> None:
    shown: list[UiRequest] = []
    with registered():
        read_card(ScriptedReader(tap(answer(Outcome.APPROVED))), txn(), kernel=Kernel(CONFIG),
                  wait=0.1, show=shown.append)  # fmt: skip
    assert shown[:2] == [WELCOME, PRESENT_CARD]
    assert (shown[0].message, shown[0].status) == (MessageId.WELCOME, Status.IDLE)
    assert shown[1].status is Status.READY_TO_READ


def test_book_b_3_2_1_collision_then_ready_to_read() -> None:
    class TwoCardsFirst(ScriptedReader):
        polls = 0

        def wait_for_card(self, timeout: float | None = None) -> CardInfo:
            from terminal.errors import CardCollisionError

            self.polls += 1
            if self.polls == 1:
                raise CardCollisionError("two cards")
            return super().wait_for_card(timeout)

    shown: list[UiRequest] = []
    with registered():
        result = read_card(TwoCardsFirst(tap(answer(Outcome.APPROVED))), txn(),
                           kernel=Kernel(CONFIG), wait=0.1, show=shown.append)  # fmt: skip
    assert result.outcome is Outcome.APPROVED
    assert shown == [WELCOME, PRESENT_CARD, ONE_CARD_ONLY, PRESENT_CARD]
    assert (ONE_CARD_ONLY.message, ONE_CARD_ONLY.status) == (0x19, Status.PROCESSING_ERROR)


@pytest.mark.parametrize("profile_name", ["visa", "mastercard"])
def test_book_a_9_2_end_application_shows_processing_error(
    keys: IssuerKeySet, profile_name: str
) -> None:
    # A terminal that supports neither application: End Application.
    config = KernelConfig(combinations=(Combination(TEST_AID, 3),))
    result = Kernel(config).run(LoopbackReader(EmvApplet(make_card(keys, profile_name))), txn())
    assert result.outcome is Outcome.END_APPLICATION
    assert result.ui.status is Status.PROCESSING_ERROR
    assert result.ui.status is not Status.NOT_READY
    assert DEFAULT_UI[Outcome.END_APPLICATION].status.name == "PROCESSING_ERROR"
    assert result.ui.status.lights == ("off",) * 4  # the same lights, a different status


def test_book_a_7_1_ui_requests_carry_value_qualifier_currency_and_language() -> None:
    balance = UiRequest(MessageId.APPROVED, Status.CARD_READ_SUCCESSFULLY, value=4_250,
                        currency="EUR")  # fmt: skip
    frames = [
        ppse(directory_entry(TEST_AID, EXTENDED)),
        fci(TEST_AID, language=b"nlen"),
        answer(Outcome.APPROVED, ui=balance),
    ]
    with registered():
        result = Kernel(CONFIG).run(ScriptedReader(frames), txn())
    ui = result.ui
    assert (ui.value_qualifier, ui.value, ui.currency, ui.language) == (
        ValueQualifier.AMOUNT,
        4_250,
        "EUR",
        ("nl", "en"),
    )


def test_book_a_9_2_no_kernel_enum_has_aliased_members() -> None:
    package = terminal.kernel
    found = 0
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, enum.Enum)
                and value.__module__ == module.__name__
            ):
                found += 1
                assert len(value.__members__) == len(list(value)), f"{value.__name__} aliases"
    assert found >= 8
    assert Status.PROCESSING_ERROR is not Status.NOT_READY
    assert len({s.value for s in Status}) == len(Status)


# -- 5.2: autorun -----------------------------------------------------------------------------


def test_book_a_5_2_autorun_starts_at_start_b_without_pre_processing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entry_point = Kernel(KernelConfig(combinations=CONFIG.combinations))  # a fresh 9F41
    preset = entry_point.autorun(Transaction(0, "EUR"))

    def no_preprocessing(transaction: Transaction) -> object:
        raise AssertionError("pre-processing ran")

    monkeypatch.setattr(entry_point, "preprocess", no_preprocessing)
    results: list[KernelResult] = []
    shown: list[UiRequest] = []
    with registered() as kernel:
        for _ in range(2):
            reader = ScriptedReader(tap(answer(Outcome.APPROVED)))
            results.append(read_card(reader, txn(0), kernel=entry_point, wait=0.1,
                                     show=shown.append, prepared=preset))  # fmt: skip
    assert [r.outcome for r in results] == [Outcome.APPROVED] * 2
    assert shown == [PRESENT_CARD, PRESENT_CARD]  # no Welcome: the reader waits at Start B
    # Each tap is still its own transaction (9F41 1, 2).
    assert [e[0x9F41].hex() for e in kernel.echoed] == ["00000001", "00000002"]
