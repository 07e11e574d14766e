"""The demo's second half: a bike ride and a parcel pickup, with the same programs.

Set-up (before the acquirer starts): an operator BIKES with docks DOCK1 and DOCK2 (action
``bike``) and its tariff (``tap-acquirer bikes tariff set``); an operator LOCKOP with the
locker LOCKER1 (``locker``), four compartments and a storage fee, and a courier terminal
COURIER1 (``courier``); a rider's and a recipient's cards. Then, against the running
acquirer:

1. ``tap-terminal bike tap --dock D1 --bike BIKE-7`` at DOCK1: the deposit is held, the
   (simulated) lock opens, the ride starts;
2. ``tap-terminal bike tap --dock D1`` at DOCK2: the tap-off ends it, the fare is captured
   and the rest of the hold released;
3. the courier's ``POST /v1/parcels`` (HTTP) registers two parcels for the recipient's PAR,
   one prepaid, one cash on delivery;
4. ``tap-terminal locker pickup`` at LOCKER1 (``release = "all"``): one tap pays the cash on
   delivery (a second transaction on the card still in the field) and opens both doors.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

Run = Callable[..., str]

DEPOSIT, UNLOCK_FEE, COD = 5000, 100, 1990
CARDS = (("rider-carol", "visa", "4000056655665556"), ("recipient-dave", "mastercard",
         "5200828282828210"))  # fmt: skip


def setup(data: Path, work: Path, tokens: Path, cards: Path, run: Run) -> None:
    """Register the operators, terminals, tariff, compartments and fee; make the two cards."""
    acq = ["--data-dir", str(data)]
    certs = str(work / "certs")
    run(["tap-acquirer", "merchants", "add", "--id", "BIKES", "--name", "City bikes", "--mcc",
         "7999", "--currency", "EUR", "--settlement-account", "NL91ABNA0417164300", *acq])  # fmt: skip
    run(["tap-acquirer", "merchants", "add", "--id", "LOCKOP", "--name", "Parcel lockers",
         "--mcc", "4215", "--currency", "EUR", "--settlement-account", "NL91ABNA0417164300",
         *acq])  # fmt: skip
    for terminal, merchant, action in (("DOCK1", "BIKES", "bike"), ("DOCK2", "BIKES", "bike"),
                                       ("LOCKER1", "LOCKOP", "locker"),
                                       ("COURIER1", "LOCKOP", "courier")):  # fmt: skip
        run(["tap-acquirer", "terminals", "add", "--id", terminal, "--merchant", merchant,
             "--actions", action, "--out-dir", certs, *acq])  # fmt: skip
    run(["tap-acquirer", "bikes", "tariff", "set", "BIKES", "--currency", "EUR", "--deposit",
         str(DEPOSIT), "--unlock-fee", str(UNLOCK_FEE), "--per-started-minute", "20",
         "--free-minutes", "30", "--daily-cap", "1500", "--max-duration-minutes", "4320",
         "--lost-bike-charge", "50000", *acq])  # fmt: skip
    run(["tap-acquirer", "lockers", "compartments", "add", "LOCKER1", "--size", "M", "--count",
         "4", *acq])  # fmt: skip
    run(["tap-acquirer", "lockers", "fees", "set", "LOCKOP", "--free-hours", "48",
         "--fee-per-started-day", "150", "--currency", "EUR", *acq])  # fmt: skip
    for name, profile, funding_pan in CARDS:
        token_file = tokens / f"{name}.json"
        run(["tap-acquirer", "tokens", "provision", *acq, "--scheme", profile,
             "--funding-pan-file", "-", "--out", str(token_file)], stdin=funding_pan + "\n")  # fmt: skip
        run(["tap-card", "personalize", name, "--profile", profile, "--token", str(token_file),
             "--issuer-keys", str(data / "issuer-keys.json"), "--home", str(cards)])  # fmt: skip
    state = work / "state"
    for terminal in ("DOCK1", "DOCK2"):
        (work / f"{terminal}.toml").write_text(
            f'[terminal]\nid = "{terminal}"\nmode = "bike"\n'
            f'journal = "{state}/{terminal}-journal.sqlite3"\noutbox = "{state}/{terminal}-outbox.sqlite3"\n'
            f'\n[bike]\ndocks = ["D1"]\n'
            f'actuator = "simulated:units=D1"\ndeposit = {DEPOSIT}\n'
            f'deny_list = "{state}/{terminal}-deny.json"\nqueue = "{state}/{terminal}.sqlite3"\n',
            encoding="utf-8",
        )
    (work / "LOCKER1.toml").write_text(
        f'[terminal]\nid = "LOCKER1"\nmode = "locker"\njournal = "{state}/LOCKER1-journal.sqlite3"\n'
        f'outbox = "{state}/LOCKER1-outbox.sqlite3"\n\n[locker]\n'
        'actuator = "simulated:units=01,02,03,04"\nrelease = "all"\n',
        encoding="utf-8",
    )


def play(url: str, work: Path, tokens: Path, env: dict[str, str], run: Run) -> list[dict[str, Any]]:
    """The ride and the pickup; one row per step, each with ``ok`` when it went as expected."""
    rows: list[dict[str, Any]] = []

    def terminal(name: str, *args: str) -> dict[str, Any]:
        out = run(["tap-terminal", *args, "--settings", str(work / f"{name}.toml"),
                   "--acquirer-url", url, "--json"], env=env)  # fmt: skip
        doc: dict[str, Any] = json.loads(out)
        return doc

    on = terminal("DOCK1", "bike", "tap", "--dock", "D1", "--bike", "BIKE-7",
                  "--reader", "emulated:rider-carol")  # fmt: skip
    rows.append({"step": "tap-on at DOCK1, bike BIKE-7", "who": "rider-carol",
                 "outcome": on["outcome"], "detail": f"deposit {DEPOSIT / 100:.2f} EUR held, "
                 f"lock opened, ARPC {'verified' if on['arpc_verified'] else 'not verified'}",
                 "ok": on["outcome"] == "unlocked" and on["arpc_verified"] is True})  # fmt: skip
    off = terminal("DOCK2", "bike", "tap", "--dock", "D1", "--reader", "emulated:rider-carol")
    rows.append({"step": "tap-off at DOCK2", "who": "rider-carol", "outcome": off["outcome"],
                 "detail": f"{off['minutes']} min, fare {off['fare_text']}, captured "
                 f"{(off['captured'] or 0) / 100:.2f}, rest of the hold released",
                 "ok": off["outcome"] == "returned" and off["captured"] == UNLOCK_FEE
                 and off["rental_id"] == on["rental_id"]})  # fmt: skip

    par = json.loads((tokens / "recipient-dave.json").read_text(encoding="utf-8"))["par"]
    parcels = []
    for reference, cod in (("PREPAID-1", 0), ("COD-1", COD)):
        body = {"terminal_id": "COURIER1", "locker_id": "LOCKER1", "size": "M",
                "recipient_par": par, "cod_amount": cod, "currency": "EUR",
                "reference": reference}  # fmt: skip
        answer = httpx.post(f"{url}/v1/parcels", json=body,
                            headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=10)  # fmt: skip
        answer.raise_for_status()
        parcels.append(answer.json())
        rows.append({"step": f"courier registers {reference}", "who": "COURIER1",
                     "outcome": answer.json()["state"],
                     "detail": f"compartment {answer.json()['compartment']}"
                     + (f", cash on delivery {cod / 100:.2f} EUR" if cod else ", prepaid"),
                     "ok": answer.json()["state"] == "waiting"})  # fmt: skip
    pickup = terminal("LOCKER1", "locker", "pickup", "--watch", "0",
                      "--reader", "emulated:recipient-dave")  # fmt: skip
    opened = sorted(d["compartment"] for d in pickup["doors"] if d["state"] == "open")
    expected = sorted(p["compartment"] for p in parcels)
    rows.append({"step": "pickup at LOCKER1, one tap", "who": "recipient-dave",
                 "outcome": pickup["outcome"],
                 "detail": f"paid {pickup['paid'] / 100:.2f} EUR, opened {', '.join(opened)}",
                 "ok": pickup["outcome"] == "opened" and pickup["paid"] == COD
                 and opened == expected})  # fmt: skip
    return rows
