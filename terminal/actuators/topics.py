"""MQTT topics and JSON payloads between the terminal and a dock or locker controller.

Pure functions, shared by the ``mqtt`` backend and the device simulator (no paho here). All
topics sit under the controller's prefix ``P`` (the spec's path, e.g. ``tap/dock7``)::

    P/<unit>/command   terminal -> controller, QoS 1   {"id": "7", "command": "open"|"lock"|"state"}
    P/replies          controller -> terminal, QoS 1   {"id": "7", "unit": "D1", "state": "open"}
                                                       or {"id": "7", "unit": "D1", "error": "unknown_unit"}
    P/<unit>/state     controller, QoS 1, RETAINED     {"state": "locked", "at": "<ISO 8601>"}
    P/events           controller -> terminal, QoS 1   {"unit": "D1", "kind": "locked", "at": "...",
                                                        "bike_id": "BIKE-42", "detail": null}
    P/status           controller, QoS 1, RETAINED     {"online": true, "units": ["D1", "D2"]},
                                                       its Will: {"online": false, ...}

Retained state (OASIS MQTT 3.1.1 section 3.3.1.3) gives a terminal that (re)connects every
unit's last state at once; the Will message (section 3.1.2.5) turns a controller that
vanishes into ``{"online": false}``. The ``id`` in a command, echoed in the reply, pairs
them as MQTT 5's correlation data would (MQTT 5.0 section 4.10), on 3.1.1 brokers too.
``command`` acknowledgements only mean "taken": an open is confirmed by the ``opened`` event.

>>> command_topic("tap/dock7", "D1")
'tap/dock7/D1/command'
>>> unit_of("tap/dock7", "tap/dock7/D1/state", "state")
'D1'
>>> decode_reply(b'{"id": "7", "unit": "D1", "state": "open"}')
('7', 'D1', <UnitState.OPEN: 'open'>, None)
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from terminal.actuators.base import ActuatorEvent, Command, EventKind, UnitState
from terminal.errors import ActuatorProtocolError


def command_topic(prefix: str, unit: str) -> str:
    return f"{prefix}/{unit}/command"


def state_topic(prefix: str, unit: str) -> str:
    return f"{prefix}/{unit}/state"


def events_topic(prefix: str) -> str:
    return f"{prefix}/events"


def replies_topic(prefix: str) -> str:
    return f"{prefix}/replies"


def status_topic(prefix: str) -> str:
    return f"{prefix}/status"


def unit_of(prefix: str, topic: str, leaf: str) -> str | None:
    """The unit in ``P/<unit>/<leaf>``, or None when ``topic`` is not of that form."""
    head, tail = f"{prefix}/", f"/{leaf}"
    if topic.startswith(head) and topic.endswith(tail):
        unit = topic[len(head) : -len(tail)]
        if unit and "/" not in unit:
            return unit
    return None


def _load(payload: bytes) -> dict[str, Any]:
    try:
        value = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise ActuatorProtocolError(f"payload is not JSON: {payload[:60]!r}") from None
    if not isinstance(value, dict):
        raise ActuatorProtocolError("payload is not a JSON object")
    return value


def _dump(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _text(value: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    text = value.get(name)
    if text is None and not required:
        return None
    if not isinstance(text, str):
        raise ActuatorProtocolError(f"payload field {name!r} must be a string")
    return text


def _word(value: dict[str, Any], name: str) -> str:
    """A required string field."""
    return _text(value, name) or ""


def _time(value: dict[str, Any]) -> datetime:
    text = _text(value, "at", required=False)
    if text is None:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ActuatorProtocolError(f"bad time {text!r}") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def encode_command(request_id: str, command: Command) -> bytes:
    return _dump({"id": request_id, "command": command.value})


def decode_command(payload: bytes) -> tuple[str, Command]:
    value = _load(payload)
    request_id = _word(value, "id")
    try:
        return request_id, Command(_word(value, "command"))
    except ValueError:
        raise ActuatorProtocolError(f"unknown command {value.get('command')!r}") from None


def encode_reply(
    request_id: str, unit: str, state: UnitState | None, error: str | None = None
) -> bytes:
    body: dict[str, Any] = {"id": request_id, "unit": unit}
    if error is not None:
        body["error"] = error
    else:
        body["state"] = state.value if state is not None else None
    return _dump(body)


def decode_reply(payload: bytes) -> tuple[str, str, UnitState | None, str | None]:
    """(id, unit, state, error) of a reply."""
    value = _load(payload)
    request_id, unit = _word(value, "id"), _word(value, "unit")
    error = _text(value, "error", required=False)
    state = _text(value, "state", required=False)
    try:
        return request_id, unit, UnitState(state) if state is not None else None, error
    except ValueError:
        raise ActuatorProtocolError(f"unknown state {state!r}") from None


def encode_state(state: UnitState, at: datetime) -> bytes:
    return _dump({"state": state.value, "at": at.isoformat()})


def decode_state(payload: bytes) -> UnitState:
    value = _load(payload)
    try:
        return UnitState(_word(value, "state"))
    except ValueError:
        raise ActuatorProtocolError(f"unknown state {value.get('state')!r}") from None


def encode_event(event: ActuatorEvent) -> bytes:
    return _dump(
        {
            "unit": event.unit,
            "kind": event.kind.value,
            "at": event.at.isoformat(),
            "bike_id": event.bike_id,
            "detail": event.detail,
        }
    )


def decode_event(payload: bytes) -> ActuatorEvent:
    value = _load(payload)
    try:
        kind = EventKind(_word(value, "kind"))
    except ValueError:
        raise ActuatorProtocolError(f"unknown event kind {value.get('kind')!r}") from None
    return ActuatorEvent(
        _word(value, "unit"),
        kind,
        at=_time(value),
        bike_id=_text(value, "bike_id", required=False),
        detail=_text(value, "detail", required=False),
    )


def encode_status(online: bool, units: tuple[str, ...]) -> bytes:
    return _dump({"online": online, "units": list(units)})


def decode_status(payload: bytes) -> bool:
    """Whether the controller says it is online."""
    online = _load(payload).get("online")
    if not isinstance(online, bool):
        raise ActuatorProtocolError("status field 'online' must be true or false")
    return online
