"""Connection exhaustion (issue 17, defect 2): a bounded loopback flood against the real server.

The server starts with the distribution's default soft limit of 1,024 open files. 1,100 TCP
connections that never speak (no TLS ClientHello under ``--tls``; idle, half-header and
half-body requests over plain HTTP) are opened and held; meanwhile a registered terminal opens
a fresh connection per payment and must get every answer. Afterwards the server must have
closed every silent connection by itself (handshake, header and body timeouts), half-body
ones with a ``408``. Loopback only; the count and every wait are bounded.
"""

from __future__ import annotations

import re
import resource
import selectors
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from typer.testing import CliRunner

from acquirer.cli import app
from acquirer.keys import load_key_material
from acquirer.settings import Settings
from emvcore.provisioning import TokenRecord
from tests.acquirer.processes import acquirer_process
from tests.acquirer.testkit import TestCard

FLOOD = 1_100
PAYMENTS = 12
#: Short server timeouts so that the test sees them fire well within its time budget.
TIMEOUTS = ["--handshake-timeout", "3", "--header-timeout", "3", "--body-timeout", "3"]

runner = CliRunner()


def cli(*args: str, stdin: str | None = None) -> str:
    result = runner.invoke(app, list(args), input=stdin)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, TestCard]:
    """A data directory with one merchant, terminal T1 (certificate in ``certs``) and a card."""
    root = tmp_path_factory.mktemp("flood")
    data, certs = root / "acq", root / "certs"
    d = ("--data-dir", str(data))
    cli("init", *d)
    cli("merchants", "add", *d, "--id", "SHOP", "--name", "Shop", "--mcc", "5411", "--currency", "EUR",
        "--settlement-account", "DE89370400440532013000")  # fmt: skip
    cli("terminals", "add", *d, "--id", "T1", "--merchant", "SHOP", "--out-dir", str(certs))
    record = TokenRecord.from_json(
        cli(
            "tokens", "provision", *d, "--scheme", "visa", "--funding-pan-file", "-",
            stdin="4111111111111111",
        )
    )  # fmt: skip
    keys = load_key_material(Settings(data))
    return data, certs, TestCard(token=record.token, key=keys.issuer_keys.for_pan(record.token))


@pytest.fixture(autouse=True)
def enough_files_here() -> Iterator[None]:
    """This process holds the flood's client sockets: raise its own soft limit for the test."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, FLOOD * 2 + 512)
    if wanted < FLOOD + 256:
        pytest.skip(f"the hard open-file limit ({hard}) cannot hold {FLOOD} client sockets")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


_atc = iter(range(1, 100_000))


def _pay(http: httpx.Client, url: str, card: TestCard) -> int:
    atc = next(_atc)
    tap = card.tap(amount=250, atc=atc)
    body = {"terminal_id": "T1", "amount": 250, "currency": "EUR", "emv_data": tap.hex}
    response = http.post(
        f"{url}/v1/authorizations", json=body, headers={"Idempotency-Key": f"flood-{atc}"}
    )
    return response.status_code


def _payments(url: str, card: TestCard, verify: ssl.SSLContext | bool) -> list[int | str]:
    """``PAYMENTS`` payments, each on a new connection: a status code or the transport error."""
    results: list[int | str] = []
    for _ in range(PAYMENTS):
        try:
            with httpx.Client(verify=verify, timeout=5) as http:
                results.append(_pay(http, url, card))
        except httpx.TransportError as exc:
            results.append(type(exc).__name__)
    return results


def _open(url: str, count: int, first_bytes: bytes = b"") -> list[socket.socket]:
    parts = urlsplit(url)
    address = (parts.hostname or "127.0.0.1", parts.port or 80)
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(address, timeout=5)
        if first_bytes:
            sock.sendall(first_bytes)
        sockets.append(sock)
    return sockets


def _closed_by_server(sockets: list[socket.socket], within: float) -> dict[str, int]:
    """Wait (bounded) until the server ends each connection: counts of 'eof', '408', 'open'."""
    selector = selectors.DefaultSelector()
    for sock in sockets:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ, bytearray())
    outcome = {"eof": 0, "408": 0, "open": 0}
    deadline = time.monotonic() + within
    while selector.get_map() and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=0.5):
            peer = key.fileobj
            assert isinstance(peer, socket.socket)
            received: bytearray = key.data
            try:
                chunk = peer.recv(4096)
            except (ConnectionResetError, BlockingIOError):
                chunk = b""
            if chunk:
                received.extend(chunk)
                continue
            selector.unregister(peer)
            outcome["408" if received.startswith(b"HTTP/1.1 408") else "eof"] += 1
    outcome["open"] = len(selector.get_map())
    selector.close()
    return outcome


def _close(sockets: list[socket.socket]) -> None:
    for sock in sockets:
        sock.close()


def test_silent_tls_connections_do_not_lock_out_a_registered_terminal(
    registered: tuple[Path, Path, TestCard],
) -> None:
    data, certs, card = registered
    context = ssl.create_default_context(cafile=certs / "ca-cert.pem")
    context.load_cert_chain(certs / "T1-cert.pem", certs / "T1-key.pem")
    with acquirer_process(data, args=["--tls", *TIMEOUTS], open_files=1024) as url:
        silent = _open(url, FLOOD)  # TCP only: never a ClientHello
        try:
            answers = _payments(url, card, context)
            held = _closed_by_server(silent[:50], within=0.2)["open"]
            ended = _closed_by_server(silent, within=15)
        finally:
            _close(silent)
    print(f"TLS flood: {FLOOD} silent connections, payments {answers}, ended {ended}")
    assert answers == [200] * PAYMENTS
    assert held == 50  # the flood was really held while the terminal paid
    assert ended["open"] == 0  # the handshake timeout ended every silent connection


def test_idle_half_header_and_half_body_connections_are_bounded(
    registered: tuple[Path, Path, TestCard], tmp_path: Path
) -> None:
    data, _, card = registered
    half_header = b"POST /v1/authorizations HTTP/1.1\r\nHost: acquirer\r\nContent-Type: applic"
    half_body = (
        b"POST /v1/authorizations HTTP/1.1\r\nHost: acquirer\r\n"
        b'Content-Type: application/json\r\nContent-Length: 400\r\n\r\n{"terminal_id": "T'
    )
    # A budget below the flood: the oldest silent connections make room for new ones.
    args = [*TIMEOUTS, "--max-connections", "800"]
    log = tmp_path / "server.log"
    with acquirer_process(data, args=args, open_files=1024, log=log) as url:
        idle = _open(url, 400)
        headers = _open(url, 350, half_header)
        bodies = _open(url, 350, half_body)
        try:
            answers = _payments(url, card, False)
            ended = _closed_by_server([*idle, *headers, *bodies], within=15)
            after = _payments(url, card, False)
        finally:
            _close([*idle, *headers, *bodies])
    print(f"HTTP flood: {FLOOD} connections, payments {answers} then {after}, ended {ended}")
    assert answers == [200] * PAYMENTS
    assert after == [200] * PAYMENTS
    assert ended["open"] == 0
    assert ended["408"] > 0  # half-body requests are answered Request Timeout, then closed
    counters = re.search(r"evicted=(\d+) refused=(\d+) timed_out=(\d+)", log.read_text())
    assert counters is not None
    print(f"server counters: {counters.group(0)}")
    assert int(counters.group(1)) > 0  # the budget made room by closing never-served ones
