"""The demo's kiosk step: one payment driven only through the terminal daemon's local API.

Set-up (before the acquirer starts): a card ``kiosk-erin`` for the kiosk's reader. Then,
against the running acquirer:

1. ``tap-terminal run`` with a ``[daemon]`` table (loopback, a random port, a bearer token in a
   0600 file), the card in its emulated reader's field;
2. ``POST /v1/actions`` (a 4.50 EUR coffee, ``Idempotency-Key`` = the kiosk's order id), as a
   kiosk app would; the answer comes at once with the action id;
3. the action followed on ``GET /v1/events`` until it is final, then its receipt from
   ``GET /v1/actions/{id}/receipt``;
4. ``SIGTERM``: the daemon stops cleanly (exit 0).
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx

Run = Callable[..., str]

CARD = ("kiosk-erin", "visa", "4242424242424242")
ORDER, AMOUNT = "kiosk-order-1001", 450
FINAL = ("completed", "cancelled", "failed")
TIMEOUT = 30.0


def setup(data: Path, tokens: Path, cards: Path, run: Run) -> None:
    """Provision the kiosk customer's token and personalize the card."""
    name, profile, funding_pan = CARD
    token_file = tokens / f"{name}.json"
    run(["tap-acquirer", "tokens", "provision", "--data-dir", str(data), "--scheme", profile,
         "--funding-pan-file", "-", "--out", str(token_file)], stdin=funding_pan + "\n")  # fmt: skip
    run(["tap-card", "personalize", name, "--profile", profile, "--token", str(token_file),
         "--issuer-keys", str(data / "issuer-keys.json"), "--home", str(cards)])  # fmt: skip


def _settings(folder: Path, acquirer_url: str) -> tuple[Path, str]:
    folder.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    token_file = folder / "api-token"
    token_file.write_text(token + "\n", encoding="utf-8")
    token_file.chmod(0o600)
    settings = folder / "kiosk.toml"
    settings.write_text(f"""[terminal]
id = "KIOSK001"
merchant_name = "Demo coffee kiosk"

[acquirer]
url = "{acquirer_url}"

[reader]
default = "emulated:{CARD[0]}"
wait = 10.0

[daemon]
port = 0
token_file = "api-token"
state_dir = "state"
""", encoding="utf-8")  # fmt: skip
    return settings, token


def play(url: str, work: Path, env: dict[str, str], tap_terminal: str) -> dict[str, object]:
    """Run the daemon, take one payment through its API, stop it; the row for the demo table."""
    settings, token = _settings(work / "kiosk", url)
    daemon = subprocess.Popen(  # noqa: S603 - our own console script, fixed arguments
        [tap_terminal, "run", "--settings", str(settings)], stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL, text=True, env={**os.environ, **env},
    )  # fmt: skip
    try:
        assert daemon.stderr is not None
        line = daemon.stderr.readline()
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        if found is None:
            return {"ok": False, "detail": f"tap-terminal run did not start: {line.strip()!r}"}
        api = httpx.Client(base_url=found.group(1), timeout=TIMEOUT,
                           headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        with api:
            created = api.post("/v1/actions", headers={"Idempotency-Key": ORDER},
                               json={"kind": "payment", "amount": AMOUNT, "currency": "EUR",
                                     "reference": ORDER})  # fmt: skip
            if created.status_code != 201:
                return {"ok": False, "detail": f"POST /v1/actions: {created.status_code}"}
            action_id = created.json()["id"]
            action = _follow(api, action_id)
            receipt = api.get(f"/v1/actions/{action_id}/receipt")
        result = action.get("result") or {}
        assert isinstance(result, dict)
        return {
            "ok": action["state"] == "completed" and result.get("outcome") == "approved",
            "action": action_id,
            "state": action["state"],
            "outcome": result.get("outcome", "-"),
            "detail": f"reference {ORDER}, ARPC {'verified' if result.get('arpc_verified') else '-'}",
            "receipt": receipt.text if receipt.status_code == 200 else "",
        }
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()


def _follow(api: httpx.Client, action_id: str) -> dict[str, object]:
    """The action once final, looked at again on each event the daemon sends."""
    with api.stream("GET", "/v1/events", params={"after": "0"}) as events:
        for _ in events.iter_lines():
            action: dict[str, object] = api.get(f"/v1/actions/{action_id}").json()
            if action["state"] in FINAL:
                return action
    raise RuntimeError("the daemon's event stream ended before the action was final")
