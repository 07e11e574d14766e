"""Device simulators: a :class:`~terminal.actuators.device.SimulatedDevice` served as a real
controller would be, over a serial line or MQTT, for the demo and the system tests.

* :class:`SerialDeviceSimulator` answers the line protocol of :mod:`.lineproto` on the
  controller end of a serial line: ``SerialDeviceSimulator.on_pty(device)`` makes a pseudo
  terminal pair (``os.openpty``) and serves its master side, and the terminal opens
  ``serial:<sim.port>``; ``on_port(device, "/dev/ttyUSB1")`` serves a real port instead
  (pyserial), e.g. one end of a null-modem cable.
* :class:`MqttDeviceSimulator` is the controller behind a broker: it takes commands on
  ``P/<unit>/command``, answers on ``P/replies``, keeps ``P/<unit>/state`` and ``P/status``
  retained (with a Will that says offline) and publishes events (:mod:`.topics`).

The faults and the hand are the device's own: ``sim.device.silent = True``,
``sim.device.hand.dock_bike(...)``. From a shell (the demo, a manual test)::

    python -m terminal.actuators.simdevice serial --units D1,D2
    python -m terminal.actuators.simdevice mqtt mqtt://127.0.0.1:1883/tap/dock7 --units D1,D2

print the spec to open, then read hand commands on standard input, one a line:
``dock UNIT BIKE``, ``close UNIT``, ``force UNIT``, ``jam UNIT``, ``leave UNIT``,
``fault UNIT TEXT``, ``silent on|off``, ``never UNIT``, ``jams UNIT``, ``fix UNIT``.
"""

from __future__ import annotations

import argparse
import os
import select
import sys
import threading
import tty
import uuid
from typing import Any

from terminal.actuators import lineproto, topics
from terminal.actuators.base import ActuatorEvent, Command, UnitState, now
from terminal.actuators.device import DeviceError, Fault, SimulatedDevice
from terminal.errors import ActuatorProtocolError, ActuatorUnavailableError


class SerialDeviceSimulator:
    """Serves a simulated device on a file descriptor (the controller end of a serial line)."""

    def __init__(
        self, device: SimulatedDevice, fd: int, *, port: str, keep: tuple[Any, ...] = ()
    ) -> None:
        self.device = device
        self.port = port  # what the terminal opens: serial:<port>
        self._fd = fd
        self._keep = keep  # objects or fds that must live as long as the line (the pty's slave)
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._closed = False
        device.add_listener(self._heard)
        self._thread = threading.Thread(
            target=self._serve, name=f"simdevice-serial-{port}", daemon=True
        )
        self._thread.start()

    @classmethod
    def on_pty(cls, device: SimulatedDevice) -> SerialDeviceSimulator:
        """Serve ``device`` on a new pseudo terminal; the terminal opens ``serial:<sim.port>``."""
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no line editing: bytes pass as on a real line
        return cls(device, master, port=os.ttyname(slave), keep=(slave,))

    @classmethod
    def on_port(
        cls, device: SimulatedDevice, port: str, baudrate: int = 9600
    ) -> SerialDeviceSimulator:
        """Serve ``device`` on a real serial port (pyserial), e.g. one end of a null modem."""
        import serial

        line = serial.Serial(port, baudrate=baudrate, timeout=0)
        return cls(device, line.fileno(), port=port, keep=(line,))

    def _serve(self) -> None:
        buffer = b""
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._fd], [], [], 0.1)
                if not ready:
                    continue
                chunk = os.read(self._fd, 1024)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                self._answer(line + b"\n")

    def _answer(self, line: bytes) -> None:
        try:
            request = lineproto.decode(line)
        except ActuatorProtocolError as exc:
            tag = line.split(b" ", 1)[0].decode("ascii", "replace")
            if lineproto.TAG.match(tag):
                self._send(
                    lineproto.Reply(tag, error="bad_request", text=str(exc)[:80].replace("\r", ""))
                )
            return
        if not isinstance(request, lineproto.Request):
            return
        if request.verb == "UNITS":
            if not self.device.silent:
                self._send(lineproto.Reply(request.tag, self.device.units))
            return
        try:
            state = self.device.execute(Command(request.verb.lower()), request.unit or "")
        except DeviceError as exc:
            self._send(lineproto.Reply(request.tag, error=exc.code, text="no such unit"))
            return
        if state is not None:
            self._send(lineproto.Reply(request.tag, (state.value,)))

    def _heard(self, unit: str, state: UnitState, event: ActuatorEvent | None) -> None:
        if event is not None:
            self._send(event)

    def _send(self, message: lineproto.Message) -> None:
        data = lineproto.encode(message)
        with self._write_lock:
            if self._closed:
                return
            try:
                os.write(self._fd, data)
            except OSError:
                pass  # nobody on the line: a real controller's bytes are lost the same way

    def close(self) -> None:
        """Hang up the line (the terminal's next read fails) and stop serving."""
        self.device.remove_listener(self._heard)
        self._stop.set()
        self._thread.join(2)
        with self._write_lock:
            if self._closed:
                return
            self._closed = True
            for item in self._keep:
                if isinstance(item, int):
                    os.close(item)
                else:
                    item.close()
            if not any(not isinstance(item, int) for item in self._keep):
                os.close(self._fd)


