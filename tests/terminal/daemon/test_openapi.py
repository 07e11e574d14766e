"""The OpenAPI document is served, and the checked-in copy is the current one.

Regenerate it with ``python -m tests.terminal.daemon.test_openapi`` after changing the API.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import terminal.daemon
from tests.terminal.daemon.rig import Rig

CHECKED_IN = Path(terminal.daemon.__file__).with_name("openapi.json")


def current() -> dict[str, Any]:
    from unittest.mock import MagicMock

    from terminal.daemon.api import create_app

    document: dict[str, Any] = create_app(MagicMock(), "x" * 16).openapi()
    return document


def test_the_checked_in_document_is_current() -> None:
    assert json.loads(CHECKED_IN.read_text(encoding="utf-8")) == current(), (
        "terminal/daemon/openapi.json is stale: python -m tests.terminal.daemon.test_openapi")


def test_the_document_is_served(rig: Rig) -> None:
    served = rig.api.get("/v1/openapi.json").json()
    assert served == current()
    assert {"/v1/actions", "/v1/actions/{action_id}", "/v1/actions/{action_id}/cancel",
            "/v1/events", "/v1/display", "/v1/transactions", "/v1/totals", "/v1/batches",
            "/v1/health"} <= set(served["paths"])  # fmt: skip


if __name__ == "__main__":
    CHECKED_IN.write_text(json.dumps(current(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
