"""AES DUKPT on the wire: the terminal's client seals 57/5A/5F24, the acquirer opens them.

End to end in-process: the terminal's :class:`~terminal.online.AcquirerClient` with its
device-state file, through Starlette's test transport, into the real app. The initial key
is the one ``terminals add`` writes (:func:`acquirer.keystore.dukpt.write_initial_key`).
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from acquirer import Settings
from acquirer.keys import KeyMaterial
from acquirer.keystore.dukpt import SensitiveDataOpener, device_id, write_initial_key
from emvcore import tlv
from emvcore.crypto.dukpt.envelope import ENCIPHERED_TAG, KSN_TAG, TEMPLATE_TAG
from terminal.errors import DukptDeviceError
from terminal.online import AcquirerClient
from terminal.online.dukpt import DukptDevice
from tests.acquirer.testkit import TestCard

TERMINAL = "SHOP0001"


class Wire:
    """The terminal's client and the bodies it sent, seen from the wire."""

    def __init__(self, http: TestClient, device: DukptDevice) -> None:
        self.sent: list[dict[str, object]] = []
        transport = http._transport
        wire = self

        class Recording(type(transport)):  # type: ignore[misc]
            def handle_request(self, request):  # type: ignore[no-untyped-def]
                wire.sent.append(json.loads(request.content))
                return transport.handle_request(request)

        recording = Recording.__new__(Recording)
        recording.__dict__.update(transport.__dict__)
        self.client = AcquirerClient("http://testserver", transport=recording, dukpt=device)

    def pay(self, card: TestCard, atc: int, key: str, **tap: bool) -> object:
        data = card.tap(amount=1250, atc=atc, **tap)
        return self.client.authorize(
            terminal_id=TERMINAL, amount=1250, currency="EUR", emv_data=data.data,
            idempotency_key=key,
        )  # fmt: skip


@pytest.fixture
def device(tmp_path: Path, keys: KeyMaterial) -> DukptDevice:
    bdk = keys.keyring.bdk
    assert bdk is not None and bdk.test_key
    initial = write_initial_key(bdk, TERMINAL, tmp_path / "certs")
    assert stat.S_IMODE(initial.stat().st_mode) == 0o600
    return DukptDevice(tmp_path / "state" / "dukpt-device.json", initial)


@pytest.fixture
def wire(client: TestClient, device: DukptDevice) -> Iterator[Wire]:
    wire = Wire(client, device)
    yield wire
    wire.client.close()


def _ksn_claims(settings: Settings) -> list[tuple[str, str]]:
    with sqlite3.connect(settings.database) as db:
        return db.execute("SELECT terminal_id, ksn FROM ksn_claims ORDER BY ksn").fetchall()


def test_sealed_card_data_is_approved_and_its_ksn_claimed(
    wire: Wire, new_card: Callable[..., TestCard], settings: Settings, keys: KeyMaterial
) -> None:
    card = new_card()
    response = wire.pay(card, atc=1, key="k1")
    assert getattr(response, "approved", None) is True
    (body,) = wire.sent
    record = bytes.fromhex(str(body["emv_data"]))
    top = {o.tag for o in tlv.decode(record)}
    assert TEMPLATE_TAG in top and not top & {0x57, 0x5A, 0x5F24}
    assert card.token.encode() not in record and bytes.fromhex(card.token) not in record
    bdk = keys.keyring.bdk
    assert bdk is not None and bdk.bdk_id is not None
    ksn = bdk.bdk_id + device_id(TERMINAL) + (1).to_bytes(4, "big")
    assert _ksn_claims(settings) == [(TERMINAL, ksn.hex().upper())]


def test_track_2_equivalent_data_travels_sealed_too(
    wire: Wire, new_card: Callable[..., TestCard]
) -> None:
    response = wire.pay(new_card(), atc=1, key="k1", track2=True)
    assert getattr(response, "approved", None) is True
    (body,) = wire.sent
    assert not {o.tag for o in tlv.decode(bytes.fromhex(str(body["emv_data"])))} & {0x57}


def test_each_authorization_uses_the_next_counter_and_the_state_is_on_disk_first(
    wire: Wire, device: DukptDevice, tmp_path: Path, new_card: Callable[..., TestCard]
) -> None:
    card = new_card()
    wire.pay(card, atc=1, key="k1")
    wire.pay(card, atc=2, key="k2")
    state_file = tmp_path / "state" / "dukpt-device.json"
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
    state = json.loads(state_file.read_text())
    assert (state["format"], state["counter"]) == ("tap-dukpt-device/1", 3)
    # A terminal restarted from the file goes on from counter 3, never back.
    assert DukptDevice(state_file).next_counter == 3


def test_a_replayed_ksn_is_refused(
    client: TestClient, wire: Wire, new_card: Callable[..., TestCard], settings: Settings
) -> None:
    card = new_card()
    wire.pay(card, atc=1, key="k1")
    (body,) = wire.sent
    # The same sealed data under a new idempotency key (a captured request sent again).
    replay = client.post("/v1/authorizations", json=body, headers={"Idempotency-Key": "other"})
    assert replay.status_code == 409, replay.text
    assert replay.json()["code"] == "ksn_replayed"
    assert len(_ksn_claims(settings)) == 1
    # The same request under its own key is a retry: the first answer, not a refusal.
    retry = client.post("/v1/authorizations", json=body, headers={"Idempotency-Key": "k1"})
    assert retry.status_code == 200 and retry.headers.get("Idempotent-Replayed") == "true"


