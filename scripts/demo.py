"""The end-to-end demo behind `make demo`: three taps, real cryptography, real HTTP.

It plays every role with the project's own command-line programs, as a new user would:

1. ``tap-acquirer init``: issuer master keys (test keys), vault key and SQLite database;
2. ``tap-acquirer tokens provision``: three tokens for three funding accounts;
3. ``tap-card personalize``: two cards (Visa-style qVSDC, Mastercard-style M/Chip) and one
   whose cryptograms are tampered with;
4. ``tap-acquirer serve`` on a free loopback port;
5. ``tap-terminal pay 12.50 --reader emulated:NAME`` for each card;

then a bike ride and a parcel pickup (:mod:`demo_modes`: the dock and locker modes of
``tap-terminal`` with simulated actuators, the courier's ``POST /v1/parcels``), a coffee paid
at a kiosk driven only through the terminal daemon's local API (:mod:`demo_kiosk`:
``tap-terminal run``, ``POST /v1/actions``, the event stream, the receipt), one Tap!
payment (:mod:`demo_tag`: ``tap-terminal tag pay``, the terminal as the tag on nfcpy's udp
radio, paid online by the phone wallet), prints the outcomes and stops the acquirer.
Everything lives in ``.demo/`` (made anew on each run). The exit status is 0 only when the
outcomes are the expected ones.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from rich import box
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
import demo_kiosk
import demo_modes
import demo_tag

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Logs (CI, pipes) get a fixed width wide enough for the table; a terminal keeps its own.
console = Console() if sys.stdout.isatty() else Console(width=132)

#: (card name, profile, funding PAN (well-known test numbers), tampered?, expected outcome)
CARDS = (
    ("alice-visa", "visa", "4111111111111111", False, "approved"),
    ("bob-mastercard", "mastercard", "5555555555554444", False, "approved"),
    ("mallory-visa", "visa", "4012888888881881", True, "declined"),
)


def run(args: list[str], *, stdin: str | None = None, env: dict[str, str] | None = None) -> str:
    """Run one of the project's programs; stop the demo with its message if it fails."""
    done = subprocess.run(  # noqa: S603 - our own console scripts, fixed arguments
        [str(BIN / args[0]), *args[1:]],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    # tap-terminal exits 1 for a decline, which is a result; no output at all is a failure.
    terminal = args[0] == "tap-terminal"
    if (done.returncode != 0 and not terminal) or (terminal and not done.stdout.strip()):
        console.print(f"[red]{' '.join(args[:3])} failed:[/]\n{done.stderr or done.stdout}")
        raise SystemExit(1)
    return done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_healthy(url: str, server: subprocess.Popen[str], deadline: float = 20.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if server.poll() is not None:
            console.print(
                f"[red]the acquirer exited:[/]\n{server.stderr.read() if server.stderr else ''}"
            )
            raise SystemExit(1)
        try:
            if httpx.get(f"{url}/v1/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    console.print(f"[red]the acquirer did not become healthy within {deadline:.0f} s[/]")
    raise SystemExit(1)


def _oda(result: dict[str, object]) -> str:
    """Offline data authentication as the kernel did it: fDDA on C-3, CDA on C-2."""
    method = "fDDA" if result["kernel_id"] == 3 else "CDA"
    failed = any(str(bit).endswith(("DDA_FAILED", "CDA_FAILED")) for bit in result["tvr_bits"])  # type: ignore[attr-defined]
    if failed:
        return f"[red]{method} ✗[/]"
    return f"[green]{method} ✓[/]" if result["oda_performed"] else "-"


def main() -> int:
    work = ROOT / ".demo"
    shutil.rmtree(work, ignore_errors=True)
    data, cards, tokens = work / "acquirer", work / "cards", work / "tokens"
    tokens.mkdir(parents=True)
    # The shop terminal's journal and outbox live in the demo's folder, not the user's state.
    shop = work / "terminal.toml"
    shop.write_text(f'[terminal]\njournal = "{work}/journal.sqlite3"\n'
                    f'outbox = "{work}/outbox.sqlite3"\n', encoding="utf-8")  # fmt: skip
    env = {**os.environ, "TAP_CARD_HOME": str(cards), "TAP_TERMINAL_SETTINGS": str(shop)}

    with console.status("Setting up the acquirer, tokens and cards ..."):
        run(["tap-acquirer", "init", "--data-dir", str(data)])
        for name, profile, funding_pan, tamper, _ in CARDS:
            token_file = tokens / f"{name}.json"
            run(["tap-acquirer", "tokens", "provision", "--data-dir", str(data), "--scheme", profile,
                 "--funding-pan-file", "-", "--out", str(token_file)], stdin=funding_pan + "\n")  # fmt: skip
            run(["tap-card", "personalize", name, "--profile", profile, "--token", str(token_file),
                 "--issuer-keys", str(data / "issuer-keys.json"), "--home", str(cards),
                 *(["--tamper"] if tamper else [])])  # fmt: skip
        demo_modes.setup(data, work, tokens, cards, run)
        demo_kiosk.setup(data, tokens, cards, run)
        demo_tag.setup(data, work, tokens, cards, run)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(  # noqa: S603
        [str(BIN / "tap-acquirer"), "serve", "--data-dir", str(data), "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    results = []
    modes: list[dict[str, object]] = []
    kiosk: dict[str, object] = {"ok": False, "detail": "not run"}
    tap: dict[str, object] = {"ok": False, "detail": "not run"}
    try:
        with console.status(f"Starting the acquirer on {url} ..."):
            wait_healthy(url, server)
        for name, profile, _, tamper, expected in CARDS:
            with console.status(f"Tapping {name} ..."):
                out = run(["tap-terminal", "pay", "12.50", "--currency", "EUR", "--reader",
                           f"emulated:{name}", "--acquirer-url", url, "--json"], env=env)  # fmt: skip
            try:
                results.append((name, profile, tamper, expected, json.loads(out)))
            except json.JSONDecodeError:
                console.print(f"[red]tap-terminal gave no result for {name}:[/] {out}")
                return 1
        with console.status("A bike ride and a parcel pickup ..."):
            modes = demo_modes.play(url, work, tokens, env, run)
        with console.status("A kiosk's coffee through the daemon's local API ..."):
            kiosk = demo_kiosk.play(url, work, {"TAP_CARD_HOME": str(cards)},
                                    str(BIN / "tap-terminal"))  # fmt: skip
        with console.status("A Tap! payment: the terminal is the tag, the phone pays ..."):
            tap = demo_tag.play(url, work, {"TAP_CARD_HOME": str(cards)},
                                str(BIN / "tap-terminal"))  # fmt: skip
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    table = Table(title="Tap demo: 12.50 EUR on three emulated cards", box=box.SIMPLE_HEAD)
    widths = {"card": 23, "token": 16, "ATC": 3, "ODA": 6, "CVM": 6, "outcome": 8}
    widths |= {"ARQC": 8, "ARPC": 8, "reason": 18}
    columns = ("card", "token", "ATC", "ODA", "CVM", "outcome", "ARQC", "ARPC", "reason")
    for column in columns:
        table.add_column(column, no_wrap=True, min_width=widths.get(column))
    ok = True
    mark = {True: "[green]verified[/]", False: "[red]failed[/]", None: "-"}
    for name, _profile, tamper, expected, r in results:
        good = r["outcome"] == expected and (
            (r["arqc_verified"] and r["arpc_verified"])
            if expected == "approved"
            else r["reason"] == "cryptogram_invalid"
        )
        ok &= bool(good)
        style = "green" if r["outcome"] == "approved" else "red"
        table.add_row(
            name + (" [dim](tampered)[/]" if tamper else ""),
            r["token_masked"] or "-",
            str(r["atc"]),
            _oda(r),
            r["cvm"] or "-",
            f"[{style}]{r['outcome']}[/]",
            mark[r["arqc_verified"]],
            mark[r["arpc_verified"]],
            r["reason"],
        )
    console.print(table)
    rides = Table(title="Bike ride and parcel pickup", box=box.SIMPLE_HEAD)
    for column in ("step", "who", "outcome", "detail"):
        rides.add_column(column, no_wrap=True)
    for row in modes:
        ok &= bool(row["ok"])
        style = "green" if row["ok"] else "red"
        rides.add_row(str(row["step"]), str(row["who"]), f"[{style}]{row['outcome']}[/]",
                      str(row["detail"]))  # fmt: skip
    console.print(rides)
    api = Table(title="A kiosk's payment through the daemon's local API", box=box.SIMPLE_HEAD)
    for column in ("step", "action", "state", "outcome", "detail"):
        api.add_column(column, no_wrap=True)
    ok &= bool(kiosk["ok"])
    style = "green" if kiosk["ok"] else "red"
    api.add_row("POST /v1/actions 4.50 EUR", str(kiosk.get("action", "-")),
                str(kiosk.get("state", "-")), f"[{style}]{kiosk.get('outcome', '-')}[/]",
                str(kiosk["detail"]))  # fmt: skip
    console.print(api)
    if kiosk.get("receipt"):
        console.print(str(kiosk["receipt"]), markup=False, highlight=False)
    tag = Table(title="Tap!: the terminal is the tag, the phone wallet pays", box=box.SIMPLE_HEAD)
    for column in ("step", "wallet showed", "state", "detail"):
        tag.add_column(column, no_wrap=True)
    ok &= bool(tap["ok"])
    style = "green" if tap["ok"] else "red"
    tag.add_row(f"tag pay {demo_tag.AMOUNT} EUR", str(tap.get("shown", "-")),
                f"[{style}]{tap.get('state', '-')}[/]", str(tap["detail"]))  # fmt: skip
    console.print(tag)
    if not ok:
        console.print("[bold red]Unexpected outcomes: see the table above.[/]")
        return 1
    console.print(
        "[bold green]Two approvals with verified ARQC and ARPC, one decline for the tampered cryptogram;"
        " a ride unlocked, returned and paid; two parcels opened with one tap;"
        " a kiosk's coffee paid through the local API.[/]"
    )
    console.print("[bold green]A Tap! payment: the phone read the terminal's tag and paid online.[/]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
