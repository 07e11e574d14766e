"""`tap-card serve`: the card in a real reader stack from the command line, as a tester runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from card_emulation.cli import app as card_cli
from terminal.kernel import Kernel, Outcome, Transaction
from terminal.readers.base import Reader
from terminal.readers.nfc import NfcReader
from terminal.readers.pcsc import PcscReader
from tests.readers.stacks import free_port, vpcd_slot, wait_empty

BIN = Path(sys.executable).parent


@contextmanager
def serving(*args: str, home: Path) -> Iterator[subprocess.Popen[str]]:
    server = subprocess.Popen(  # the console script, as a tester starts it
        [str(BIN / "tap-card"), "serve", *args, "--home", str(home)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    try:
        yield server
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
        server.wait(10)


def tap(reader: Reader) -> Outcome:
    with reader:
        reader.wait_for_card(10)
        return Kernel().run(reader, Transaction(500, "EUR")).outcome


def test_serve_into_vpcd(tmp_path: Path) -> None:
    port, name = vpcd_slot(1)
    with serving("--profile", "visa", "--vpcd", f"127.0.0.1:{port}", home=tmp_path) as server:
        assert tap(PcscReader(name)) is Outcome.ONLINE_REQUEST
        server.send_signal(signal.SIGTERM)
        _, errors = server.communicate(timeout=10)
    assert server.returncode == 0, errors
    assert "is in the vpcd reader at 127.0.0.1" in errors
    assert "removed after" in errors
    wait_empty(name)


def test_serve_over_nfcpy_udp(tmp_path: Path) -> None:
    path = f"udp:127.0.0.1:{free_port()}"
    with serving("--profile", "mastercard", "--nfc", path, home=tmp_path) as server:
        assert tap(NfcReader(path)) is Outcome.ONLINE_REQUEST
        server.send_signal(signal.SIGTERM)
        _, errors = server.communicate(timeout=10)
    assert server.returncode == 0, errors
    assert f"listens as a Type 4A card on {path}" in errors


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--profile", "visa"], "say where to serve the card"),
        (["--profile", "visa", "--vpcd", "x", "--nfc", "udp:"], "say where to serve the card"),
        (["--vpcd", "127.0.0.1:1"], "name a personalized card, or give --profile"),
        (["nosuch", "--vpcd", "127.0.0.1:1"], "no card named 'nosuch'"),
        (["--profile", "visa", "--vpcd", "127.0.0.1"], "'127.0.0.1' is not HOST:PORT"),
    ],
)
def test_serve_usage_errors(args: list[str], message: str, tmp_path: Path) -> None:
    done = CliRunner().invoke(card_cli, ["serve", *args, "--home", str(tmp_path)])
    assert done.exit_code == 2
    assert message in " ".join(done.output.split())
