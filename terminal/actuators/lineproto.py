"""The ASCII line protocol between the terminal and a serial dock or locker controller.

One message per line, ASCII, at most :data:`MAX_LINE` bytes, ended by CR LF (a bare LF is
accepted); words are separated by single spaces. Requests carry a *tag* that the controller
repeats in its reply, and the controller also speaks on its own, in the manner of IMAP's
tagged and untagged responses (RFC 9051 sections 2.2.1 and 2.2.2)::

    terminal -> controller   <tag> OPEN <unit>       release the lock / open the door
                             <tag> LOCK <unit>       engage the lock again (where it can)
                             <tag> STATE <unit>      report the unit's state
                             <tag> UNITS             list the units
    controller -> terminal   <tag> OK <word>...      done: the unit's state (locked|open|jammed),
                                                     or for UNITS the unit ids
                             <tag> ERR <code> <text> refused: unknown_unit, bad_request, busy...
                             * <unit> <kind> [bike=<id>] [detail=<text>] [at=<ISO 8601>]
                                                     an event: opened, closed, locked (a bike was
                                                     docked, bike= names it), jammed, left_open,
                                                     fault

A tag is 1 to 8 letters or digits (the terminal counts in decimal); a unit id is 1 to 32 of
``A-Z a-z 0-9 . _ -``. Event values are percent-encoded (RFC 3986 section 2.1), so a
detail may hold spaces. ``OK`` to ``OPEN`` only means the command was taken: the terminal
waits for ``* <unit> opened`` before it tells anyone the unit is open. An event without
``at=`` is stamped with the time it is read.

>>> decode(b"17 OPEN D1\\r\\n")
Request(tag='17', verb='OPEN', unit='D1')
>>> encode(Reply("17", ("open",)))
b'17 OK open\\r\\n'
>>> decode(b"17 ERR unknown_unit no such dock\\n")
Reply(tag='17', words=(), error='unknown_unit', text='no such dock')
>>> event = decode(b"* D1 locked bike=BIKE-42 at=2026-05-09T07:35:25+00:00\\r\\n")
>>> event.kind, event.bike_id, event.at.isoformat()
(<EventKind.LOCKED: 'locked'>, 'BIKE-42', '2026-05-09T07:35:25+00:00')
>>> encode(ActuatorEvent("L3", EventKind.FAULT, at=event.at, detail="low battery"))
b'* L3 fault detail=low%20battery at=2026-05-09T07%3A35%3A25%2B00%3A00\\r\\n'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote

from terminal.actuators.base import ActuatorEvent, EventKind
from terminal.errors import ActuatorProtocolError

MAX_LINE = 255
VERBS = frozenset({"OPEN", "LOCK", "STATE", "UNITS"})
TAG = re.compile(r"[A-Za-z0-9]{1,8}\Z")
UNIT = re.compile(r"[A-Za-z0-9._-]{1,32}\Z")
UNTAGGED = "*"


@dataclass(frozen=True)
class Request:
    """A command from the terminal (``unit`` is None only for ``UNITS``)."""

    tag: str
    verb: str
    unit: str | None = None


@dataclass(frozen=True)
class Reply:
    """The controller's answer to the request with the same tag: OK words, or an error."""

    tag: str
    words: tuple[str, ...] = ()
    error: str | None = None
    text: str = ""


Message = Request | Reply | ActuatorEvent


def encode(message: Message) -> bytes:
    """One message as a line, CR LF included."""
    if isinstance(message, Request):
        words = [message.tag, message.verb] + ([message.unit] if message.unit else [])
    elif isinstance(message, Reply):
        if message.error is not None:
            words = [message.tag, "ERR", message.error] + ([message.text] if message.text else [])
        else:
            words = [message.tag, "OK", *message.words]
    else:
        words = [UNTAGGED, message.unit, message.kind.value]
        for name, value in (("bike", message.bike_id), ("detail", message.detail)):
            if value is not None:
                words.append(f"{name}={quote(value, safe='')}")
        words.append(f"at={quote(message.at.isoformat(), safe='')}")
    line = " ".join(words).encode("ascii", "replace") + b"\r\n"
    if len(line) > MAX_LINE:
        raise ActuatorProtocolError(f"line of {len(line)} bytes exceeds {MAX_LINE}")
    return line


def decode(line: bytes) -> Message:
    """Parse one line (its CR LF or LF may be present); ActuatorProtocolError if malformed."""
    if len(line) > MAX_LINE:
        raise ActuatorProtocolError(f"line of {len(line)} bytes exceeds {MAX_LINE}")
    try:
        text = line.decode("ascii").rstrip("\r\n")
    except UnicodeDecodeError:
        raise ActuatorProtocolError("line is not ASCII") from None
    words = text.split(" ")
    if len(words) < 2:
        raise ActuatorProtocolError(f"line too short: {text!r}")
    if words[0] == UNTAGGED:
        return _event(words[1:], text)
    tag, verb = words[0], words[1]
    if not TAG.match(tag):
        raise ActuatorProtocolError(f"bad tag in {text!r}")
    if verb == "OK":
        return Reply(tag, tuple(words[2:]))
    if verb == "ERR":
        if len(words) < 3:
            raise ActuatorProtocolError(f"ERR without a code: {text!r}")
        return Reply(tag, error=words[2], text=" ".join(words[3:]))
    if verb not in VERBS:
        raise ActuatorProtocolError(f"unknown verb {verb!r}")
    if verb == "UNITS":
        if len(words) != 2:
            raise ActuatorProtocolError(f"UNITS takes no unit: {text!r}")
        return Request(tag, verb)
    if len(words) != 3 or not UNIT.match(words[2]):
        raise ActuatorProtocolError(f"{verb} needs one unit id: {text!r}")
    return Request(tag, verb, words[2])


def _event(words: list[str], text: str) -> ActuatorEvent:
    if len(words) < 2 or not UNIT.match(words[0]):
        raise ActuatorProtocolError(f"event needs a unit and a kind: {text!r}")
    try:
        kind = EventKind(words[1])
    except ValueError:
        raise ActuatorProtocolError(f"unknown event kind {words[1]!r}") from None
    attrs: dict[str, str] = {}
    for word in words[2:]:
        name, sep, value = word.partition("=")
        if not sep or name not in ("bike", "detail", "at"):
            raise ActuatorProtocolError(f"bad event attribute {word!r}")
        try:
            attrs[name] = unquote(value, errors="strict")
        except UnicodeDecodeError:
            raise ActuatorProtocolError(f"bad percent-encoding in {word!r}") from None
    at = datetime.now(UTC)
    if "at" in attrs:
        try:
            at = datetime.fromisoformat(attrs["at"])
        except ValueError:
            raise ActuatorProtocolError(f"bad event time {attrs['at']!r}") from None
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
    return ActuatorEvent(
        words[0], kind, at=at, bike_id=attrs.get("bike"), detail=attrs.get("detail")
    )
