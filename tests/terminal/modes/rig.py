"""The real acquirer app in-process, with an operator, docks, a locker and personalized cards.

The terminal's :class:`~terminal.online.AcquirerClient` talks to the real FastAPI app through
Starlette's test transport; :class:`Link` sits in between and can cut the line (nothing
delivered) or lose answers (delivered, answer lost), as a network would. Cards are personalized
from tokens the acquirer's vault issued, with its issuer keys, so the acquirer verifies their
ARQCs and the cards verify its ARPCs.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from acquirer import Settings, create_app
from acquirer.domains import MIGRATIONS
from acquirer.keys import KeyMaterial, initialize, load_key_material
from acquirer.parcels.rows import CompartmentSize
from acquirer.parcels.sql import SqlParcelStore
from acquirer.registry import MerchantRow, TerminalRow, TerminalStatus
from acquirer.rentals.sql import SqlRentalStore
from acquirer.rentals.tariff import Tariff
from acquirer.store.sqlite import SqliteEngine
from acquirer.vault import TokenVault
from card_emulation import EmvApplet, personalize
from terminal.actuators import Actuator, open_actuator
from terminal.actuators.device import SimulatedDevice
from terminal.actuators.simdevice import MqttDeviceSimulator
from terminal.actuators.simulated import SimulatedActuator
from terminal.online import AcquirerClient
from terminal.readers.emulated import LoopbackReader
from tests.actuators.rigs import mqtt_prefix_url
from tests.services import service_env

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TARIFF = Tariff("EUR", deposit=5000, unlock_fee=100, per_started_minute=20, free_minutes=30,
                daily_cap=1500, max_duration_minutes=4320, lost_bike_charge=50000)  # fmt: skip
PANS = (f"411111111{n:06d}" for n in itertools.count(11))


def acq_now() -> datetime:
    """The acquirer's present (its stores stamp rows with the wall clock)."""
    return datetime.now(UTC)


@contextmanager
def controller(kind: str, units: tuple[str, ...]) -> Iterator[tuple[SimulatedDevice, Actuator]]:
    """A simulated controller of ``units`` and the actuator driving it: ``simulated``
    in-process, or ``mqtt`` behind the real Mosquitto (``TAP_MQTT_URL``)."""
    device = SimulatedDevice(units)
    if kind == "simulated":
        actuator: Actuator = SimulatedActuator(units, device=device)
        try:
            yield device, actuator
        finally:
            actuator.close()
            device.close()
        return
    sim = MqttDeviceSimulator(device, mqtt_prefix_url(service_env("TAP_MQTT_URL")), timeout=10)
    actuator = open_actuator(f"{sim.url}?units={','.join(units)}&timeout=10")
    try:
        yield device, actuator
    finally:
        actuator.close()
        sim.close()
        device.close()


def luhn(body: str) -> str:
    """``body`` followed by its Luhn check digit."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return body + str((10 - total % 10) % 10)


class Link(httpx.BaseTransport):
    """The line to the acquirer: ``down`` (nothing sent) or ``lose_answers`` (sent, no answer);
    ``lose_answer_of``: lose only the answer of the next request whose path ends so."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.down = False
        self.lose_answers = False
        self.lose_answer_of: str | None = None
        self.sent: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("network unreachable", request=request)
        response = self.inner.handle_request(request)
        response.read()
        self.sent.append(f"{request.method} {request.url.path} {response.status_code}")
        if self.lose_answer_of is not None and request.url.path.endswith(self.lose_answer_of):
            self.lose_answer_of = None
            raise httpx.ReadTimeout("answer lost", request=request)
        if self.lose_answers:
            raise httpx.ReadTimeout("answer lost", request=request)
        return response


@dataclass
class Card:
    """An emulated card of a token the acquirer issued."""

    applet: EmvApplet
    par: str
    token: str
    funding_pan: str

    def reader(self) -> LoopbackReader:
        return LoopbackReader(self.applet)


class Acquirer:
    """The real app, its store (for set-up and checks) and a client the terminal can use."""

    def __init__(self, root: Path) -> None:
        self.settings = Settings(data_dir=root / "acquirer")
        initialize(self.settings)
        self.keys: KeyMaterial = load_key_material(self.settings)
        self.engine = SqliteEngine(self.settings.database, MIGRATIONS)
        self.engine.migrate()
        self.store = SqlRentalStore(self.engine)
        self.parcel_store = SqlParcelStore(self.engine)
        self.vault = TokenVault(self.store, self.keys.issuer_keys, self.keys.vault_key,
                                bin_controller_id=self.settings.bin_controller_id)  # fmt: skip
        self.http = TestClient(create_app(self.settings))
        self.http.__enter__()
        self.link = Link(self.http._transport)
        self._names = itertools.count()

    def close(self) -> None:
        self.http.__exit__(None, None, None)
        self.engine.close()

    def client(self) -> AcquirerClient:
        return AcquirerClient("http://testserver", transport=self.link, timeout=5)

    def merchant(self, merchant_id: str, mcc: str = "7999") -> None:
        self.store.put_merchant(
            MerchantRow(merchant_id, merchant_id, mcc, "EUR", "NL91ABNA0417164300", NOW)
        )

    def terminal(self, terminal_id: str, merchant_id: str, *actions: str) -> None:
        self.store.put_terminal(
            TerminalRow(terminal_id, merchant_id, actions, TerminalStatus.ACTIVE, None, NOW)
        )

    def bikes(self, tariff: Tariff = TARIFF) -> None:
        """Operator BIKES with docks DOCK1 and DOCK2 and the tariff."""
        self.merchant("BIKES")
        self.terminal("DOCK1", "BIKES", "bike")
        self.terminal("DOCK2", "BIKES", "bike")
        self.store.put_tariff("BIKES", tariff, NOW)

    def lockers(self, compartments: int = 4) -> None:
        """Operator LOCKOP with LOCKER1 (M compartments 01..), courier COURIER1."""
        self.merchant("LOCKOP", "4215")
        self.terminal("LOCKER1", "LOCKOP", "locker")
        self.terminal("COURIER1", "LOCKOP", "courier")
        self.parcel_store.add_compartments("LOCKER1", CompartmentSize.M, compartments, NOW)

    def card(self, profile: str = "visa") -> Card:
        pan = luhn(next(PANS))
        record = self.vault.provision(pan, profile)
        image = personalize(f"card{next(self._names)}", profile, record, self.keys.issuer_keys)
        return Card(EmvApplet(image), record.par, record.token, pan)

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        key = f"test-{time.monotonic_ns()}"
        response = self.http.post(path, json=body, headers={"Idempotency-Key": key})
        assert response.status_code == 200, response.text
        doc: dict[str, Any] = response.json()
        return doc

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        response = self.http.get(path, params=params)
        assert response.status_code == 200, response.text
        doc: dict[str, Any] = response.json()
        return doc

    def parcel(
        self, card: Card | None, *, cod: int = 0, code: bool = False, ref: str = "P"
    ) -> dict[str, Any]:
        """The courier registers a parcel at LOCKER1."""
        body: dict[str, Any] = {"terminal_id": "COURIER1", "locker_id": "LOCKER1", "size": "M",
                                "pickup_code": code, "cod_amount": cod, "currency": "EUR",
                                "reference": ref}  # fmt: skip
        if card is not None:
            body["recipient_par"] = card.par
        return self.post("/v1/parcels", body)


@contextmanager
def acquirer(root: Path) -> Iterator[Acquirer]:
    rig = Acquirer(root)
    try:
        yield rig
    finally:
        rig.close()
