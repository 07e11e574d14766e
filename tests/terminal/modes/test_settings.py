"""The [terminal] mode and the [bike] / [locker] tables: defaults, parsing, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from terminal.errors import SettingsError
from terminal.settings import TerminalSettings, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "terminal.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_embedded_defaults_keep_pay_mode() -> None:
    settings = TerminalSettings()
    assert (settings.mode, settings.bike.deposit, settings.locker.release) == (
        "pay",
        None,
        "oldest",
    )


def test_bike_and_locker_tables_are_parsed(tmp_path: Path) -> None:
    settings = load_settings(
        write(
            tmp_path,
            """
[terminal]
mode = "bike"
[bike]
docks = ["D1", "D2"]
actuator = "simulated:units=D1,D2"
unlock_timeout = 5
deposit = 5000
max_offline_rides = 0
deny_list = "state/deny.json"
queue = "state/queue.sqlite3"
tariff = "state/tariff.json"
[locker]
release = "all"
door_timeout = 3
left_open_after = 30
""",
        )
    )
    assert settings.mode == "bike"
    assert settings.bike.docks == ("D1", "D2") and settings.bike.deposit == 5000
    assert settings.bike.unlock_timeout == 5.0 and settings.bike.max_offline_rides == 0
    assert settings.bike.queue == (tmp_path / "state" / "queue.sqlite3").resolve()
    assert settings.bike.tariff == (tmp_path / "state" / "tariff.json").resolve()
    assert (settings.locker.release, settings.locker.door_timeout) == ("all", 3.0)


def test_the_tag_table_is_parsed(tmp_path: Path) -> None:
    settings = load_settings(
        write(
            tmp_path,
            """
[tag]
base_url = "https://pay.example/tap"
package = "com.example.wallet"
transport = "nfc:udp:127.0.0.1:9999"
timeout = 90
""",
        )
    )
    assert settings.tag.base_url == "https://pay.example/tap"
    assert settings.tag.package == "com.example.wallet"
    assert (settings.tag.transport, settings.tag.timeout) == ("nfc:udp:127.0.0.1:9999", 90.0)
    assert TerminalSettings().tag.transport == "vpcd"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[terminal]\nmode = "shop"', "terminal.mode must be one of pay, bike, locker"),
        ("[bike]\ndeposit = 0", "bike.deposit must be a positive"),
        ('[bike]\ndeposit = "50"', "deposit has the wrong type"),
        ("[bike]\ndocks = []", "bike.docks must name at least one dock"),
        ("[bike]\nunlock_timeout = 0", "bike.unlock_timeout must be between"),
        ("[bike]\nmax_offline_rides = -1", "bike.max_offline_rides must be 0 or more"),
        ("[bike]\nwheels = 2", "unknown setting bike.wheels"),
        ('[locker]\nrelease = "newest"', "locker.release must be one of oldest, all"),
        ("[locker]\nleft_open_after = 0", "locker.left_open_after must be between"),
        ("[locker]\ndoor = 1", "unknown setting locker.door"),
        ('[tag]\nbase_url = "https://pay.example/tap/"', "tag.base_url must be an http"),
        ('[tag]\nbase_url = "ftp://pay.example/tap"', "tag.base_url must be an http"),
        ('[tag]\npackage = "wallet"', "tag.package must be an application id"),
        ('[tag]\ntransport = "bluetooth"', "tag.transport must be memory, vpcd"),
        ('[tag]\ntransport = "nfc"', "tag.transport must be memory, vpcd"),
        ('[tag]\ntransport = "vpcd:abc"', "tag.transport must be memory, vpcd"),
        ("[tag]\ntimeout = 0", "tag.timeout must be between"),
        ("[tag]\ntimeout = true", "timeout has the wrong type"),
        ("[tag]\nsticker = 1", "unknown setting tag.sticker"),
    ],
)
def test_invalid_values_name_the_setting(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(write(tmp_path, text))
