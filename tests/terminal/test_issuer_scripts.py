"""Issuer scripts end to end, in process: the issuer builds them, the kernel sends them at
Start D, the emulated card checks their MACs and acts (EMV Book 3 10.10, Book 2 9.2).

The issuer side is :func:`emvcore.issuer_scripts.build_script` over the card's MK_SMI and
the ARQC the tap produced; the kernel's Issuer Script Results (9F5B, Book 4 Annex A5) say
per script whether it ran: byte 1 ``20`` successful, ``1n`` failed at command n.
"""

from __future__ import annotations

import dataclasses

import pytest

from card_emulation import EmvApplet
from emvcore.apdu import SW
from emvcore.issuer_scripts import (
    PlainCommand,
    application_block,
    build_script,
    pin_unblock,
    put_data,
)
from emvcore.keyfile import IssuerKeySet
from emvcore.tags import Tag
from terminal.kernel import Kernel, KernelResult, Outcome, Transaction
from terminal.kernel.issuer_update import OnlineResponse
from tests.card_emulation.support import make_card
from tests.terminal.support import RecordingReader

MK_SMI = bytes.fromhex("4A5B6C7D8E9FA0B1C2D3E4F506172839")  # a test key
SCRIPT_ID = bytes.fromhex("0000BEEF")


@pytest.fixture(params=["visa", "mastercard"])
def applet(request: pytest.FixtureRequest, keys: IssuerKeySet) -> EmvApplet:
    card = dataclasses.replace(make_card(keys, request.param), icc_mk_smi=MK_SMI)
    return EmvApplet(card)


def tap(reader: RecordingReader, transaction: Transaction) -> KernelResult:
    read = Kernel().run(reader, transaction)
    assert read.outcome is Outcome.ONLINE_REQUEST
    return read


def issuer_script(
    read: KernelResult, *commands: PlainCommand, key: bytes = MK_SMI, template: int = 0x72
) -> bytes:
    """What the issuer returns: a script for this tap's ATC and ARQC."""
    return build_script(
        key,
        atc=read.card_data[Tag.ATC],
        arqc=read.card_data[Tag.APPLICATION_CRYPTOGRAM],
        commands=commands,
        template=template,
        script_id=SCRIPT_ID,
    )


def online(reader: RecordingReader, read: KernelResult, *scripts: bytes) -> KernelResult:
    return Kernel().online_response(reader, read, OnlineResponse(True, None, scripts))


def script_commands(reader: RecordingReader) -> list[tuple[bytes, int]]:
    return [
        (command[:2], int.from_bytes(response[-2:], "big"))
        for command, response in reader.log
        if command[0] in (0x84, 0x04)
    ]


def test_an_application_block_script_blocks_the_card(
    applet: EmvApplet, transaction: Transaction
) -> None:
    reader = RecordingReader(applet)
    read = tap(reader, transaction)
    done = online(reader, read, issuer_script(read, application_block()))
    assert done.outcome is Outcome.APPROVED
    assert done.issuer_script_results == bytes([0x20]) + SCRIPT_ID
    assert script_commands(reader) == [(b"\x84\x1e", SW.OK)]
    assert applet.scripts.application_blocked
    # The next tap: SELECT answers 6283 and the card does not transact.
    again = Kernel().run(RecordingReader(applet), transaction)
    assert again.outcome is not Outcome.ONLINE_REQUEST
    assert again.data_record == b""


def test_a_script_with_a_bad_mac_fails_and_changes_nothing(
    applet: EmvApplet, transaction: Transaction
) -> None:
    reader = RecordingReader(applet)
    read = tap(reader, transaction)
    forged = issuer_script(read, application_block(), key=bytes(16))
    done = online(reader, read, forged)
    assert done.issuer_script_results == bytes([0x11]) + SCRIPT_ID  # failed at command 1
    assert script_commands(reader) == [(b"\x84\x1e", SW.SM_DATA_INCORRECT)]
    assert not applet.scripts.application_blocked
    assert Kernel().run(RecordingReader(applet), transaction).outcome is Outcome.ONLINE_REQUEST


def test_a_script_for_another_transaction_is_refused(
    applet: EmvApplet, transaction: Transaction
) -> None:
    """The ATC and ARQC in the MAC tie a script to its tap: replayed later, it fails."""
    first_reader = RecordingReader(applet)
    first = tap(first_reader, transaction)
    old_script = issuer_script(first, application_block())
    online(first_reader, first, issuer_script(first, pin_unblock()))
    reader = RecordingReader(applet)
    second = tap(reader, transaction)
    done = online(reader, second, old_script)
    assert done.issuer_script_results[0] == 0x11
    assert not applet.scripts.application_blocked


def test_scripts_run_71_then_72_and_a_failure_stops_only_its_script(
    applet: EmvApplet, transaction: Transaction
) -> None:
    reader = RecordingReader(applet)
    read = tap(reader, transaction)
    put = put_data(0x9F58, b"\x07")
    bad = dataclasses.replace(pin_unblock(), p2=0x01, data=b"\x12\x34")  # PIN change: 6A81
    script_72 = issuer_script(read, put)
    script_71 = issuer_script(read, pin_unblock(), bad, put_data(0x9F59, b"\x01"), template=0x71)
    done = online(reader, read, script_72, script_71)
    assert done.issuer_script_results == bytes([0x12]) + SCRIPT_ID + bytes([0x20]) + SCRIPT_ID
    assert script_commands(reader) == [
        (b"\x84\x24", SW.OK),
        (b"\x84\x24", SW.FUNCTION_NOT_SUPPORTED),
        (b"\x04\xda", SW.OK),
    ]
    assert applet.scripts.issuer_data == {0x9F58: b"\x07"}  # the 71 script stopped before 9F59
    assert applet.scripts.pin_try_resets == 1
    # GET DATA returns what PUT DATA wrote.
    assert applet.process_apdu(bytes.fromhex("80CA9F5800")) == bytes.fromhex("9F5801079000")


def test_a_card_without_an_mk_smi_refuses_scripts(
    keys: IssuerKeySet, transaction: Transaction
) -> None:
    applet = EmvApplet(make_card(keys, "mastercard"))
    reader = RecordingReader(applet)
    read = tap(reader, transaction)
    done = online(reader, read, issuer_script(read, application_block()))
    assert done.issuer_script_results[0] == 0x11
    assert script_commands(reader) == [(b"\x84\x1e", SW.CONDITIONS_NOT_SATISFIED)]
