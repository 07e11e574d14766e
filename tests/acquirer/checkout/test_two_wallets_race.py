"""A session is paid at most once when two wallets race, on two acquirer processes (issue 15).

Both phones read the one tag (each gets its own link: a fresh nonce at every tap), then pay at
the same instant, each through a different ``tap-acquirer serve`` process on one PostgreSQL
(and, as the embedded default, on one SQLite file). Exactly one payment is approved per
session, the other is refused ``session_already_paid``, and the ledger holds one payment per
session.
"""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from acquirer import Settings
from acquirer.keys import KeyMaterial
from card_emulation import EmvApplet
from card_emulation.wallet import Conduct, HttpCheckoutClient, Wallet
from emvcore.tapmode import TapLink
from tests.acquirer.checkout.rig import Till, register_till
from tests.acquirer.checkout.test_checkout import captured
from tests.acquirer.processes import acquirer_process

Outcome = tuple[bool, str]
PANS = ("4111111111111111", "4012888888881881")
SESSIONS = 8


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_two_racing_wallets_pay_a_session_once(
    settings: Settings, keys: KeyMaterial, request: pytest.FixtureRequest, backend: str
) -> None:
    env: dict[str, str] = {}
    db_settings = settings
    if backend == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        env["TAP_ACQUIRER_DATABASE_URL"] = url
        db_settings = dataclasses.replace(settings, database_url=url)
    images = register_till(db_settings, keys, PANS)
    # Both pay whatever state they fetched (an honest wallet that sees "paid" would not try):
    # the race is decided by the acquirer's write alone.
    wallets = [
        Wallet(EmvApplet(image), base_url=settings.tap_base_url, conduct=Conduct.PAYS_EXPIRED)
        for image in images
    ]
    outcomes: list[list[tuple[bool, str]]] = []
    with (
        acquirer_process(settings.data_dir, env=env) as first,
        acquirer_process(settings.data_dir, env=env) as second,
        httpx.Client(base_url=first, timeout=30) as http,
        HttpCheckoutClient(first) as one,
        HttpCheckoutClient(second) as other,
        ThreadPoolExecutor(max_workers=2) as pool,
    ):
        till = Till(http)
        for _ in range(SESSIONS):
            session_id = till.create()
            till.present(session_id)
            links = [wallet.read(till.tag.process_apdu) for wallet in wallets]
            assert all(link is not None for link in links)
            assert links[0] != links[1]  # each tap its own nonce
            start = threading.Barrier(2)

            def race(n: int, links: list[TapLink | None], start: threading.Barrier) -> Outcome:
                link = links[n]
                assert link is not None
                start.wait(timeout=10)
                run = wallets[n].pay(link, (one, other)[n])
                return run.results[0].approved, run.results[0].reason

            outcomes.append(sorted(pool.map(race, range(2), [links] * 2, [start] * 2)))
            assert till.session(session_id)["state"] == "paid"
    assert outcomes == [[(False, "session_already_paid"), (True, "approved")]] * SESSIONS
    assert len(captured(db_settings)) == SESSIONS
