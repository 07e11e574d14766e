"""Outcomes and their default UI requests (EMV Contactless Book A 6.2, 7.1, 9.2-9.4)."""

from __future__ import annotations

import pytest

from terminal.kernel import KernelResult, MessageId, Outcome, Status, UiRequest
from terminal.kernel.outcome import DEFAULT_UI, ONE_CARD_ONLY, SEE_PHONE, KernelStop
from terminal.kernel.ui import MESSAGE_TEXT, Tone

EXPECTED = {
    Outcome.APPROVED: (MessageId.APPROVED, Status.CARD_READ_SUCCESSFULLY, Tone.SUCCESS),
    Outcome.DECLINED: (MessageId.NOT_AUTHORISED, Status.CARD_READ_SUCCESSFULLY, Tone.ALERT),
    Outcome.ONLINE_REQUEST: (MessageId.AUTHORISING, Status.CARD_READ_SUCCESSFULLY, Tone.SUCCESS),
    Outcome.TRY_ANOTHER_INTERFACE: (
        MessageId.INSERT_OR_SWIPE_CARD,
        Status.PROCESSING_ERROR,
        Tone.ALERT,
    ),
    Outcome.END_APPLICATION: (MessageId.TRY_ANOTHER_CARD, Status.PROCESSING_ERROR, Tone.ALERT),
    Outcome.SELECT_NEXT: (MessageId.PROCESSING, Status.PROCESSING, Tone.NONE),
    Outcome.TRY_AGAIN: (MessageId.PRESENT_CARD_AGAIN, Status.READY_TO_READ, Tone.ALERT),
}


def test_seven_outcomes() -> None:
    assert len(Outcome) == 7
    assert set(DEFAULT_UI) == set(Outcome)


@pytest.mark.parametrize("outcome", list(Outcome), ids=[o.value for o in Outcome])
def test_default_ui_of_each_outcome(outcome: Outcome) -> None:
    ui = DEFAULT_UI[outcome]
    assert (ui.message, ui.status, ui.tone) == EXPECTED[outcome]
    assert ui.text == MESSAGE_TEXT[ui.message]
    stop = KernelStop(outcome, "why")
    assert stop.ui is ui and stop.restart is False and stop.tvr == bytes(5)


def test_message_ids_are_the_book_a_numbers() -> None:
    assert (MessageId.APPROVED, MessageId.NOT_AUTHORISED, MessageId.AUTHORISING) == (
        0x03,
        0x07,
        0x1B,
    )
    assert (MessageId.PRESENT_ONE_CARD_ONLY, MessageId.SEE_PHONE, MessageId.PRESENT_CARD_AGAIN) == (
        0x19, 0x20, 0x21,
    )  # fmt: skip
    assert set(MESSAGE_TEXT) == set(MessageId)


def test_status_lights() -> None:
    assert Status.IDLE.lights == ("flash", "off", "off", "off")
    assert Status.READY_TO_READ.lights == ("on", "off", "off", "off")
    assert Status.PROCESSING.lights == ("on", "on", "off", "off")
    assert Status.CARD_READ_SUCCESSFULLY.lights == ("on", "on", "on", "on")
    assert Status.NOT_READY.lights == Status.PROCESSING_ERROR.lights == ("off",) * 4


def test_special_requests() -> None:
    assert SEE_PHONE == UiRequest(MessageId.SEE_PHONE, Status.NOT_READY, 1300, Tone.ALERT)
    assert SEE_PHONE.text == "See phone for instructions"
    assert ONE_CARD_ONLY.message is MessageId.PRESENT_ONE_CARD_ONLY
    assert ONE_CARD_ONLY.text == "Please present one card only"


def test_kernel_result_defaults() -> None:
    result = KernelResult(Outcome.END_APPLICATION, "x", DEFAULT_UI[Outcome.END_APPLICATION])
    assert (result.tvr, result.restart, result.data_record, result.message) == (
        bytes(5), False, b"", "Insert, swipe or try another card",
    )  # fmt: skip
