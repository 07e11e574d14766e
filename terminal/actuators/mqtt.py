"""The ``mqtt`` backend: a controller behind an MQTT broker, through paho-mqtt 2.x.

Spec: ``mqtt://HOST[:PORT]/PREFIX?units=D1,D2&timeout=5&client_id=NAME``; the topics under
``PREFIX`` and their payloads are in :mod:`terminal.actuators.topics`. Opening connects
(MQTT 3.1.1, clean session) and subscribes within ``timeout`` seconds (default 5), or raises
:class:`~terminal.errors.ActuatorUnavailableError`. The retained ``state`` and ``status``
messages arrive right after, so :meth:`~terminal.actuators.base.Actuator.known_state` holds
each unit's last state without asking.

paho's network thread (``loop_start``) receives: it pairs replies with the commands waiting
on their id, queues events, records states. A lost broker connection fails the waiting
commands, reports a ``fault`` event on every unit and makes commands raise
``ActuatorUnavailableError`` until paho has reconnected by itself (backing off from 1 s to
5 s) and re-subscribed. A controller whose retained status says offline (its Will, or a
clean shutdown) is reported the same way and refused at once. paho's errors (``OSError`` on
connect, reason codes on CONNACK and disconnect) are mapped here.
"""

from __future__ import annotations

import itertools
import logging
import threading
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from terminal.actuators import spec, topics
from terminal.actuators.base import Actuator, Command, UnitState
from terminal.errors import (
    ActuatorError,
    ActuatorProtocolError,
    ActuatorUnavailableError,
    UnknownUnitError,
)

log = logging.getLogger(__name__)

DEFAULT_PORT = 1883
KEEPALIVE = 30


def parse_url(url: str) -> tuple[str, int, str]:
    """(host, port, prefix) of ``mqtt://HOST[:PORT]/PREFIX``.

    >>> parse_url("mqtt://127.0.0.1:1884/tap/dock7?units=D1")
    ('127.0.0.1', 1884, 'tap/dock7')
    """
    parts = urlsplit(url)
    prefix = parts.path.strip("/")
    if parts.scheme != "mqtt" or not parts.hostname or not prefix:
        raise ActuatorUnavailableError(
            f"MQTT actuator spec must be mqtt://HOST[:PORT]/PREFIX, not {url!r}"
        )
    if any(char in prefix for char in "+#"):
        raise ActuatorUnavailableError(f"MQTT topic prefix {prefix!r} may not hold wildcards")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise ActuatorUnavailableError(f"bad port in {url!r}") from None
    return parts.hostname, port, prefix


