"""A test kernel and scripted cards for the Entry Point tests (EMV Contactless Books A and B).

:class:`EchoKernel` is what EMVCo's type-approval tests put behind an Entry Point: a kernel
that sends the Entry Point's data to the card in its GET PROCESSING OPTIONS (so a test sees
exactly what the Entry Point handed over) and turns the card's scripted answer into an
Outcome parameter set (so a test decides every parameter the Entry Point must act on). It is
registered under a kernel id by :func:`registered` and selected like any other kernel.

The scripted answer is a template 77 of private tags (:func:`answer`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager

from emvcore import apdu, tlv
from emvcore.tags import Tag
from terminal.kernel import registry
from terminal.kernel.issuer_update import OnlineResponse
from terminal.kernel.outcome import (
    DEFAULT_UI,
    AlternateInterface,
    KernelResult,
    OnlineResponseData,
    Outcome,
    Start,
)
from terminal.kernel.session import CardSession
from terminal.kernel.ui import MessageId, Status, UiRequest, ValueQualifier, language_preference
from terminal.readers.base import Reader
from tests.terminal.support import ppse_fci

#: An extended kernel id (Book B 3.3.2.5: b8-b7 of byte 1 = 11, proprietary format).
TEST_KERNEL_ID = 0xC10203
TEST_AID = bytes.fromhex("F0000000AA0001")
#: Terminal data the kernel echoes, and the Entry Point's restart flag under DF7F.
ECHO_TAGS = (0x9F02, 0x9F03, 0x5F2A, 0x9C, 0x9F66, 0x9F41, 0x9F06, 0x9F37, 0x9F1A)
TAG_RESTART_FLAG = 0xDF7F
# The card's scripted answer: each Outcome parameter under a private tag.
OUTCOME, START, MESSAGE, STATUS, RESTART_MESSAGE = 0xDF70, 0xDF71, 0xDF72, 0xDF73, 0xDF74
ALTERNATE, FIELD_OFF, REMOVAL, RECEIPT, DISCRETIONARY = 0xDF75, 0xDF76, 0xDF77, 0xDF78, 0xDF79
VALUE, ONLINE_DATA = 0xDF7A, 0xDF7B


def answer(
    outcome: Outcome,
    *,
    start: Start = Start.NA,
    ui: UiRequest | None = None,
    ui_on_restart: MessageId | None = None,
    alternate: AlternateInterface = AlternateInterface.NA,
    field_off_ms: int | None = None,
    removal_ms: int = 0,
    receipt: bool = False,
    discretionary: bytes = b"",
    online_data: OnlineResponseData = OnlineResponseData.NA,
) -> bytes:
    """The card's GPO answer scripting one Outcome parameter set (with 9000)."""
    items: list[tuple[int, bytes]] = [
        (OUTCOME, outcome.value.encode()),
        (START, start.value.encode()),
        (ALTERNATE, alternate.value.encode()),
        (REMOVAL, removal_ms.to_bytes(2, "big")),
        (RECEIPT, bytes([receipt])),
        (ONLINE_DATA, online_data.value.encode()),
    ]
    if ui is not None:
        items += [(MESSAGE, bytes([ui.message])), (STATUS, ui.status.value.encode())]
        if ui.value is not None and ui.currency is not None:
            items.append((VALUE, ui.value.to_bytes(6, "big") + ui.currency.encode()))
    if ui_on_restart is not None:
        items.append((RESTART_MESSAGE, bytes([ui_on_restart])))
    if field_off_ms is not None:
        items.append((FIELD_OFF, field_off_ms.to_bytes(2, "big")))
    if discretionary:
        items.append((DISCRETIONARY, discretionary))
    return tlv.encode(0x77, tlv.encode_many(items)) + b"\x90\x00"