class MqttDeviceSimulator:
    """Serves a simulated device through an MQTT broker, under ``mqtt://HOST:PORT/PREFIX``."""

    def __init__(self, device: SimulatedDevice, url: str, *, timeout: float = 10.0) -> None:
        from terminal.actuators.mqtt import new_client, parse_url

        self.device = device
        self.host, self.port, self.prefix = parse_url(url)
        self.url = f"mqtt://{self.host}:{self.port}/{self.prefix}"
        self._ready = threading.Event()
        self._client = new_client(f"tap-simdevice-{uuid.uuid4().hex[:12]}")
        self._client.will_set(
            topics.status_topic(self.prefix),
            topics.encode_status(False, device.units),
            qos=1,
            retain=True,
        )
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = lambda *args: self._ready.set()
        self._client.on_message = self._on_message
        try:
            self._client.connect(self.host, self.port)
        except OSError as exc:
            where = f"{self.host}:{self.port}"
            raise ActuatorUnavailableError(
                f"simulator cannot reach MQTT broker {where}: {exc}"
            ) from None
        self._client.loop_start()
        if not self._ready.wait(timeout):
            self._client.loop_stop()
            raise ActuatorUnavailableError(
                f"simulator: MQTT broker {self.host}:{self.port} did not accept it"
            )
        device.add_listener(self._heard)

    def spec(self, units: tuple[str, ...] | None = None) -> str:
        """The spec a terminal opens to drive this simulated controller."""
        return f"{self.url}?units={','.join(units or self.device.units)}"

    def _on_connect(
        self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            return
        client.publish(
            topics.status_topic(self.prefix), topics.encode_status(True, self.device.units), 1, True
        )
        for unit in self.device.units:
            self._publish_state(unit, self.device.state_of(unit))
        client.subscribe(topics.command_topic(self.prefix, "+"), qos=1)

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        unit = topics.unit_of(self.prefix, message.topic, "command")
        if unit is None:
            return
        try:
            request_id, command = topics.decode_command(message.payload)
        except ActuatorProtocolError:
            return
        try:
            state = self.device.execute(command, unit)
        except DeviceError as exc:
            reply = topics.encode_reply(request_id, unit, None, exc.code)
        else:
            if state is None:  # silent
                return
            reply = topics.encode_reply(request_id, unit, state)
        client.publish(topics.replies_topic(self.prefix), reply, qos=1)

    def _heard(self, unit: str, state: UnitState, event: ActuatorEvent | None) -> None:
        if event is not None:
            self._client.publish(
                topics.events_topic(self.prefix), topics.encode_event(event), qos=1
            )
        self._publish_state(unit, state)

    def _publish_state(self, unit: str, state: UnitState) -> None:
        self._client.publish(
            topics.state_topic(self.prefix, unit), topics.encode_state(state, now()), 1, True
        )

    def close(self, timeout: float = 5.0) -> None:
        """Say offline (retained), disconnect and stop."""
        self.device.remove_listener(self._heard)
        info = self._client.publish(
            topics.status_topic(self.prefix),
            topics.encode_status(False, self.device.units),
            1,
            True,
        )
        try:
            info.wait_for_publish(timeout)
        except (RuntimeError, ValueError):
            pass  # not connected: the broker delivers the Will instead
        self._client.disconnect()
        self._client.loop_stop()


def hand_command(device: SimulatedDevice, line: str) -> str:
    """Carry out one hand or fault command typed by a person (see the module docstring).

    >>> device = SimulatedDevice(["D1"])
    >>> hand_command(device, "jam D1")
    'ok'
    >>> device.state_of("D1")
    <UnitState.JAMMED: 'jammed'>
    """
    words = line.split()
    if not words:
        return ""
    verb, args = words[0], words[1:]
    hand = device.hand
    try:
        if verb == "dock" and len(args) == 2:
            hand.dock_bike(args[0], args[1])
        elif verb == "close" and len(args) == 1:
            hand.close_door(args[0])
        elif verb == "force" and len(args) == 1:
            hand.open_door(args[0])
        elif verb == "jam" and len(args) == 1:
            hand.jam(args[0])
        elif verb == "leave" and len(args) == 1:
            hand.leave_open(args[0])
        elif verb == "fix" and len(args) == 1:
            device.set_fault(args[0], None)
        elif verb == "fault" and len(args) >= 2:
            hand.report_fault(args[0], " ".join(args[1:]))
        elif verb == "silent" and args in (["on"], ["off"]):
            device.silent = args == ["on"]
        elif verb in ("never", "jams") and len(args) == 1:
            device.set_fault(args[0], Fault.NEVER_CONFIRMS if verb == "never" else Fault.JAMS)
        else:
            return f"unknown command: {line.strip()}"
    except DeviceError as exc:
        return str(exc)
    return "ok"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m terminal.actuators.simdevice",
        description="Serve a simulated dock/locker controller; type hand commands on stdin.",
    )
    parser.add_argument("transport", choices=["serial", "mqtt"])
    parser.add_argument("url", nargs="?", help="mqtt://HOST:PORT/PREFIX (mqtt only)")
    parser.add_argument("--units", default="D1,D2", help="unit ids, comma-separated")
    parser.add_argument(
        "--left-open-after", type=float, default=None, help="seconds before left_open"
    )
    args = parser.parse_args(argv)
    device = SimulatedDevice(args.units.split(","), left_open_after=args.left_open_after)
    sim: SerialDeviceSimulator | MqttDeviceSimulator
    if args.transport == "serial":
        sim = SerialDeviceSimulator.on_pty(device)
        print(f"serial:{sim.port}?units={args.units}", flush=True)
    else:
        if not args.url:
            parser.error("mqtt needs the broker URL: mqtt://HOST:PORT/PREFIX")
        sim = MqttDeviceSimulator(device, args.url)
        print(sim.spec(), flush=True)
    try:
        for line in sys.stdin:
            answer = hand_command(device, line)
            if answer:
                print(answer, flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        sim.close()
        device.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
