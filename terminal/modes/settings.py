"""The ``[bike]``, ``[locker]``, ``[tag]`` and ``[offline]`` tables of the terminal settings (see
:mod:`terminal.settings`).

Each table is validated here, with errors naming the key and the file; paths are relative to
the settings file. The defaults make a working simulated dock or locker on one machine.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from terminal.errors import SettingsError

MODES = ("pay", "bike", "locker")
RELEASES = ("oldest", "all")
#: Transports the Tap! tag can be served by (:func:`terminal.modes.tag.open_tag`).
TAG_TRANSPORTS = ("memory", "vpcd", "nfc")
_BASE_URL = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~-]+)*")
_PACKAGE = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+")
STATE_DIR = Path.home() / ".local" / "state" / "tap"


def state_dir() -> Path:
    """Where the terminal keeps its state (journal, outbox) unless the settings say:
    ``$STATE_DIRECTORY`` (systemd's ``StateDirectory=``, the first one when it lists several),
    else ``~/.local/state/tap`` of the home directory as it is now."""
    given = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    return Path(given) if given else Path.home() / ".local" / "state" / "tap"


@dataclass(frozen=True, slots=True)
class BikeSettings:
    """A bike dock terminal: its docks, their lock controller, the deposit, offline rules."""

    docks: tuple[str, ...] = ("D1",)
    actuator: str = "simulated:units=D1"
    unlock_timeout: float = 10.0
    #: An override of the operator's tariff deposit in minor units of the terminal currency:
    #: the amount the card is asked for at a tap-on (the acquirer refuses any other:
    #: ``deposit_mismatch``). ``None``: the deposit of ``GET /v1/bikes/tariff``, cached.
    deposit: int | None = None
    #: Unsettled offline unlocks the dock allows in total (0: never unlock offline).
    max_offline_rides: int = 5
    deny_list: Path = STATE_DIR / "deny-list.json"
    #: The former queue of offline rides: moved into the terminal's outbox at start.
    queue: Path = STATE_DIR / "bike-queue.sqlite3"
    tariff: Path = STATE_DIR / "bike-tariff.json"

    def check(self, where: str) -> None:
        if not self.docks:
            raise SettingsError(f"bike.docks must name at least one dock {where}")
        if not 0 < self.unlock_timeout <= 600:
            raise SettingsError(f"bike.unlock_timeout must be between 0 and 600 s {where}")
        if self.deposit is not None and self.deposit < 1:
            raise SettingsError(f"bike.deposit must be a positive number of minor units {where}")
        if self.max_offline_rides < 0:
            raise SettingsError(f"bike.max_offline_rides must be 0 or more {where}")


@dataclass(frozen=True, slots=True)
class LockerSettings:
    """A parcel locker terminal: its door controller, door timings and release policy."""

    actuator: str = "simulated:units=01,02,03,04"
    door_timeout: float = 10.0
    left_open_after: float = 60.0
    release: str = "oldest"

    def check(self, where: str) -> None:
        for name in ("door_timeout", "left_open_after"):
            if not 0 < getattr(self, name) <= 3600:
                raise SettingsError(f"locker.{name} must be between 0 and 3600 s {where}")
        if self.release not in RELEASES:
            raise SettingsError(f"locker.release must be one of {', '.join(RELEASES)} {where}")


@dataclass(frozen=True, slots=True)
class OfflineSettings:
    """Store-and-forward: when a payment may be approved without the acquirer (deferred
    authorization), and how much the merchant puts at risk that way.

    Amounts are minor units of the terminal currency; counts and amounts are of the offline
    approvals not yet forwarded (what the outbox still holds). ``max_age``: no new offline
    approval while the oldest one not forwarded is older than this many seconds.
    ``defer_arqc``: also approve, on the merchant's risk, a card that asked to go online (its
    ARQC verified late by the acquirer); without it only a card's own offline approval (TC).
    """

    enabled: bool = False
    max_amount: int = 2500
    per_card_count: int = 1
    per_card_amount: int = 2500
    total_count: int = 20
    total_amount: int = 25000
    max_age: float = 86400.0
    defer_arqc: bool = False

    def check(self, where: str) -> None:
        for name in ("max_amount", "per_card_count", "per_card_amount", "total_count",
                     "total_amount"):  # fmt: skip
            if getattr(self, name) < 0:
                raise SettingsError(f"offline.{name} must be 0 or more {where}")
        if self.per_card_amount > self.total_amount or self.per_card_count > self.total_count:
            raise SettingsError(f"offline.per_card_* must not exceed offline.total_* {where}")
        if not 0 < self.max_age <= 30 * 86400:
            raise SettingsError(f"offline.max_age must be between 0 and 30 days (s) {where}")


def offline_settings(table: dict[str, Any], where: str) -> OfflineSettings:
    """``[offline]``: enabled, max_amount, per_card_count, per_card_amount, total_count,
    total_amount, max_age, defer_arqc."""
    fields: dict[str, Any] = {}
    for key, value in table.items():
        if key in ("enabled", "defer_arqc"):
            if not isinstance(value, bool):
                raise SettingsError(f"offline.{key} must be true or false {where}")
            fields[key] = value
        elif key == "max_age":
            fields[key] = float(_typed(table, key, (int, float), f"(offline) {where}"))
        elif key in ("max_amount", "per_card_count", "per_card_amount", "total_count",
                     "total_amount"):  # fmt: skip
            fields[key] = _typed(table, key, int, f"(offline) {where}")
        else:
            raise SettingsError(f"unknown setting offline.{key} {where}")
    settings = OfflineSettings(**fields)
    settings.check(where)
    return settings


def _typed(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = table[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise SettingsError(f"{key} has the wrong type {where}")
    return value


def bike_settings(table: dict[str, Any], base: Path, where: str) -> BikeSettings:
    """``[bike]``: docks, actuator, unlock_timeout, deposit, max_offline_rides, deny_list,
    queue, tariff."""
    fields: dict[str, Any] = {}
    for key, value in table.items():
        name = f"bike.{key}"
        if key == "docks":
            if not isinstance(value, list) or not all(isinstance(d, str) and d for d in value):
                raise SettingsError(f"{name} must be a list of dock ids {where}")
            fields["docks"] = tuple(value)
        elif key == "actuator":
            fields[key] = _typed(table, key, str, f"(bike) {where}")
        elif key == "unlock_timeout":
            fields[key] = float(_typed(table, key, (int, float), f"(bike) {where}"))
        elif key in ("deposit", "max_offline_rides"):
            fields[key] = _typed(table, key, int, f"(bike) {where}")
        elif key in ("deny_list", "queue", "tariff"):
            fields[key] = (base / _typed(table, key, str, f"(bike) {where}")).resolve()
        else:
            raise SettingsError(f"unknown setting {name} {where}")
    settings = BikeSettings(**fields)
    settings.check(where)
    return settings


def locker_settings(table: dict[str, Any], where: str) -> LockerSettings:
    """``[locker]``: actuator, door_timeout, left_open_after, release."""
    fields: dict[str, Any] = {}
    for key, value in table.items():
        if key in ("actuator", "release"):
            fields[key] = _typed(table, key, str, f"(locker) {where}")
        elif key in ("door_timeout", "left_open_after"):
            fields[key] = float(_typed(table, key, (int, float), f"(locker) {where}"))
        else:
            raise SettingsError(f"unknown setting locker.{key} {where}")
        del value
    settings = LockerSettings(**fields)
    settings.check(where)
    return settings


@dataclass(frozen=True, slots=True)
class TagSettings:
    """A Tap! till: the tag the terminal presents and the links it may present on it."""

    #: The acquirer's Tap! base URL (its ``tap_base_url``): a link from the acquirer that is
    #: not under it is never presented (:func:`emvcore.tapmode.parse_link`).
    base_url: str = "https://tap.localhost/tap"
    #: The wallet app the Android Application Record names.
    package: str = "com.example.wallet"
    #: ``memory``, ``vpcd[:PORT]`` (inside pcscd) or ``nfc:PATH`` (an nfcpy Type 4A target).
    transport: str = "vpcd"
    #: Seconds the customer has to pay before the session is cancelled.
    timeout: float = 180.0

    def check(self, where: str) -> None:
        if not _BASE_URL.fullmatch(self.base_url):
            raise SettingsError(
                f"tag.base_url must be an http(s) URL without query or trailing slash {where}"
            )
        if not _PACKAGE.fullmatch(self.package):
            raise SettingsError(f"tag.package must be an application id like com.example.app {where}")
        kind, _, rest = self.transport.partition(":")
        if kind not in TAG_TRANSPORTS or (kind == "nfc" and not rest) or (
            kind == "vpcd" and rest and not rest.isdigit()
        ) or (kind == "memory" and rest):
            raise SettingsError(f"tag.transport must be memory, vpcd[:PORT] or nfc:PATH {where}")
        if not 0 < self.timeout <= 600:
            raise SettingsError(f"tag.timeout must be between 0 and 600 s {where}")


def tag_settings(table: dict[str, Any], where: str) -> TagSettings:
    """``[tag]``: base_url, package, transport, timeout."""
    fields: dict[str, Any] = {}
    for key in table:
        if key in ("base_url", "package", "transport"):
            fields[key] = _typed(table, key, str, f"(tag) {where}")
        elif key == "timeout":
            fields[key] = float(_typed(table, key, (int, float), f"(tag) {where}"))
        else:
            raise SettingsError(f"unknown setting tag.{key} {where}")
    settings = TagSettings(**fields)
    settings.check(where)
    return settings
