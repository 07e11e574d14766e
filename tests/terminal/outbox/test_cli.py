"""``outbox [--json]`` (pending and the money at risk) and ``outbox flush``'s forwarding."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from typer.testing import CliRunner

from terminal.outbox import NewItem, Outbox, Request
from terminal.outbox.cli import flush, outbox_app

runner = CliRunner()


def fill(path: Path) -> None:
    with Outbox(path) as box:
        box.add(NewItem(Request("deferred_payment", "POST", "/v1/authorizations", {}), "k1",
                        amount=1250, currency="EUR"))  # fmt: skip
        box.add(NewItem(Request("door_event", "POST", "/v1/parcels/P1/door-events", {}), "k2"))


def test_outbox_shows_the_pending_count_and_the_money_at_risk(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    fill(path)
    result = runner.invoke(outbox_app, ["--outbox", str(path), "--json"])
    assert result.exit_code == 1  # something is still owed
    doc = json.loads(result.output)
    assert (doc["pending"], doc["at_risk"], doc["failed"]) == (2, {"EUR": 1250}, 0)
    text = runner.invoke(outbox_app, ["--outbox", str(path)])
    assert "12.50 EUR" in text.output


def test_flush_forwards_and_parks(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    fill(path)

    def handler(request: httpx.Request) -> httpx.Response:
        if "door-events" in request.url.path:
            return httpx.Response(422, json={"code": "parcel_unknown"})
        return httpx.Response(200, json={"approved": True})

    http = httpx.Client(base_url="http://acquirer", transport=httpx.MockTransport(handler))
    with Outbox(path) as box:
        assert flush(box, http) == 1  # one parked: the operator must look
        assert (box.pending().count, box.pending().failed) == (0, 1)
    text = runner.invoke(outbox_app, ["--outbox", str(path)])
    assert "parcel_unknown" in text.output and "Refused" in text.output
    empty = runner.invoke(outbox_app, ["--outbox", str(tmp_path / "empty.sqlite3"), "--json"])
    assert empty.exit_code == 0