def new_client(client_id: str) -> mqtt.Client:
    """A paho 2.x client speaking MQTT 3.1.1 with a clean session, reconnecting by itself."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv311
    )
    client.reconnect_delay_set(min_delay=1, max_delay=5)
    return client


class _Pending:
    __slots__ = ("done", "error", "state")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.state: UnitState | None = None
        self.error: str | None = None


class MqttActuator(Actuator):
    """A controller reached through an MQTT broker."""

    name = "mqtt"

    def __init__(
        self,
        host: str,
        port: int,
        prefix: str,
        units: Iterable[str],
        *,
        timeout: float = 5.0,
        client_id: str | None = None,
    ) -> None:
        super().__init__(units)
        self.prefix = prefix
        self.broker = f"{host}:{port}"
        self._ids = itertools.count(1)
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()
        self._ready = threading.Event()  # connected and subscribed
        self._refused: str | None = None
        self._online: bool | None = None
        self._subscription: int | None = None
        self._client = new_client(client_id or f"tap-terminal-{uuid.uuid4().hex[:12]}")
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        try:
            self._client.connect(host, port, keepalive=KEEPALIVE)
        except (OSError, ValueError) as exc:
            raise ActuatorUnavailableError(
                f"cannot reach MQTT broker {self.broker}: {exc}"
            ) from None
        self._client.loop_start()
        if not self._ready.wait(timeout):
            self._client.disconnect()
            self._client.loop_stop()
            why = self._refused or f"no CONNACK/SUBACK within {timeout:g} s"
            raise ActuatorUnavailableError(f"MQTT broker {self.broker}: {why}")

    @classmethod
    def from_spec(cls, argument: str) -> MqttActuator:
        url = f"mqtt:{argument}"
        host, port, prefix = parse_url(url)
        opts = spec.options(urlsplit(url).query, frozenset({"units", "timeout", "client_id"}))
        units = spec.unit_list(opts.get("units", ""))
        if not units:
            raise ActuatorUnavailableError(
                "MQTT actuator spec needs units=: mqtt://HOST/PREFIX?units=D1,D2"
            )
        return cls(
            host,
            port,
            prefix,
            units,
            timeout=spec.number(opts, "timeout", 5.0),
            client_id=opts.get("client_id"),
        )

    @property
    def controller_online(self) -> bool | None:
        """What the controller's retained status says (None: it has said nothing yet)."""
        return self._online

    # -- commands ----------------------------------------------------------------------------

    def _command(self, unit: str, command: Command, *, timeout: float) -> UnitState | None:
        if not self._ready.is_set():
            raise ActuatorUnavailableError(f"not connected to MQTT broker {self.broker}", unit=unit)
        if self._online is False:
            raise ActuatorUnavailableError(f"controller at {self.prefix} is offline", unit=unit)
        request_id = str(next(self._ids))
        pending = _Pending()
        with self._lock:
            self._pending[request_id] = pending
        try:
            info = self._client.publish(
                topics.command_topic(self.prefix, unit),
                topics.encode_command(request_id, command),
                qos=1,
            )
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                raise ActuatorUnavailableError(
                    f"MQTT publish to {self.broker} failed: {mqtt.error_string(info.rc)}", unit=unit
                )
            if not pending.done.wait(timeout):
                raise ActuatorUnavailableError(
                    f"controller at {self.prefix} did not answer {command} {unit} within {timeout:g} s",
                    unit=unit,
                )
        finally:
            with self._lock:
                self._pending.pop(request_id, None)
        if pending.error == "disconnected":
            raise ActuatorUnavailableError(f"MQTT broker {self.broker} connection lost", unit=unit)
        if pending.error == "unknown_unit":
            raise UnknownUnitError(f"controller at {self.prefix}: unknown unit {unit!r}", unit=unit)
        if pending.error is not None:
            raise ActuatorError(
                f"controller at {self.prefix} refused {command} {unit}: {pending.error}", unit=unit
            )
        return pending.state

    # -- paho callbacks (its network thread) ---------------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            self._refused = f"connection refused: {reason}"
            log.warning("MQTT broker %s refused the connection: %s", self.broker, reason)
            return
        p = self.prefix
        _, self._subscription = client.subscribe(
            [
                (topics.status_topic(p), 1),
                (topics.replies_topic(p), 1),
                (topics.events_topic(p), 1),
                (topics.state_topic(p, "+"), 1),
            ]
        )

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, properties: Any
    ) -> None:
        if mid != self._subscription:
            return
        if any(reason.is_failure for reason in reasons):
            self._refused = f"subscription refused: {reasons}"
            return
        if self._closed.is_set():
            return
        log.info("MQTT actuator %s: connected to %s", self.prefix, self.broker)
        self._ready.set()

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        was_ready = self._ready.is_set()
        self._ready.clear()
        with self._lock:
            waiting = list(self._pending.values())
        for pending in waiting:
            pending.error = "disconnected"
            pending.done.set()
        if was_ready and not self._closed.is_set():
            self._fault_all(f"MQTT broker {self.broker} connection lost ({reason}); reconnecting")

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            self._dispatch(message.topic, bytes(message.payload))
        except ActuatorProtocolError as exc:
            log.warning(
                "MQTT actuator %s: ignoring a malformed message on %s: %s",
                self.prefix,
                message.topic,
                exc,
            )

    def _dispatch(self, topic: str, payload: bytes) -> None:
        p = self.prefix
        if topic == topics.replies_topic(p):
            request_id, _, state, error = topics.decode_reply(payload)
            with self._lock:
                pending = self._pending.get(request_id)
            if pending is not None:
                pending.state, pending.error = state, error
                pending.done.set()
        elif topic == topics.events_topic(p):
            self._deliver(topics.decode_event(payload))
        elif topic == topics.status_topic(p):
            online = topics.decode_status(payload) if payload else None
            was, self._online = self._online, online
            if online is False and was is not False:
                self._fault_all(f"controller at {p} is offline")
        else:
            unit = topics.unit_of(p, topic, "state")
            if unit is not None and payload:
                self._set_state(unit, topics.decode_state(payload))

    def _shutdown(self) -> None:
        self._ready.clear()
        self._client.disconnect()
        self._client.loop_stop()
