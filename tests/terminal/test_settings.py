"""Terminal settings: embedded defaults, a TOML file, and errors naming the setting and file."""

from __future__ import annotations

from pathlib import Path

import pytest

from terminal.errors import SettingsError
from terminal.kernel import KernelConfig
from terminal.settings import TerminalSettings, default_path, kernel_config, load_settings

VALID = """\
[terminal]
id = "SHOP42"
currency = "usd"
country_code = 840
merchant_name = "Corner Shop"

[acquirer]
url = "https://acquirer.example:8443/"
timeout = 5

[reader]
default = "emulated:alice"
card_timeout = 0.5
wait = 12.5
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "terminal.toml"
    path.write_text(text)
    return path


def test_embedded_defaults(isolated_home: Path) -> None:
    assert default_path() is None
    settings = load_settings()
    assert settings == TerminalSettings()
    assert (settings.terminal_id, settings.currency, settings.country_code) == (
        "TERM0001",
        "EUR",
        528,
    )
    assert (settings.acquirer_url, settings.acquirer_timeout) == ("http://127.0.0.1:8080", 10.0)
    assert (settings.reader, settings.card_timeout, settings.wait) == ("emulated:visa", 1.0, 30.0)
    assert settings.source == "embedded defaults"


def test_valid_file(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    settings = load_settings(path)
    assert settings == TerminalSettings(
        terminal_id="SHOP42",
        currency="usd",
        country_code=840,
        merchant_name="Corner Shop",
        acquirer_url="https://acquirer.example:8443/",
        acquirer_timeout=5,
        reader="emulated:alice",
        card_timeout=0.5,
        wait=12.5,
        source=str(path),
    )


def test_partial_file_keeps_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, '[terminal]\nid = "T2"\n'))
    assert settings.terminal_id == "T2"
    assert settings.currency == "EUR" and settings.acquirer_url == "http://127.0.0.1:8080"


def test_lookup_order(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home_file = isolated_home / ".config" / "tap" / "terminal.toml"
    home_file.parent.mkdir(parents=True)
    home_file.write_text('[terminal]\nid = "HOME1"\n')
    assert default_path() == home_file
    assert load_settings().terminal_id == "HOME1"
    env_file = isolated_home / "env.toml"
    env_file.write_text('[terminal]\nid = "ENV1"\n')
    monkeypatch.setenv("TAP_TERMINAL_SETTINGS", str(env_file))
    assert default_path() == env_file
    assert load_settings().terminal_id == "ENV1"
    assert load_settings(home_file).terminal_id == "HOME1"  # an explicit file wins


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[terminal]\ncolour = "blue"\n', "unknown setting terminal.colour in {path}"),
        ("[printer]\nport = 1\n", "unknown setting printer.port in {path}"),
        (
            '[terminal]\ncountry_code = "528"\n',
            "terminal.country_code has the wrong type in {path}",
        ),
        ("[terminal]\nid = 42\n", "terminal.id has the wrong type in {path}"),
        ("[acquirer]\ntimeout = true\n", "acquirer.timeout has the wrong type in {path}"),
        ('[reader]\nwait = "30"\n', "reader.wait has the wrong type in {path}"),
        ("terminal = 1\n", "[terminal] must be a table in {path}"),
        (
            '[acquirer]\nurl = "ftp://acquirer.example"\n',
            "acquirer.url must be an http(s) URL in {path}",
        ),
        ('[acquirer]\nurl = "http://"\n', "acquirer.url must be an http(s) URL in {path}"),
        ('[acquirer]\nurl = "acquirer.example"\n', "acquirer.url must be an http(s) URL in {path}"),
        ('[terminal]\nid = "TERM-0001"\n', "terminal.id must be 1-16 letters or digits in {path}"),
        ('[terminal]\nid = ""\n', "terminal.id must be 1-16 letters or digits in {path}"),
        (
            '[terminal]\nid = "ABCDEFGHIJKLMNOPQ"\n',
            "terminal.id must be 1-16 letters or digits in {path}",
        ),
        (
            "[terminal]\ncountry_code = 0\n",
            "terminal.country_code must be an ISO 3166-1 numeric code in {path}",
        ),
        (
            "[terminal]\ncountry_code = 1000\n",
            "terminal.country_code must be an ISO 3166-1 numeric code in {path}",
        ),
        ("[acquirer]\ntimeout = 0\n", "acquirer.timeout must be between 0 and 600 s in {path}"),
        (
            "[reader]\ncard_timeout = -1\n",
            "reader.card_timeout must be between 0 and 600 s in {path}",
        ),
        ("[reader]\nwait = 601\n", "reader.wait must be between 0 and 600 s in {path}"),
        ("[reader]\nwait = nan\n", "reader.wait must be between 0 and 600 s in {path}"),
        (
            '[kernel]\ntac_denial = "4C000000"\n',
            "kernel.tac_denial must be 5 bytes in hexadecimal (10 digits) in {path}",
        ),
        (
            '[kernel]\ntac_online = "F45084800CZZ"\n',
            "kernel.tac_online must be 5 bytes in hexadecimal (10 digits) in {path}",
        ),
        (
            "[kernel]\ntac_default = 0\n",
            "kernel.tac_default must be 5 bytes in hexadecimal (10 digits) in {path}",
        ),
    ],
)
def test_invalid_settings_name_the_setting_and_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SettingsError) as exc:
        load_settings(path)
    assert str(exc.value) == message.format(path=path)


@pytest.mark.parametrize("code", ["XXX", "EURO", "", "€"])
def test_bad_currency(tmp_path: Path, code: str) -> None:
    path = write(tmp_path, f'[terminal]\ncurrency = "{code}"\n')
    with pytest.raises(SettingsError) as exc:
        load_settings(path)
    assert str(exc.value).startswith("terminal.currency: ")
    assert str(exc.value).endswith(f" in {path}")


def test_file_problems(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(SettingsError) as exc:
        load_settings(missing)
    assert str(exc.value) == f"settings file {missing} not found"
    bad = write(tmp_path, "[terminal\n")
    with pytest.raises(SettingsError, match=r"is not valid TOML"):
        load_settings(bad)
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe")
    with pytest.raises(SettingsError, match="cannot be read: UnicodeDecodeError"):
        load_settings(binary)
    with pytest.raises(SettingsError, match="cannot be read: IsADirectoryError"):
        load_settings(tmp_path)


def test_terminal_action_codes_from_the_settings_file(tmp_path: Path) -> None:
    """``[kernel] tac_*``: 5 bytes each, handed to the kernel (Book 3 10.7)."""
    text = '[kernel]\ntac_denial = "0000000000"\ntac_online = "fc50bca000"\n'
    settings = load_settings(write(tmp_path, text))
    config = kernel_config(settings)
    assert (config.tac_denial, config.tac_online, config.tac_default) == (
        bytes(5),
        bytes.fromhex("FC50BCA000"),
        KernelConfig().tac_default,  # not given: the shipped default
    )


def test_without_tacs_in_the_file_the_shipped_defaults_apply(tmp_path: Path) -> None:
    config = kernel_config(load_settings(write(tmp_path, VALID)))
    shipped = KernelConfig()
    assert (config.tac_denial, config.tac_online, config.tac_default) == (
        shipped.tac_denial,
        shipped.tac_online,
        shipped.tac_default,
    )


def test_every_mode_table_loads_beside_the_others(tmp_path: Path) -> None:
    # A merge once dropped the [tag] table's `continue`: its keys then fell through to the
    # generic loop and `tag.base_url` was an "unknown setting" (make demo caught it).
    path = tmp_path / "terminal.toml"
    path.write_text(
        '[tag]\nbase_url = "https://tap.example/tap"\ntransport = "memory"\n'
        "[offline]\nenabled = false\n"
        '[daemon]\nstate_dir = "state"\n',
        encoding="utf-8",
    )
    settings = load_settings(path)
    assert settings.tag.base_url == "https://tap.example/tap"
    assert settings.offline.enabled is False
