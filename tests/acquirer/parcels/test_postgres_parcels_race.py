"""Two acquirer processes on one PostgreSQL database never assign one compartment twice, and
never collect one parcel twice."""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from acquirer import Settings
from acquirer.domains import open_database
from acquirer.parcels.sql import SqlParcelStore
from tests.acquirer.parcels.test_parcels import COURIER, LOCKER, register_locker
from tests.acquirer.processes import acquirer_process

REGISTRATIONS = 12  # for 3 compartments S, M, L: S and M parcels may take any of them


def test_two_processes_never_share_a_compartment(settings: Settings, postgres_url: str) -> None:
    pg_settings = dataclasses.replace(settings, database_url=postgres_url)
    store = SqlParcelStore(open_database(pg_settings))
    try:
        store.engine.migrate()
        register_locker(store)
    finally:
        store.engine.close()
    env = {"TAP_ACQUIRER_DATABASE_URL": postgres_url}
    with (
        acquirer_process(settings.data_dir, env=env) as first,
        acquirer_process(settings.data_dir, env=env) as second,
        httpx.Client(timeout=30) as client,
    ):
        barrier = threading.Barrier(REGISTRATIONS)

        def post(n: int, path: str, body: dict[str, Any], key: str) -> httpx.Response:
            barrier.wait()
            url = (first, second)[n % 2]
            return client.post(f"{url}{path}", json=body, headers={"Idempotency-Key": key})

        def register(n: int) -> httpx.Response:
            body = {"terminal_id": COURIER, "locker_id": LOCKER, "size": "S",
                    "pickup_code": True, "currency": "EUR", "reference": f"R{n}"}  # fmt: skip
            return post(n, "/v1/parcels", body, f"reg-{n}")

        with ThreadPoolExecutor(max_workers=REGISTRATIONS) as pool:
            answers = list(pool.map(register, range(REGISTRATIONS)))
        codes = sorted(r.status_code for r in answers)
        assert codes == [200] * 3 + [409] * (REGISTRATIONS - 3)
        taken = sorted(r.json()["compartment"] for r in answers if r.status_code == 200)
        assert taken == ["01", "02", "03"]
        parcel = next(r.json() for r in answers if r.status_code == 200)
        opened = client.post(
            f"{first}/v1/parcels/pickups",
            json={"terminal_id": LOCKER, "pickup_code": parcel["pickup_code"]},
            headers={"Idempotency-Key": "pick"},
        )
        assert opened.json()["action"] == "open"
        for event in ("opened",):
            client.post(
                f"{second}/v1/parcels/{parcel['parcel_id']}/door-events",
                json={"terminal_id": LOCKER, "event": event, "at": "2026-11-22T12:00:00Z"},
                headers={"Idempotency-Key": event},
            ).raise_for_status()

        def close(n: int) -> int:
            body = {"terminal_id": LOCKER, "event": "closed", "at": "2026-11-22T12:01:00Z"}
            path = f"/v1/parcels/{parcel['parcel_id']}/door-events"
            return post(n, path, body, f"close-{n}").status_code

        with ThreadPoolExecutor(max_workers=REGISTRATIONS) as pool:
            closes = sorted(pool.map(close, range(REGISTRATIONS)))
        assert closes == [200] + [409] * (REGISTRATIONS - 1)  # collected exactly once
