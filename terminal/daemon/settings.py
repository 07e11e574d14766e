"""The ``[daemon]`` table of the terminal settings: where ``tap-terminal run`` listens, and its token.

Validated like the rest of :mod:`terminal.settings` (errors name the key and the file; paths
are relative to the settings file)::

    [daemon]
    listen = "127.0.0.1"          # loopback by default; anything else is a deliberate choice
    port = 8765                   # TCP port (0: any free port, printed at start)
    # socket = "state/tap.sock"   # a Unix socket instead of TCP (mode 0600)
    token_file = "state/api-token"    # the bearer token kiosk apps send (or: token = "...")
    printer = "network:10.0.0.9"  # an ESC/POS receipt printer (terminal.daemon.receipts.printer)
    flush_interval = 30.0         # seconds between outbox flushes while idle
    state_dir = "state"           # the journal, the outbox and the daemon's own records

A token is at least 16 characters of URL-safe text; the daemon refuses to start without one.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from terminal.errors import SettingsError

__all__ = ["DaemonSettings", "daemon_settings", "read_token"]

STATE_DIR = Path.home() / ".local" / "state" / "tap"
_TOKEN = re.compile(r"[A-Za-z0-9._~+/=-]{16,256}")


@dataclass(frozen=True, slots=True)
class DaemonSettings:
    """Where the local API listens and how its callers are authenticated."""

    listen: str = "127.0.0.1"
    port: int = 8765
    socket: Path | None = None
    token: str | None = None
    token_file: Path | None = None
    flush_interval: float = 30.0
    state_dir: Path = STATE_DIR
    printer: str | None = None

    def check(self, where: str) -> None:
        try:
            ipaddress.ip_address(self.listen)
        except ValueError:
            raise SettingsError(f"daemon.listen must be an IP address {where}") from None
        if not 0 <= self.port <= 65535:
            raise SettingsError(f"daemon.port must be 0-65535 {where}")
        if self.token is not None and self.token_file is not None:
            raise SettingsError(f"daemon.token and daemon.token_file exclude each other {where}")
        if self.token is not None and not _TOKEN.fullmatch(self.token):
            raise SettingsError(f"daemon.token must be 16-256 URL-safe characters {where}")
        if not 0 < self.flush_interval <= 3600:
            raise SettingsError(f"daemon.flush_interval must be between 0 and 3600 s {where}")

    @property
    def journal(self) -> Path:
        return self.state_dir / "journal.sqlite3"

    @property
    def outbox(self) -> Path:
        return self.state_dir / "outbox.sqlite3"

    @property
    def records(self) -> Path:
        """The daemon's own file: actions, events, batches."""
        return self.state_dir / "daemon.sqlite3"


def read_token(settings: DaemonSettings) -> str:
    """The bearer token (from ``token`` or ``token_file``); a SettingsError when there is none."""
    token = settings.token
    if settings.token_file is not None:
        try:
            token = settings.token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SettingsError(f"daemon.token_file {settings.token_file} cannot be read: "
                                f"{exc.strerror}") from None  # fmt: skip
        if not _TOKEN.fullmatch(token):
            raise SettingsError(f"daemon.token_file {settings.token_file} must hold 16-256 "
                                "URL-safe characters")  # fmt: skip
    if token is None:
        raise SettingsError("the daemon needs a token: set daemon.token_file (or daemon.token)")
    return token


def _typed(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = table[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise SettingsError(f"daemon.{key} has the wrong type {where}")
    return value


def daemon_settings(table: dict[str, Any], base: Path, where: str) -> DaemonSettings:
    """``[daemon]``: listen, port, socket, token, token_file, flush_interval, state_dir,
    printer."""
    fields: dict[str, Any] = {}
    for key in table:
        if key in ("listen", "token", "printer"):
            fields[key] = _typed(table, key, str, where)
        elif key == "port":
            fields[key] = _typed(table, key, int, where)
        elif key == "flush_interval":
            fields[key] = float(_typed(table, key, (int, float), where))
        elif key in ("socket", "token_file", "state_dir"):
            fields[key] = (base / _typed(table, key, str, where)).resolve()
        else:
            raise SettingsError(f"unknown setting daemon.{key} {where}")
    settings = DaemonSettings(**fields)
    settings.check(where)
    return settings
