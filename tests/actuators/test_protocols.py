"""Byte-level tests of the serial line protocol and the MQTT payloads (pure code)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from terminal.actuators import EventKind, UnitState, topics
from terminal.actuators import lineproto as lp
from terminal.actuators.base import ActuatorEvent, Command
from terminal.errors import ActuatorProtocolError

AT = datetime(2026, 5, 9, 7, 35, 25, tzinfo=UTC)


@pytest.mark.parametrize(
    ("message", "line"),
    [
        (lp.Request("1", "OPEN", "D1"), b"1 OPEN D1\r\n"),
        (lp.Request("99999999", "LOCK", "locker-3.A_1"), b"99999999 LOCK locker-3.A_1\r\n"),
        (lp.Request("7", "STATE", "L2"), b"7 STATE L2\r\n"),
        (lp.Request("abc", "UNITS"), b"abc UNITS\r\n"),
        (lp.Reply("7", ("open",)), b"7 OK open\r\n"),
        (lp.Reply("8", ("D1", "D2", "D3")), b"8 OK D1 D2 D3\r\n"),
        (
            lp.Reply("9", error="unknown_unit", text="no such dock"),
            b"9 ERR unknown_unit no such dock\r\n",
        ),
        (
            ActuatorEvent("D1", EventKind.OPENED, at=AT),
            b"* D1 opened at=2026-05-09T07%3A35%3A25%2B00%3A00\r\n",
        ),
        (
            ActuatorEvent("D1", EventKind.LOCKED, at=AT, bike_id="B 1"),
            b"* D1 locked bike=B%201 at=2026-05-09T07%3A35%3A25%2B00%3A00\r\n",
        ),
    ],
)
def test_round_trip(message: lp.Message, line: bytes) -> None:
    assert lp.encode(message) == line
    assert lp.decode(line) == message
    assert lp.decode(line.rstrip(b"\r\n") + b"\n") == message  # a bare LF is accepted


def test_event_without_time_is_stamped_on_reading() -> None:
    before = datetime.now(UTC)
    event = lp.decode(b"* L1 left_open\r\n")
    assert isinstance(event, ActuatorEvent)
    assert event.kind is EventKind.LEFT_OPEN and event.at >= before


def test_event_time_without_zone_is_utc() -> None:
    event = lp.decode(b"* L1 closed at=2026-05-09T07:35:25\r\n")
    assert isinstance(event, ActuatorEvent) and event.at == AT


def test_detail_with_any_characters() -> None:
    detail = "door 3 = stuck; 100% sure"
    line = lp.encode(ActuatorEvent("L3", EventKind.FAULT, at=AT, detail=detail))
    assert b" " not in line.split(b"detail=")[1].split(b" at=")[0]
    decoded = lp.decode(line)
    assert isinstance(decoded, ActuatorEvent) and decoded.detail == detail


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"1\r\n",
        b"1 FROB D1\r\n",
        b"1 OPEN\r\n",
        b"1 OPEN D1 D2\r\n",
        b"1 OPEN D/1\r\n",
        b"1 UNITS D1\r\n",
        b"1 ERR\r\n",
        b"toolongtag 1 OK\r\n",
        b"- OK\r\n",
        b"* D1\r\n",
        b"* D1 exploded\r\n",
        b"* D1 locked colour=red\r\n",
        b"* D1 locked bike\r\n",
        b"* D1 locked at=yesterday\r\n",
        b"* D1 fault detail=%FF\r\n",
        b"1 OPEN D\xc3\xa9\r\n",
        b"1 OPEN " + b"D" * 300 + b"\r\n",
    ],
)
def test_malformed_lines_are_refused(line: bytes) -> None:
    with pytest.raises(ActuatorProtocolError):
        lp.decode(line)


def test_over_long_message_is_refused_when_encoding() -> None:
    with pytest.raises(ActuatorProtocolError):
        lp.encode(ActuatorEvent("D1", EventKind.FAULT, at=AT, detail="x" * 300))


def test_topics() -> None:
    assert topics.command_topic("tap/dock7", "D1") == "tap/dock7/D1/command"
    assert topics.state_topic("tap/dock7", "D1") == "tap/dock7/D1/state"
    assert topics.events_topic("tap/dock7") == "tap/dock7/events"
    assert topics.replies_topic("tap/dock7") == "tap/dock7/replies"
    assert topics.status_topic("tap/dock7") == "tap/dock7/status"
    assert topics.unit_of("tap/dock7", "tap/dock7/L4/command", "command") == "L4"
    assert topics.unit_of("tap/dock7", "tap/dock7/a/b/state", "state") is None
    assert topics.unit_of("tap/dock7", "tap/dock8/L4/state", "state") is None
    assert topics.unit_of("tap/dock7", "tap/dock7//state", "state") is None


def test_payload_round_trips() -> None:
    assert topics.decode_command(topics.encode_command("5", Command.LOCK)) == ("5", Command.LOCK)
    assert topics.decode_reply(topics.encode_reply("5", "D1", UnitState.JAMMED)) == (
        "5",
        "D1",
        UnitState.JAMMED,
        None,
    )
    assert topics.decode_reply(topics.encode_reply("6", "D9", None, "unknown_unit")) == (
        "6",
        "D9",
        None,
        "unknown_unit",
    )
    assert topics.decode_state(topics.encode_state(UnitState.OPEN, AT)) is UnitState.OPEN
    event = ActuatorEvent("D1", EventKind.LOCKED, at=AT, bike_id="BIKE-1", detail=None)
    assert topics.decode_event(topics.encode_event(event)) == event
    assert topics.decode_status(topics.encode_status(False, ("D1",))) is False


@pytest.mark.parametrize(
    ("decode", "payload"),
    [
        (topics.decode_event, b"not json"),
        (topics.decode_event, b"[1, 2]"),
        (topics.decode_event, b'{"unit": "D1", "kind": "exploded"}'),
        (topics.decode_event, b'{"unit": 7, "kind": "opened"}'),
        (topics.decode_event, b'{"unit": "D1", "kind": "opened", "at": "noon"}'),
        (topics.decode_state, b'{"state": "ajar"}'),
        (topics.decode_reply, b'{"id": "1", "unit": "D1", "state": "ajar"}'),
        (topics.decode_command, b'{"id": "1", "command": "explode"}'),
        (topics.decode_status, b'{"online": "yes"}'),
        (topics.decode_status, b"\xff"),
    ],
)
def test_malformed_payloads_are_refused(decode: object, payload: bytes) -> None:
    with pytest.raises(ActuatorProtocolError):
        decode(payload)  # type: ignore[operator]
