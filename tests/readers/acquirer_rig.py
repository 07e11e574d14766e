"""A real acquirer for the reader-stack payments: initialized on disk, run in-process.

Set up as a new user does it, through ``tap-acquirer init`` and ``tap-acquirer tokens
provision``; the FastAPI app runs in-process behind the terminal's own
:class:`~terminal.online.AcquirerClient` (an httpx transport into Starlette's TestClient).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from acquirer import Settings, create_app
from acquirer.cli import app as acquirer_cli
from card_emulation import CardImage, personalize
from emvcore.keyfile import load_issuer_keys
from emvcore.provisioning import TokenRecord
from terminal.online import AcquirerClient


class _AppTransport(httpx.BaseTransport):
    """Hands each request to the app through Starlette's TestClient (lifespan included)."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.client.request(
            request.method, request.url.path, content=request.read(), headers=request.headers
        )
        return httpx.Response(
            response.status_code, headers=response.headers, content=response.content
        )


def _cli(*args: str, stdin: str | None = None) -> str:
    done = CliRunner().invoke(acquirer_cli, list(args), input=stdin)
    assert done.exit_code == 0, done.output
    return done.output


class Acquirer:
    """An initialized acquirer data directory, its running app, and cards it issued."""

    def __init__(self, data_dir: Path, client: TestClient) -> None:
        self.data_dir = data_dir
        self._client = client

    def card(self, name: str, scheme: str, funding_pan: str) -> CardImage:
        """Provision a token for ``funding_pan`` and personalize a card carrying it."""
        record_file = self.data_dir.parent / f"{name}.token.json"
        _cli("tokens", "provision", "--data-dir", str(self.data_dir), "--scheme", scheme,
             "--funding-pan-file", "-", "--out", str(record_file), stdin=funding_pan + "\n")  # fmt: skip
        record = TokenRecord.from_json(record_file.read_text(encoding="utf-8"))
        keys = load_issuer_keys(self.data_dir / "issuer-keys.json")
        return personalize(name, scheme, record, keys)

    def client(self) -> AcquirerClient:
        return AcquirerClient("http://acquirer.test", transport=_AppTransport(self._client))


@contextmanager
def running_acquirer(root: Path) -> Iterator[Acquirer]:
    data_dir = root / "acquirer"
    _cli("init", "--data-dir", str(data_dir))
    with TestClient(create_app(Settings(data_dir=data_dir))) as client:
        yield Acquirer(data_dir, client)
