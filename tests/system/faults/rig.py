"""The fault suite's world: a real acquirer, the fault proxy, a terminal run as a process.

:class:`World` holds one `tap-acquirer serve` (SQLite), a :class:`FaultProxy` in front of it and
one emulated card; :meth:`World.terminal` makes a terminal (its own settings, journal and
outbox) whose ``pay`` and ``flush`` run the real ``tap-terminal`` command. :func:`audit` reads
the acquirer's database and the terminal's journal and checks the one rule of the suite:
every payment the journal shows approved is captured exactly once, every other one holds no
money, and nothing is posted twice.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from terminal.journal import Journal
from tests.system.faults.proxy import FaultProxy
from tests.system.support import BIN

TERMINAL_ID = "TERM0001"
#: The terminal's acquirer timeout in the suite (seconds): the proxy's delay goes beyond it.
TIMEOUT = 1.0


@dataclass
class Run:
    """One ``tap-terminal`` process: its exit status, its JSON output (if any), its stderr."""

    code: int
    doc: Any
    stderr: str


@dataclass
class Terminal:
    """A terminal of its own: a settings file naming its journal and outbox."""

    world: World
    home: Path
    references: list[str] = field(default_factory=list)

    @property
    def settings(self) -> Path:
        return self.home / "terminal.toml"

    @property
    def journal_path(self) -> Path:
        return self.home / "journal.sqlite3"

    def _env(self, extra: dict[str, str] | None) -> dict[str, str]:
        env = {**os.environ, "HOME": str(self.home), "TAP_CARD_HOME": str(self.world.cards),
               "COLUMNS": "200", "NO_COLOR": "1", **(extra or {})}  # fmt: skip
        env.pop("TAP_TERMINAL_SETTINGS", None)
        return env

    def pay(self, amount: str, *, stop_at: str | None = None, timeout: float = 30) -> Run:
        """``tap-terminal pay AMOUNT --json --reference …`` with the world's card (the
        reference only when the acquirer takes one: it lands there separately)."""
        reference = f"order-{len(self.references) + 1}"
        self.references.append(reference)
        extra = {"TAP_TERMINAL_STOP_AT": stop_at} if stop_at else None
        with_reference = ["--reference", reference] if self.world.reference_field else []
        done = subprocess.run(
            [str(BIN / "tap-terminal"), "pay", amount, "--reader", f"emulated:{self.world.card}",
             "--settings", str(self.settings), "--json", *with_reference],
            capture_output=True, text=True, env=self._env(extra), timeout=timeout, check=False,
        )  # fmt: skip
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        return Run(done.returncode, json.loads(lines[-1]) if lines else None, done.stderr)

    def flush(self, *, recover: bool = True, stop_at: str | None = None) -> Run:
        """``tap-terminal outbox flush [--recover]`` (recovery: as the next start would)."""
        extra = {"TAP_TERMINAL_STOP_AT": stop_at} if stop_at else None
        done = subprocess.run(
            [str(BIN / "tap-terminal"), "outbox", "flush", "--settings", str(self.settings),
             *(["--recover"] if recover else [])],
            capture_output=True, text=True, env=self._env(extra), timeout=30, check=False,
        )  # fmt: skip
        return Run(done.returncode, None, done.stderr)

    def cli(self, *args: str) -> Run:
        """``tap-terminal ARGS`` with this terminal's settings (``$TAP_TERMINAL_SETTINGS``);
        its JSON output parsed when it printed one."""
        env = {**self._env(None), "TAP_TERMINAL_SETTINGS": str(self.settings)}
        done = subprocess.run([str(BIN / "tap-terminal"), *args], capture_output=True, text=True,
                              env=env, timeout=30, check=False)  # fmt: skip
        text = done.stdout.strip()
        return Run(done.returncode, json.loads(text) if text[:1] in "{[" and text else None,
                   done.stderr)  # fmt: skip

    def flush_until_clear(self, *, deadline: float = 20.0) -> None:
        """Flush (with recovery) until nothing is owed; backoff and leases make it take a few."""
        end = time.monotonic() + deadline
        while True:
            run = self.flush()
            if run.code == 0:
                return
            assert time.monotonic() < end, f"the outbox did not clear: {run.stderr}"
            time.sleep(0.2)  # a deferred item's next attempt or an expired lease is due soon

    def entries(self) -> list[dict[str, Any]]:
        with Journal(self.journal_path) as journal:
            return [e.to_dict() for e in journal.entries()]


class World:
    """One acquirer (``url``), the proxy in front of it, and the card ``card`` in ``cards``."""

    def __init__(self, root: Path, data: Path, url: str, cards: Path, card: str) -> None:
        self.root, self.data, self.url, self.cards, self.card = root, data, url, cards, card
        upstream = httpx.URL(url)
        self.proxy = FaultProxy((upstream.host, upstream.port or 80))
        self._count = 0
        self.status_endpoint = _has_status_endpoint(url)
        self.reference_field = _takes_references(url)

    def terminal(self) -> Terminal:
        self._count += 1
        home = self.root / f"terminal{self._count}"
        home.mkdir()
        (home / "terminal.toml").write_text(
            f'[terminal]\nid = "{TERMINAL_ID}"\njournal = "journal.sqlite3"\n'
            f'outbox = "outbox.sqlite3"\n\n[acquirer]\nurl = "{self.proxy.url}"\n'
            f"timeout = {TIMEOUT}\n\n[reader]\nwait = 5.0\n"
        )
        return Terminal(self, home)

    def db(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.data / "acquirer.db", timeout=10)
        db.row_factory = sqlite3.Row
        return db


def _takes_references(url: str) -> bool:
    """Whether this acquirer's authorization request has the ``reference`` field."""
    schemas = httpx.get(f"{url}/openapi.json", timeout=5).json()["components"]["schemas"]
    return any({"emv_data", "reference"} <= set(schema.get("properties", {}))
               for schema in schemas.values())  # fmt: skip


