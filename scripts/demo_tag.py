"""The demo's Tap! step: the terminal is the tag, a phone wallet pays the session online.

Set-up (before the acquirer starts): a merchant ``CAFE`` with its till ``TILL1``, and a
phone wallet's card ``dana-phone``. Then, against the running acquirer:

1. ``tap-terminal tag pay 3.20 --json``: the till creates a checkout session and presents its
   NFC Forum Type 4 Tag on nfcpy's ``udp`` radio (a fresh link, nonce and MAC at every tap);
2. the phone (the project's wallet, :class:`card_emulation.wallet.Wallet`) reads the tag with
   nfcpy's own Type 4 Tag reader, fetches the session from the acquirer (merchant, amount),
   shows it and pays with its token and a cryptogram over the session;
3. the till learns the result by long polling, prints it and journals it.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from card_emulation.provider import stored_card
from card_emulation.wallet import HttpCheckoutClient, Wallet, nfcpy_transceive

Run = Callable[..., str]

CARD = ("dana-phone", "visa", "4000056655665556")
TILL, MERCHANT, AMOUNT = "TILL1", "CAFE", "3.20"
#: The acquirer's default Tap! base URL (``Settings.tap_base_url``): the wallet's trust anchor.
BASE_URL = "https://tap.localhost/tap"
TIMEOUT = 30.0


def setup(data: Path, work: Path, tokens: Path, cards: Path, run: Run) -> None:
    """Register the café and its till; provision the phone wallet's token and card."""
    acq = ["--data-dir", str(data)]
    run(["tap-acquirer", "merchants", "add", "--id", MERCHANT, "--name", "Corner café",
         "--mcc", "5814", "--currency", "EUR", "--settlement-account", "NL91ABNA0417164300",
         *acq])  # fmt: skip
    run(["tap-acquirer", "terminals", "add", "--id", TILL, "--merchant", MERCHANT,
         "--out-dir", str(work / "tag" / "certs"), *acq])  # fmt: skip
    name, profile, funding_pan = CARD
    token_file = tokens / f"{name}.json"
    run(["tap-acquirer", "tokens", "provision", *acq, "--scheme", profile,
         "--funding-pan-file", "-", "--out", str(token_file)], stdin=funding_pan + "\n")  # fmt: skip
    run(["tap-card", "personalize", name, "--profile", profile, "--token", str(token_file),
         "--issuer-keys", str(data / "issuer-keys.json"), "--home", str(cards)])  # fmt: skip


def _udp_path() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return f"udp:127.0.0.1:{sock.getsockname()[1]}"


def _settings(folder: Path, acquirer_url: str, radio: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    settings = folder / "till.toml"
    settings.write_text(f"""[terminal]
id = "{TILL}"
merchant_name = "Corner café"

[acquirer]
url = "{acquirer_url}"

[tag]
base_url = "{BASE_URL}"
transport = "nfc:{radio}"
timeout = {TIMEOUT}

[daemon]
state_dir = "state"
""", encoding="utf-8")  # fmt: skip
    return settings


def _phone_reads(wallet: Wallet, radio: str, deadline: float) -> object:
    """Hold the phone to the tag (nfcpy's reader) until it names a session; the link."""
    import nfc

    while time.monotonic() < deadline:
        clf = nfc.ContactlessFrontend(radio)
        try:
            tag = clf.connect(rdwr={"targets": ["106A"], "on-connect": lambda tag: False,
                                    "iterations": 5, "interval": 0.1})  # fmt: skip
            if tag:
                link = wallet.read(nfcpy_transceive(tag))
                if link is not None:
                    return link
        finally:
            clf.close()
        time.sleep(0.1)  # nothing payable yet: the phone taps again
    raise TimeoutError("the tag never named a checkout session")


def play(url: str, work: Path, env: dict[str, str], tap_terminal: str) -> dict[str, object]:
    """Run the till, pay its tag with the phone, the row for the demo table."""
    radio = _udp_path()
    settings = _settings(work / "tag", url, radio)
    till = subprocess.Popen(  # noqa: S603 - our own console script, fixed arguments
        [tap_terminal, "tag", "pay", AMOUNT, "--reference", "table-4", "--json",
         "--settings", str(settings)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env={**os.environ, **env},
    )  # fmt: skip
    try:
        wallet = Wallet(stored_card(CARD[0], home=Path(env["TAP_CARD_HOME"])), base_url=BASE_URL)
        link = _phone_reads(wallet, radio, time.monotonic() + TIMEOUT)
        with HttpCheckoutClient(url) as checkout:
            run = wallet.pay(link, checkout)  # type: ignore[arg-type]
        out, err = till.communicate(timeout=TIMEOUT)
    except (TimeoutError, subprocess.TimeoutExpired) as exc:
        return {"ok": False, "detail": str(exc)}
    finally:
        if till.poll() is None:
            till.kill()
            till.wait()
    with contextlib.suppress(json.JSONDecodeError):
        result = json.loads(out)
        shown = str(run.shown) if run.shown is not None else "-"
        return {
            "ok": till.returncode == 0 and result["approved"] and run.approved,
            "state": result["state"],
            "shown": shown,
            "detail": f"{result['authorization_id']}, journal entry {result['journal_id']}",
        }
    return {"ok": False, "detail": f"tap-terminal tag pay gave no result: {err.strip()[-200:]}"}
