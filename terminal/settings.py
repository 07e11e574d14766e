"""Terminal settings: one TOML file, validated, with embedded defaults.

Looked up in this order: ``--settings FILE``, ``$TAP_TERMINAL_SETTINGS``,
``~/.config/tap/terminal.toml``; with none of them the embedded defaults apply (a terminal
on loopback next to a development acquirer). Example::

    [terminal]
    id = "TERM0001"          # sent to the acquirer with every request
    currency = "EUR"         # ISO 4217 alphabetic code
    country_code = 528       # ISO 3166-1 numeric, EMV tag 9F1A
    merchant_name = "Corner Shop"

    [acquirer]
    url = "http://127.0.0.1:8080"
    timeout = 10.0           # seconds to wait for an authorization

    [reader]
    default = "emulated:visa"
    card_timeout = 1.0       # seconds one card exchange may take
    wait = 30.0              # seconds to wait for a tap
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from emvcore.currency import currency
from emvcore.errors import EncodingError
from terminal.errors import SettingsError

_TERMINAL_ID = re.compile(r"[A-Za-z0-9]{1,16}")


@dataclass(frozen=True, slots=True)
class TerminalSettings:
    """Validated terminal settings."""

    terminal_id: str = "TERM0001"
    currency: str = "EUR"
    country_code: int = 528
    merchant_name: str = "Tap demo shop"
    acquirer_url: str = "http://127.0.0.1:8080"
    acquirer_timeout: float = 10.0
    reader: str = "emulated:visa"
    card_timeout: float = 1.0
    wait: float = 30.0
    source: str = "embedded defaults"

    def __post_init__(self) -> None:
        where = f"in {self.source}"
        if not _TERMINAL_ID.fullmatch(self.terminal_id):
            raise SettingsError(f"terminal.id must be 1-16 letters or digits {where}")
        try:
            currency(self.currency)
        except EncodingError as exc:
            raise SettingsError(f"terminal.currency: {exc} {where}") from None
        if not 0 < self.country_code < 1000:
            raise SettingsError(f"terminal.country_code must be an ISO 3166-1 numeric code {where}")
        url = urlparse(self.acquirer_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise SettingsError(f"acquirer.url must be an http(s) URL {where}")
        timeouts = {
            "acquirer_timeout": "acquirer.timeout",
            "card_timeout": "reader.card_timeout",
            "wait": "reader.wait",
        }
        for name, setting in timeouts.items():
            if not 0 < getattr(self, name) <= 600:
                raise SettingsError(f"{setting} must be between 0 and 600 s {where}")


def default_path() -> Path | None:
    """The settings file to use when none is named, or None for the embedded defaults."""
    env = os.environ.get("TAP_TERMINAL_SETTINGS")
    if env:
        return Path(env)
    home = Path.home() / ".config" / "tap" / "terminal.toml"
    return home if home.is_file() else None


def load_settings(path: Path | None = None) -> TerminalSettings:
    """Read and validate settings (embedded defaults when no file applies)."""
    path = path or default_path()
    if path is None:
        return TerminalSettings()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"settings file {path} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(
            f"settings file {path} cannot be read: {exc.__class__.__name__}"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"settings file {path} is not valid TOML: {exc}") from None
    fields: dict[str, Any] = {"source": str(path)}
    mapping: dict[tuple[str, str], tuple[str, type | tuple[type, ...]]] = {
        ("terminal", "id"): ("terminal_id", str),
        ("terminal", "currency"): ("currency", str),
        ("terminal", "country_code"): ("country_code", int),
        ("terminal", "merchant_name"): ("merchant_name", str),
        ("acquirer", "url"): ("acquirer_url", str),
        ("acquirer", "timeout"): ("acquirer_timeout", (int, float)),
        ("reader", "default"): ("reader", str),
        ("reader", "card_timeout"): ("card_timeout", (int, float)),
        ("reader", "wait"): ("wait", (int, float)),
    }
    for section, table in document.items():
        if not isinstance(table, dict):
            raise SettingsError(f"[{section}] must be a table in {path}")
        for key, value in table.items():
            target = mapping.get((section, key))
            if target is None:
                raise SettingsError(f"unknown setting {section}.{key} in {path}")
            name, kind = target
            if not isinstance(value, kind) or isinstance(value, bool):
                raise SettingsError(f"{section}.{key} has the wrong type in {path}")
            fields[name] = value
    return TerminalSettings(**fields)
