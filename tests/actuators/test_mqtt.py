"""The MQTT backend against real Mosquitto brokers: retained state, offline, broker restart."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from terminal.actuators import EventKind, UnitState, open_actuator
from terminal.actuators.device import SimulatedDevice
from terminal.actuators.mqtt import MqttActuator
from terminal.actuators.simdevice import MqttDeviceSimulator
from terminal.errors import ActuatorUnavailableError
from tests.actuators.rigs import WAIT, mqtt_prefix_url, wait_event, wait_until
from tests.services import service_env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Broker:
    """A Mosquitto of this test's own (the shared one must not be restarted under others)."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.port = free_port()
        self.config = folder / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        )
        self.binary = binary
        self.log = folder / "mosquitto.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [self.binary, "-c", str(self.config)], stdout=log, stderr=log
            )
        wait_until(self._accepts, "the private broker to accept connections")

    def _accepts(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(WAIT)
            self.process = None


@pytest.fixture
def broker_url() -> str:
    return service_env("TAP_MQTT_URL")


@pytest.fixture
def private_broker(broker_url: str, tmp_path: Path) -> Iterator[Broker]:
    broker = Broker(tmp_path)  # broker_url: fails under make test if Mosquitto is missing
    broker.start()
    yield broker
    broker.stop()


def test_retained_state_and_status_are_read_on_connect(broker_url: str) -> None:
    url = mqtt_prefix_url(broker_url)
    device = SimulatedDevice(["L1", "L2"])
    sim = MqttDeviceSimulator(device, url, timeout=WAIT)
    device.hand.open_door("L2")
    sim.close()  # the controller goes away; its last states and "offline" stay retained
    actuator = open_actuator(f"{url}?units=L1,L2&timeout={WAIT}")
    assert isinstance(actuator, MqttActuator)
    try:
        wait_until(lambda: actuator.known_state("L2") is UnitState.OPEN, "retained L2 open")
        wait_until(lambda: actuator.known_state("L1") is UnitState.LOCKED, "retained L1 locked")
        wait_event(actuator, EventKind.FAULT, "L1", detail="offline")  # retained status
        with pytest.raises(ActuatorUnavailableError, match="offline"):
            actuator.open("L1", timeout=WAIT)
        # The controller comes back: online again, commands answered.
        sim = MqttDeviceSimulator(device, url, timeout=WAIT)
        wait_until(lambda: actuator.controller_online is True, "controller online")
        actuator.open("L1", timeout=WAIT)
        sim.close()
    finally:
        actuator.close()
        device.close()


def test_broker_restart_is_reported_and_recovered(private_broker: Broker) -> None:
    url = f"{private_broker.url}/tap/dock7"
    device = SimulatedDevice(["D1"])
    sim = MqttDeviceSimulator(device, url, timeout=WAIT)
    actuator = open_actuator(f"{url}?units=D1&timeout={WAIT}")
    try:
        actuator.open("D1", timeout=WAIT)
        private_broker.stop()
        # The broker may first hand out the controller's Will ("offline"): both are faults.
        wait_event(actuator, EventKind.FAULT, "D1", detail="connection lost")
        with pytest.raises(ActuatorUnavailableError):
            actuator.state("D1", timeout=WAIT)
        private_broker.start()

        def answers() -> bool:
            try:
                return actuator.state("D1", timeout=1) is UnitState.OPEN
            except ActuatorUnavailableError:
                time.sleep(0.2)
                return False

        wait_until(answers, "the actuator and the controller to reconnect")
        device.hand.dock_bike("D1", "BIKE-9")
        assert wait_event(actuator, EventKind.LOCKED, "D1").bike_id == "BIKE-9"
    finally:
        actuator.close()
        sim.close(timeout=1)
        device.close()


def test_unreachable_broker(broker_url: str) -> None:
    with pytest.raises(ActuatorUnavailableError, match="cannot reach"):
        open_actuator(f"mqtt://127.0.0.1:{free_port()}/tap/x?units=D1&timeout=5")


@pytest.mark.parametrize(
    "spec",
    [
        "mqtt://127.0.0.1:1883/tap/x",  # no units
        "mqtt://127.0.0.1:1883/?units=D1",  # no prefix
        "mqtt://127.0.0.1:1883/tap/+?units=D1",  # wildcard in the prefix
        "mqtt://127.0.0.1:99999/tap/x?units=D1",  # bad port
        "mqtt://127.0.0.1/tap/x?units=D1&colour=red",  # unknown option
    ],
)
def test_bad_specs(spec: str) -> None:
    with pytest.raises(ActuatorUnavailableError):
        open_actuator(spec)