def _has_status_endpoint(url: str) -> bool:
    """Whether this acquirer answers ``GET /v1/status/...`` (it lands on main separately)."""
    try:
        answer = httpx.get(f"{url}/v1/status/authorizations/probe",
                           params={"terminal_id": TERMINAL_ID}, timeout=5)  # fmt: skip
    except httpx.HTTPError:
        return False
    try:
        return answer.status_code == 200 and answer.json().get("status") == "not_found"
    except ValueError:
        return False


def audit(world: World, terminal: Terminal) -> list[dict[str, Any]]:
    """Check the suite's rule for every transaction in ``terminal``'s journal; its entries.

    Approved (``confirmed``) in the journal: one approved authorization under its key, its
    payment captured for exactly the amount. Anything else: no authorization, or one whose
    payment holds nothing (reversed). The authorization carries the journal's reference
    (where the acquirer stores references). Nothing posted twice: one ledger journal per payment and
    operation kind, and every ledger journal balances.
    """
    entries = terminal.entries()
    with world.db() as db:
        columns = {row["name"] for row in db.execute("PRAGMA table_info(authorizations)")}
        for entry in entries:
            auth = db.execute("SELECT * FROM authorizations WHERE "
                              "terminal_id = ? AND idempotency_key = ?",
                              (TERMINAL_ID, entry["idempotency_key"])).fetchall()  # fmt: skip
            assert len(auth) <= 1
            received = bool(auth) and auth[0]["request_hash"] != ""  # not a key barred early
            if received and "reference" in columns:  # the acquirer stores the reference
                assert auth[0]["reference"] == entry["reference"], entry
            payment = None
            if auth and auth[0]["approved"]:
                payment = db.execute("SELECT authorized, captured, status FROM payments "
                                     "WHERE id = ?", (auth[0]["id"],)).fetchone()  # fmt: skip
            held = (payment["authorized"] + payment["captured"]) if payment else 0
            if entry["state"] == "confirmed":
                assert entry["outcome"] == "approved"
                assert payment is not None, entry
                assert (payment["captured"], payment["status"]) == (entry["amount"], "captured")
            else:
                assert entry["outcome"] != "approved", entry
                assert held == 0, (entry, dict(payment) if payment else None)
        twice = db.execute("SELECT payment_id, kind, COUNT(*) AS n FROM journals "
                           "GROUP BY payment_id, kind HAVING n > 1").fetchall()  # fmt: skip
        assert not twice, [dict(r) for r in twice]
        unbalanced = db.execute("SELECT journal_id, SUM(amount) AS s FROM postings "
                                "GROUP BY journal_id HAVING s != 0").fetchall()  # fmt: skip
        assert not unbalanced, [dict(r) for r in unbalanced]
    return entries
