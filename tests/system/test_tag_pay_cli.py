"""``tap-terminal tag pay`` end to end: the tag inside pcscd (vpcd), a real ``tap-acquirer serve``.

The terminal process presents its Type 4 Tag through vpcd; the project's wallet reads it as
any PC/SC program would (pyscard), fetches and pays the session over real HTTP; the
terminal learns the result by long polling, prints it and journals it. The wallet's
misbehaviours (forged link, replayed link, wrong amount) are refused over real HTTP with
their stable reason codes and charge nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from acquirer import Settings
from acquirer.keys import initialize, load_key_material
from card_emulation import CardImage, EmvApplet
from card_emulation.wallet import (
    Conduct,
    HttpCheckoutClient,
    Transceive,
    Wallet,
    nfcpy_transceive,
    pyscard_transceive,
)
from emvcore.tapmode import TapLink
from terminal.journal import Journal, TxState
from tests.acquirer.checkout.rig import MERCHANT_NAME, TILL, Till, register_till
from tests.acquirer.checkout.test_checkout import captured
from tests.acquirer.processes import acquirer_process
from tests.readers.stacks import free_port, vpcd_slot, wait_empty
from tests.system.support import BIN

PANS = ("4111111111111111", "4012888888881881")


@pytest.fixture
def acquirer_settings(tmp_path: Path) -> Settings:
    settings = Settings(data_dir=tmp_path / "acquirer")
    initialize(settings)
    return settings


@pytest.fixture
def images(acquirer_settings: Settings) -> list[CardImage]:
    return register_till(acquirer_settings, load_key_material(acquirer_settings), PANS)


@pytest.fixture
def url(acquirer_settings: Settings, images: list[CardImage]) -> Iterator[str]:
    with acquirer_process(acquirer_settings.data_dir) as base:
        yield base


def terminal_settings(tmp_path: Path, url: str, base_url: str, transport: str) -> Path:
    path = tmp_path / "terminal.toml"
    path.write_text(
        f'[terminal]\nid = "{TILL}"\n\n[acquirer]\nurl = "{url}"\n\n'
        f'[tag]\nbase_url = "{base_url}"\npackage = "com.example.wallet"\n'
        f'transport = "{transport}"\ntimeout = 60\n\n[daemon]\nstate_dir = "state"\n',
        encoding="utf-8",
    )
    return path


def poll_link(wallet: Wallet, transceive: Transceive, deadline: float) -> TapLink:
    """Read the tag until it names a payable session (the till may still be creating it)."""
    while True:
        link = wallet.read(transceive)
        if link is not None:
            return link
        assert time.monotonic() < deadline, "the tag never named a session"
        time.sleep(0.05)  # idle: the phone taps again


def read_link(wallet: Wallet, reader_name: str, deadline: float) -> TapLink:
    """Tap the phone on the vpcd reader until the tag names a payable session."""
    from smartcard.CardConnection import CardConnection
    from smartcard.CardRequest import CardRequest

    service = CardRequest(timeout=20, readers=[reader_name]).waitforcard()
    connection = service.connection
    connection.connect(CardConnection.T1_protocol)
    try:
        return poll_link(wallet, pyscard_transceive(connection), deadline)
    finally:
        connection.disconnect()


def nfcpy_link(wallet: Wallet, path: str, deadline: float) -> TapLink:
    """nfcpy's own reader polls on ``path`` (the till may not listen yet) until the tag it
    activates names a payable session."""
    import nfc

    while True:
        clf = nfc.ContactlessFrontend(path)
        try:
            found = clf.connect(rdwr={"targets": ["106A"], "on-connect": lambda tag: False,
                                      "iterations": 5, "interval": 0.1})  # fmt: skip
            if found:
                return poll_link(wallet, nfcpy_transceive(found), deadline)
        finally:
            clf.close()
        assert time.monotonic() < deadline, "nfcpy found no tag"


def start_till(settings: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(BIN / "tap-terminal"), "tag", "pay", "12.50", "--reference", "R1", "--json",
         "--settings", str(settings)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


def check_paid(
    till: subprocess.Popen[str], tmp_path: Path, acquirer_settings: Settings, authorization: str
) -> None:
    """The till printed the payment, journalled it confirmed; the ledger holds it once."""
    out, errors = till.communicate(timeout=60)
    assert till.returncode == 0, errors
    result = json.loads(out)
    assert result["approved"] and result["state"] == "paid"
    assert result["authorization_id"] == authorization
    with Journal(tmp_path / "state" / "journal.sqlite3") as journal:
        entry = journal.get(result["journal_id"])
        assert entry.state is TxState.CONFIRMED and entry.amount == 1250
        assert entry.authorization_id == authorization
    assert captured(acquirer_settings) == [(authorization, 1250)]


def test_tag_pay_through_vpcd_paid_by_the_wallet_over_http(
    tmp_path: Path, acquirer_settings: Settings, images: list[CardImage], url: str
) -> None:
    port, reader_name = vpcd_slot()
    settings = terminal_settings(tmp_path, url, acquirer_settings.tap_base_url, f"vpcd:{port}")
    till = start_till(settings)
    try:
        wallet = Wallet(EmvApplet(images[0]), base_url=acquirer_settings.tap_base_url)
        link = read_link(wallet, reader_name, time.monotonic() + 30)
        with HttpCheckoutClient(url) as checkout:
            session = checkout.fetch_session(link.uri)
            assert (session.merchant_name, session.amount) == (MERCHANT_NAME, 1250)
            run = wallet.pay(link, checkout)
        assert run.approved
        authorization = run.results[0].authorization_id
        assert authorization is not None
        check_paid(till, tmp_path, acquirer_settings, authorization)
    finally:
        if till.poll() is None:
            till.kill()
            till.wait()
        wait_empty(reader_name)


def test_tag_pay_over_nfcpy_udp_paid_by_the_wallet_over_http(
    tmp_path: Path, acquirer_settings: Settings, images: list[CardImage], url: str
) -> None:
    path = f"udp:127.0.0.1:{free_port()}"
    settings = terminal_settings(tmp_path, url, acquirer_settings.tap_base_url, f"nfc:{path}")
    till = start_till(settings)
    try:
        wallet = Wallet(EmvApplet(images[0]), base_url=acquirer_settings.tap_base_url)
        link = nfcpy_link(wallet, path, time.monotonic() + 30)
        with HttpCheckoutClient(url) as checkout:
            run = wallet.pay(link, checkout)
        assert run.approved
        authorization = run.results[0].authorization_id
        assert authorization is not None
        check_paid(till, tmp_path, acquirer_settings, authorization)
    finally:
        if till.poll() is None:
            till.kill()
            till.wait()


@pytest.mark.parametrize(
    ("conduct", "reason"),
    [
        (Conduct.FORGES_LINK, "link_forged"),
        (Conduct.WRONG_AMOUNT, "amount_mismatch"),
    ],
)
def test_a_misbehaving_wallet_is_refused_over_http(
    acquirer_settings: Settings, images: list[CardImage], url: str, conduct: Conduct,
    reason: str,
) -> None:  # fmt: skip
    with httpx.Client(base_url=url, timeout=30) as http, HttpCheckoutClient(url) as checkout:
        till = Till(http)
        session_id = till.create()
        till.present(session_id)
        payer = Wallet(EmvApplet(images[0]), base_url=acquirer_settings.tap_base_url,
                       conduct=conduct)  # fmt: skip
        run = payer.tap(till.tag.process_apdu, checkout)
        assert run is not None and [(r.approved, r.reason) for r in run.results] == [
            (False, reason)
        ]
        assert till.session(session_id)["state"] == "created"
    assert captured(acquirer_settings) == []


def test_a_replayed_link_is_refused_over_http(
    acquirer_settings: Settings, images: list[CardImage], url: str
) -> None:
    with httpx.Client(base_url=url, timeout=30) as http, HttpCheckoutClient(url) as checkout:
        till = Till(http)
        replayer = Wallet(EmvApplet(images[0]), base_url=acquirer_settings.tap_base_url,
                          conduct=Conduct.REPLAYS_LINK)  # fmt: skip
        first = till.create()
        till.present(first)
        paid = replayer.tap(till.tag.process_apdu, checkout)
        assert paid is not None and paid.approved
        second = till.create()
        till.present(second)
        run = replayer.tap(till.tag.process_apdu, checkout)
        assert run is not None and [(r.approved, r.reason) for r in run.results] == [
            (False, "link_replayed")
        ]
        assert till.session(second)["state"] == "created"
    assert len(captured(acquirer_settings)) == 1
