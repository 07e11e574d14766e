"""The daemon's pure parts: its settings table, the event log's ring and gap, action states."""

from __future__ import annotations

from pathlib import Path

import pytest

from terminal.daemon.actions import Action, ActionKind, ActionState, new_action_id
from terminal.daemon.events import EventLog
from terminal.daemon.records import Records
from terminal.daemon.settings import read_token
from terminal.daemon.wiring import certificate_expiry
from terminal.errors import SettingsError
from terminal.settings import load_settings


def write(tmp_path: Path, daemon: str) -> Path:
    path = tmp_path / "terminal.toml"
    path.write_text(f"[daemon]\n{daemon}\n", encoding="utf-8")
    return path


def test_the_daemon_table_is_read_relative_to_the_settings_file(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("a-token-of-sixteen-or-more\n", encoding="utf-8")
    settings = load_settings(write(tmp_path, 'port = 9000\ntoken_file = "token"\n'
                                              'socket = "run/tap.sock"\nflush_interval = 5'))
    daemon = settings.daemon
    assert (daemon.listen, daemon.port, daemon.flush_interval) == ("127.0.0.1", 9000, 5.0)
    assert daemon.socket == (tmp_path / "run" / "tap.sock").resolve()
    assert read_token(daemon) == "a-token-of-sixteen-or-more"


@pytest.mark.parametrize(("table", "message"), [
    ("port = 70000", "daemon.port must be 0-65535"),
    ('port = "80"', "daemon.port has the wrong type"),
    ('listen = "localhost"', "daemon.listen must be an IP address"),
    ('token = "short"', "daemon.token must be 16-256"),
    ('token = "0123456789abcdef"\ntoken_file = "t"', "exclude each other"),
    ("flush_interval = 0", "daemon.flush_interval"),
    ("colour = 1", "unknown setting daemon.colour"),
], ids=["port-range", "port-type", "listen", "short-token", "both-tokens", "flush", "unknown"])  # fmt: skip
def test_bad_daemon_settings_are_named(tmp_path: Path, table: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(write(tmp_path, table))


def test_a_daemon_without_a_token_does_not_start(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="needs a token"):
        read_token(load_settings(write(tmp_path, "port = 1")).daemon)
    (tmp_path / "t").write_text("tiny", encoding="utf-8")
    with pytest.raises(SettingsError, match="16-256"):
        read_token(load_settings(write(tmp_path, 'token_file = "t"')).daemon)


def test_event_ids_survive_a_restart_and_a_lagging_client_gets_a_gap(tmp_path: Path) -> None:
    records = Records(tmp_path / "daemon.sqlite3")
    log = EventLog(records, keep=50)
    ids = [log.publish("tick", n=n).id for n in range(1, 201)]
    assert ids == list(range(1, 201))
    records.close()
    records = Records(tmp_path / "daemon.sqlite3")
    log = EventLog(records, keep=50)
    assert log.publish("tick", n=201).id == 201
    recent = log.after(195)
    assert [e.id for e in recent] == [196, 197, 198, 199, 200, 201]
    lagging = log.after(10)
    assert lagging[0].type == "gap" and lagging[0].data["missed"] == lagging[1].id - 11
    assert lagging[1].id > 11 and [e.id for e in lagging[1:]] == list(range(lagging[1].id, 202))
    assert log.wait(201, 0.01) == []
    records.close()


def test_a_final_action_never_changes_state() -> None:
    action = Action(new_action_id(), ActionKind.PAYMENT, ActionState.PENDING, 100, "EUR")
    done = action.advance(ActionState.WAITING_FOR_CARD).advance(ActionState.PROCESSING)
    done = done.advance(ActionState.COMPLETED)
    for state in ActionState:
        with pytest.raises(ValueError, match="cannot go from completed"):
            done.advance(state)
    assert Action.from_dict(done.to_dict()) == done


def test_the_client_certificate_expiry_is_read(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "TERM0001")])
    until = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(1)
                   .not_valid_before(until - timedelta(days=90)).not_valid_after(until)
                   .sign(key, hashes.SHA256()))  # fmt: skip
    path = tmp_path / "cert.pem"
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    assert certificate_expiry(path) == "2027-03-01T12:00:00+00:00"
    assert certificate_expiry(None) is None
    assert certificate_expiry(tmp_path / "missing.pem") == "unreadable"


def test_the_api_can_listen_on_a_private_unix_socket(tmp_path: Path) -> None:
    import stat
    from unittest.mock import MagicMock

    import httpx

    from terminal.daemon.api import create_app
    from terminal.daemon.server import bind, serve_in_thread

    path = tmp_path / "run" / "tap.sock"
    sock = bind("127.0.0.1", 0, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with serve_in_thread(create_app(MagicMock(), "t" * 16), sock), httpx.Client(
        transport=httpx.HTTPTransport(uds=str(path)), base_url="http://tap"
    ) as http:
        assert http.get("/v1/health").status_code == 401
        assert http.get("/v1/openapi.json").json()["info"]["title"] == "Tap terminal local API"