class EchoKernel:
    """The test kernel: echoes the Entry Point's data, returns the scripted outcome."""

    def __init__(self) -> None:
        self.echoed: list[dict[int, bytes]] = []
        self.sessions: list[CardSession] = []
        self.resumed: list[OnlineResponse] = []

    def activate(self, session: CardSession) -> KernelResult:
        self.sessions.append(session)
        echo = {tag: session.terminal[tag] for tag in ECHO_TAGS if tag in session.terminal}
        echo[TAG_RESTART_FLAG] = bytes([session.restart_flag])
        self.echoed.append(echo)
        response = session.send(apdu.get_processing_options(tlv.encode_many(echo)))
        got = tlv.flatten(tlv.decode_one(response.data).value)
        outcome = Outcome(got[OUTCOME].decode())
        ui = DEFAULT_UI[outcome]
        if MESSAGE in got:
            value, currency = None, None
            if VALUE in got:
                value, currency = int.from_bytes(got[VALUE][:6], "big"), got[VALUE][6:].decode()
            ui = UiRequest(
                MessageId(got[MESSAGE][0]),
                Status(got[STATUS].decode()),
                value_qualifier=ValueQualifier.AMOUNT if value is not None else ValueQualifier.NONE,
                value=value,
                currency=currency,
                language=session_language(session),
            )
        restart_ui = None
        if RESTART_MESSAGE in got:
            restart_ui = UiRequest(MessageId(got[RESTART_MESSAGE][0]), Status.READY_TO_READ)
        field_off = got.get(FIELD_OFF)
        return KernelResult(
            outcome,
            "scripted",
            ui,
            start=Start(got[START].decode()),
            online_response_data=OnlineResponseData(got[ONLINE_DATA].decode()),
            ui_on_restart=restart_ui,
            discretionary_data=got.get(DISCRETIONARY, b""),
            alternate_interface=AlternateInterface(got[ALTERNATE].decode()),
            receipt=bool(got[RECEIPT][0]),
            field_off_request_ms=int.from_bytes(field_off, "big") if field_off else None,
            removal_timeout_ms=int.from_bytes(got[REMOVAL], "big"),
            aid=session.candidate.aid,
            kernel_id=session.candidate.kernel_id,
            data_record=tlv.encode_many(echo) if outcome is Outcome.ONLINE_REQUEST else b"",
        )

    def resume(self, reader: Reader, read: KernelResult, response: OnlineResponse) -> KernelResult:
        self.resumed.append(response)
        outcome = Outcome.APPROVED if response.approved else Outcome.DECLINED
        return dataclasses.replace(read, outcome=outcome, ui=DEFAULT_UI[outcome], start=Start.NA)


def session_language(session: CardSession) -> tuple[str, ...]:
    """The card's Language Preference (5F2D) from the FCI, for the UI requests."""
    return language_preference((session.fci or {}).get(Tag.LANGUAGE_PREFERENCE))


@contextmanager
def registered(kernel_id: int = TEST_KERNEL_ID) -> Iterator[EchoKernel]:
    """An :class:`EchoKernel` registered under ``kernel_id`` for the duration."""
    kernel = EchoKernel()
    registry.register(kernel_id, f"test-{kernel_id:X}", resume=kernel.resume)(kernel.activate)
    try:
        yield kernel
    finally:
        registry.unregister(kernel_id)


def directory_entry(
    aid: bytes,
    kernel_identifier: bytes | None = None,
    *,
    priority: int | None = None,
    extended_selection: bytes | None = None,
) -> bytes:
    """One PPSE Directory Entry (61) with the Kernel Identifier as raw bytes."""
    items = [(0x4F, aid)]
    if priority is not None:
        items.append((0x87, bytes([priority])))
    if kernel_identifier is not None:
        items.append((0x9F2A, kernel_identifier))
    if extended_selection is not None:
        items.append((0x9F29, extended_selection))
    return tlv.encode(0x61, tlv.encode_many(items))


def ppse(*entries: bytes) -> bytes:
    """A PPSE answer (FCI and 9000) listing ``entries``."""
    return ppse_fci(b"".join(entries)) + b"\x90\x00"


def fci(aid: bytes, pdol: bytes = b"", language: bytes = b"") -> bytes:
    """An ADF's SELECT answer (FCI and 9000) with an optional PDOL and Language Preference."""
    proprietary = [(0x50, b"TEST")]
    if pdol:
        proprietary.append((0x9F38, pdol))
    if language:
        proprietary.append((0x5F2D, language))
    body = tlv.encode(0x84, aid) + tlv.encode(0xA5, tlv.encode_many(proprietary))
    return tlv.encode(0x6F, body) + b"\x90\x00"


def gpo_data(command: bytes) -> dict[int, bytes]:
    """The data objects a GPO command (80 A8) carried in its 83 template."""
    template = tlv.decode_one(command[5:-1])
    return tlv.flatten(template.value)