def test_a_ksn_of_another_terminal_is_refused(
    client: TestClient, wire: Wire, new_card: Callable[..., TestCard]
) -> None:
    wire.pay(new_card(), atc=1, key="k1")
    (body,) = wire.sent
    other = dict(body, terminal_id="SHOP0002")
    answer = client.post("/v1/authorizations", json=other, headers={"Idempotency-Key": "x"})
    assert answer.status_code == 422 and answer.json()["code"] == "sensitive_data_invalid"
    assert "device ID" in answer.json()["detail"]


def test_tampered_ciphertext_is_refused(
    client: TestClient, wire: Wire, new_card: Callable[..., TestCard], settings: Settings
) -> None:
    wire.pay(new_card(), atc=1, key="k1")
    (body,) = wire.sent
    objects = tlv.decode(bytes.fromhex(str(body["emv_data"])))
    kept = b"".join(o.encode() for o in objects if o.tag != TEMPLATE_TAG)
    (template,) = [o for o in objects if o.tag == TEMPLATE_TAG]
    fields = [(o.tag, o.value) for o in tlv.decode(template.value)]
    fields = [
        (tag, value[:-1] + bytes([value[-1] ^ 1]) if tag == ENCIPHERED_TAG else value)
        for tag, value in fields
    ]
    tampered = kept + tlv.encode(TEMPLATE_TAG, tlv.encode_many(fields))
    answer = client.post(
        "/v1/authorizations",
        json=dict(body, emv_data=tampered.hex().upper()),
        headers={"Idempotency-Key": "k2"},
    )
    assert answer.status_code == 422 and answer.json()["code"] == "sensitive_data_invalid"
    assert "MAC" in answer.json()["detail"]
    assert len(_ksn_claims(settings)) == 1  # only the genuine request's


def test_the_clear_format_is_accepted_outside_production(
    client: TestClient, new_card: Callable[..., TestCard], settings: Settings
) -> None:
    tap = new_card().tap(amount=1250, atc=1)
    answer = client.post(
        "/v1/authorizations",
        json={"terminal_id": TERMINAL, "amount": 1250, "currency": "EUR", "emv_data": tap.hex},
        headers={"Idempotency-Key": "k1"},
    )
    assert answer.status_code == 200 and answer.json()["approved"] is True
    assert _ksn_claims(settings) == []


def test_production_refuses_the_clear_format(
    client: TestClient, wire: Wire, keys: KeyMaterial, new_card: Callable[..., TestCard]
) -> None:
    services = client.app.state.payments  # type: ignore[attr-defined]
    opener = SensitiveDataOpener(keys.keyring.bdk, production=True)
    client.app.state.payments = dataclasses.replace(services, sensitive=opener)  # type: ignore[attr-defined]
    card = new_card()
    tap = card.tap(amount=1250, atc=1)
    answer = client.post(
        "/v1/authorizations",
        json={"terminal_id": TERMINAL, "amount": 1250, "currency": "EUR", "emv_data": tap.hex},
        headers={"Idempotency-Key": "k1"},
    )
    assert answer.status_code == 422 and answer.json()["code"] == "sensitive_data_invalid"
    assert "production mode refuses" in answer.json()["detail"]
    # The same card sealed by the terminal is authorized.
    assert getattr(wire.pay(card, atc=2, key="k2"), "approved", None) is True


def test_the_terminal_refuses_to_send_when_its_state_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(DukptDeviceError, match="no initial key"):
        DukptDevice(tmp_path / "missing.json")
    wide = tmp_path / "wide.json"
    wide.write_text("{}")
    wide.chmod(0o644)
    with pytest.raises(DukptDeviceError, match="owner only"):
        DukptDevice(wide)


def test_an_exhausted_device_sends_nothing(
    tmp_path: Path, device: DukptDevice, new_card: Callable[..., TestCard]
) -> None:
    state_file = tmp_path / "state" / "dukpt-device.json"
    state = json.loads(state_file.read_text())
    # The last valid counter, FFFF0000 (16 one-bits), with its register the only one left
    # (a real key of the right length: which key does not matter to the counter rules).
    state["registers"] = [None] * 16 + [state["registers"][16]] + [None] * 15
    state["counter"] = 0xFFFF0000
    state_file.write_text(json.dumps(state))
    last = DukptDevice(state_file)
    tap = new_card().tap(amount=1, atc=1).data
    sealed = last.seal(tap)
    assert TEMPLATE_TAG in {o.tag for o in tlv.decode(sealed)}
    with pytest.raises(DukptDeviceError, match="exhausted"):
        last.seal(tap)


def test_a_ksn_with_too_many_one_bits_is_refused(
    client: TestClient, wire: Wire, new_card: Callable[..., TestCard]
) -> None:
    wire.pay(new_card(), atc=1, key="k1")
    (body,) = wire.sent
    objects = tlv.decode(bytes.fromhex(str(body["emv_data"])))
    kept = b"".join(o.encode() for o in objects if o.tag != TEMPLATE_TAG)
    (template,) = [o for o in objects if o.tag == TEMPLATE_TAG]
    fields = [
        (o.tag, o.value[:8] + (0x0001FFFF).to_bytes(4, "big") if o.tag == KSN_TAG else o.value)
        for o in tlv.decode(template.value)
    ]
    forged = kept + tlv.encode(TEMPLATE_TAG, tlv.encode_many(fields))
    answer = client.post(
        "/v1/authorizations",
        json=dict(body, emv_data=forged.hex().upper()),
        headers={"Idempotency-Key": "k2"},
    )
    assert answer.status_code == 422 and answer.json()["code"] == "sensitive_data_invalid"
    assert "17 one-bits" in answer.json()["detail"]
