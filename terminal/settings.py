"""Terminal settings: one TOML file, validated, with embedded defaults.

Looked up in this order: ``--settings FILE``, ``$TAP_TERMINAL_SETTINGS``,
``~/.config/tap/terminal.toml``; with none of them the embedded defaults apply (a terminal
on loopback next to a development acquirer). Example::

    [terminal]
    id = "TERM0001"          # sent to the acquirer with every request
    currency = "EUR"         # ISO 4217 alphabetic code
    country_code = 528       # ISO 3166-1 numeric, EMV tag 9F1A
    merchant_name = "Corner Shop"
    journal = "state/journal.sqlite3"   # every transaction's state (default ~/.local/state/tap/)
    outbox = "state/outbox.sqlite3"     # what the terminal owes the acquirer

    [acquirer]
    url = "http://127.0.0.1:8080"
    timeout = 10.0           # seconds to wait for an authorization
    # Mutual TLS (an https url): the acquirer's CA certificate, and this terminal's
    # certificate and key from `tap-acquirer terminals add --out-dir certs/`.
    ca_certificate = "certs/ca-cert.pem"
    certificate = "certs/TERM0001-cert.pem"
    key = "certs/TERM0001-key.pem"
    # AES DUKPT for the card's sensitive data (57, 5A, 5F24): the initial key from
    # `terminals add`, loaded once into the device-state file the terminal keeps from then on.
    dukpt_initial_key = "certs/TERM0001-dukpt.json"
    dukpt_state = "state/dukpt-device.json"

    [reader]
    default = "emulated:visa"
    card_timeout = 1.0       # seconds one card exchange may take
    wait = 30.0              # seconds to wait for a tap

    [kernel]
    ca_keys = "/etc/tap/capk.json"   # CA public keys for ODA (default: the shipped test keys)
    production = false               # true refuses test CA keys
    # Terminal Action Codes (EMV Book 3 10.7), 5 bytes hex each; the shipped defaults and
    # why are in terminal/kernel/config.py. An acquirer that wants every ODA failure sent
    # online for the issuer to judge sets tac_denial = "0000000000".
    tac_denial = "4C00000000"
    tac_online = "F45084800C"
    tac_default = "F45084800C"

    # One table per supported combination (EMV Contactless Book B 3.1.1); amounts in minor
    # units of the terminal currency; leave a limit out to not set it.
    terminal_floor_limit = 0         # 9F1B, for a combination without floor_limit
    sequence_counter = "state/sequence-counter"   # 9F41, kept across restarts

    [[kernel.combination]]
    aid = "A0000000031010"
    kernel = 3                       # a kernel id: 3, "03", an extended "C10203"
                                     # (older names "c3", "C-3" still load)
    transaction_types = ["purchase", "cashback", "cash", "refund"]   # default: all
    extended_selection = false       # Extended Selection Support flag (9F29)
    transaction_limit = 50000        # at or above: not contactless (Try Another Interface)
    floor_limit = 0                  # above: online cryptogram required
    cvm_required_limit = 5000        # at or above: CVM required
    status_check = false
    zero_amount_allowed = true
    ttq = "23004000"                 # kernel 3 only; byte 2 b8/b7 are set per transaction;
                                     # "" configures no TTQ for the combination

Store-and-forward (deferred authorization, :mod:`terminal.modes.pay.offline`): when the
acquirer cannot be reached, a payment may be approved offline within these limits (amounts
in minor units of the terminal currency, of the offline approvals not yet forwarded)::

    [offline]
    enabled = false          # no offline approvals at all unless true
    max_amount = 2500        # per transaction
    per_card_count = 1       # per card (by PAR)
    per_card_amount = 2500
    total_count = 20         # per terminal
    total_amount = 25000
    max_age = 86400.0        # seconds: none while an older one is still not forwarded
    defer_arqc = false       # also defer a card's online request (ARQC) on the merchant's risk

What a tap does is the terminal's mode (``[terminal] mode``): ``"pay"`` (the default: a
shop's payment terminal), ``"bike"`` (a bike dock: a tap-on holds the deposit and unlocks,
a tap-off or a docked bike ends the ride) or ``"locker"`` (a parcel locker: a tap or a
pickup code opens the recipient's compartment). The acquirer must allow the terminal that
action (``tap-acquirer terminals add --actions bike``)::

    [terminal]
    mode = "bike"

    [bike]
    docks = ["D1", "D2"]                  # the docks this terminal serves (actuator units)
    actuator = "mqtt://10.0.0.5:1883/tap/dock7?units=D1,D2"   # see terminal.actuators
    unlock_timeout = 10.0                 # seconds for a lock to report open
    deposit = 5000                        # optional override of the operator's tariff
                                          # deposit (minor units) the card is asked for at a
                                          # tap-on; unset: GET /v1/bikes/tariff's, cached
    max_offline_rides = 5                 # unsettled offline unlocks allowed (0: none)
    deny_list = "state/deny-list.json"    # cached GET /v1/deny-list, for offline taps
    queue = "state/bike-queue.sqlite3"    # the former ride queue: its entries move into the
                                          # outbox at start (rides wait in [terminal] outbox)
    tariff = "state/bike-tariff.json"     # cached GET /v1/bikes/tariff, for offline starts

    [locker]
    actuator = "simulated:units=01,02,03,04"   # units are the acquirer's compartment ids
    door_timeout = 10.0                   # seconds for a door to report open (else jammed)
    left_open_after = 60.0                # seconds open before reporting left_open
    release = "oldest"                    # "oldest": one parcel a tap; "all": every parcel

Tap! mode (``tap-terminal tag pay``): the terminal presents a Type 4 Tag the phone wallet
reads; the acquirer names the session and signs its link::

    [tag]
    base_url = "https://pay.example/tap"  # the acquirer's tap_base_url: other links are refused
    package = "com.example.wallet"        # the wallet app (Android Application Record)
    transport = "vpcd"                    # memory | vpcd[:PORT] (inside pcscd) | nfc:PATH
    timeout = 180.0                       # seconds to pay before the session is cancelled
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from emvcore.currency import currency
from emvcore.errors import EmvError, EncodingError
from terminal.daemon.settings import DaemonSettings, daemon_settings
from terminal.errors import SettingsError
from terminal.kernel.config import (
    DEFAULT_COMBINATIONS,
    DEFAULT_TAC_DEFAULT,
    DEFAULT_TAC_DENIAL,
    DEFAULT_TAC_ONLINE,
    TEST_CAPK_FILE,
    Combination,
    KernelConfig,
    ReaderLimits,
)
from terminal.kernel.registry import kernel_id_by_name, lookup
from terminal.kernel.sequence import FileCounter, MemoryCounter
from terminal.kernel.transaction import TRANSACTION_TYPES
from terminal.modes.settings import (
    MODES,
    BikeSettings,
    LockerSettings,
    OfflineSettings,
    TagSettings,
    bike_settings,
    locker_settings,
    offline_settings,
    state_dir,
    tag_settings,
)

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
    acquirer_ca: Path | None = None
    acquirer_certificate: Path | None = None
    acquirer_key: Path | None = None
    dukpt_initial_key: Path | None = None
    dukpt_state: Path | None = None
    combinations: tuple[Combination, ...] = DEFAULT_COMBINATIONS
    ca_keys: Path = TEST_CAPK_FILE
    production: bool = False
    terminal_floor_limit: int | None = None
    sequence_counter: Path | None = None
    #: Terminal Action Codes (Book 3 10.7); defaults in :mod:`terminal.kernel.config`.
    tac_denial: bytes = DEFAULT_TAC_DENIAL
    tac_online: bytes = DEFAULT_TAC_ONLINE
    tac_default: bytes = DEFAULT_TAC_DEFAULT
    mode: str = "pay"
    journal: Path = field(default_factory=lambda: state_dir() / "journal.sqlite3")
    outbox: Path = field(default_factory=lambda: state_dir() / "outbox.sqlite3")
    bike: BikeSettings = field(default_factory=BikeSettings)
    locker: LockerSettings = field(default_factory=LockerSettings)
    tag: TagSettings = field(default_factory=TagSettings)
    offline: OfflineSettings = field(default_factory=OfflineSettings)
    daemon: DaemonSettings = field(default_factory=DaemonSettings)
    source: str = "embedded defaults"

    @property
    def outbox_lease(self) -> float:
        """How long an outbox claim lasts: longer than any one request may take (a claim a
        killed forwarder left is taken over once it expires)."""
        return max(3 * self.acquirer_timeout, 2.0)

    def __post_init__(self) -> None:
        where = f"in {self.source}"
        if not _TERMINAL_ID.fullmatch(self.terminal_id):
            raise SettingsError(f"terminal.id must be 1-16 letters or digits {where}")
        try:
            currency(self.currency)
        except EncodingError as exc:
            raise SettingsError(f"terminal.currency: {exc} {where}") from None
        if self.mode not in MODES:
            raise SettingsError(f"terminal.mode must be one of {', '.join(MODES)} {where}")
        if self.terminal_floor_limit is not None and self.terminal_floor_limit < 0:
            raise SettingsError(f"kernel.terminal_floor_limit must not be negative {where}")
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
        ("terminal", "mode"): ("mode", str),
        ("acquirer", "url"): ("acquirer_url", str),
        ("acquirer", "timeout"): ("acquirer_timeout", (int, float)),
        ("reader", "default"): ("reader", str),
        ("reader", "card_timeout"): ("card_timeout", (int, float)),
        ("reader", "wait"): ("wait", (int, float)),
        ("kernel", "production"): ("production", bool),
        ("kernel", "terminal_floor_limit"): ("terminal_floor_limit", int),
    }
    for section, table in document.items():
        if not isinstance(table, dict):
            raise SettingsError(f"[{section}] must be a table in {path}")
        if section == "bike":
            fields["bike"] = bike_settings(table, path.parent, f"in {path}")
            continue
        if section == "locker":
            fields["locker"] = locker_settings(table, f"in {path}")
            continue
        if section == "tag":
            fields["tag"] = tag_settings(table, f"in {path}")
            continue
        if section == "offline":
            fields["offline"] = offline_settings(table, f"in {path}")
            continue
        if section == "daemon":
            fields["daemon"] = daemon_settings(table, path.parent, f"in {path}")
            continue
        for key, value in table.items():
            if (section, key) == ("kernel", "combination"):
                fields["combinations"] = _combinations(value, path)
                continue
            if section == "kernel" and key in _TAC_KEYS:
                fields[key] = _tac(key, value, path)
                continue
            file_setting = _FILE_SETTINGS.get((section, key))
            if file_setting is not None:
                if not isinstance(value, str):
                    raise SettingsError(f"{section}.{key} must be a file path in {path}")
                fields[file_setting] = (path.parent / value).resolve()
                continue
            target = mapping.get((section, key))
            if target is None:
                raise SettingsError(f"unknown setting {section}.{key} in {path}")
            name, kind = target
            if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
                raise SettingsError(f"{section}.{key} has the wrong type in {path}")
            fields[name] = value
    return TerminalSettings(**fields)


#: Settings naming files, relative to the settings file: (section, key) -> field.
_FILE_SETTINGS = {
    ("terminal", "journal"): "journal",
    ("terminal", "outbox"): "outbox",
    ("kernel", "ca_keys"): "ca_keys",
    ("kernel", "sequence_counter"): "sequence_counter",
    ("acquirer", "ca_certificate"): "acquirer_ca",
    ("acquirer", "certificate"): "acquirer_certificate",
    ("acquirer", "key"): "acquirer_key",
    ("acquirer", "dukpt_initial_key"): "dukpt_initial_key",
    ("acquirer", "dukpt_state"): "dukpt_state",
}
_TAC_KEYS = ("tac_denial", "tac_online", "tac_default")
_LIMIT_KEYS = ("transaction_limit", "floor_limit", "cvm_required_limit")
_COMBINATION_KEYS = {
    "aid",
    "kernel",
    "status_check",
    "zero_amount_allowed",
    "ttq",
    "transaction_types",
    "extended_selection",
    *_LIMIT_KEYS,
}


def _tac(key: str, value: Any, path: Path) -> bytes:
    """A Terminal Action Code: 10 hex digits, TVR-shaped (Book 3 10.7, Book 4 Annex A)."""
    try:
        tac = bytes.fromhex(value) if isinstance(value, str) else b""
    except ValueError:
        tac = b""
    if len(tac) != 5:
        raise SettingsError(f"kernel.{key} must be 5 bytes in hexadecimal (10 digits) in {path}")
    return tac


def _kernel_id(value: Any, where: str) -> int:
    """A combination's kernel: a kernel id (int or hex) or an older kernel name."""
    if isinstance(value, int) and not isinstance(value, bool):
        kernel_id: int | None = value
    elif isinstance(value, str):
        kernel_id = kernel_id_by_name(value)
    else:
        kernel_id = None
    if kernel_id is None or lookup(kernel_id) is None:
        raise SettingsError(f"{where}: kernel must be the id of a registered kernel (2, 3, ...)")
    return kernel_id


def _transaction_types(value: Any, where: str) -> frozenset[int] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(v in TRANSACTION_TYPES for v in value):
        raise SettingsError(
            f"{where}: transaction_types must be a list of {', '.join(TRANSACTION_TYPES)}"
        )
    return frozenset(TRANSACTION_TYPES[v] for v in value)


def _combinations(value: Any, path: Path) -> tuple[Combination, ...]:
    """Parse ``[[kernel.combination]]`` tables (Book B 3.1.1 configuration), naming errors."""
    if not isinstance(value, list) or not value:
        raise SettingsError(f"kernel.combination must be a list of tables in {path}")
    found: list[Combination] = []
    for index, table in enumerate(value):
        where = f"kernel.combination[{index}] in {path}"
        if not isinstance(table, dict):
            raise SettingsError(f"{where} must be a table")
        unknown = set(table) - _COMBINATION_KEYS
        if unknown:
            raise SettingsError(f"{where}: unknown setting {sorted(unknown)[0]}")
        try:
            aid = bytes.fromhex(table["aid"])
            ttq = bytes.fromhex(table.get("ttq", "23004000"))
        except (KeyError, TypeError, ValueError):
            raise SettingsError(f"{where}: aid (and ttq) must be hexadecimal") from None
        if not 5 <= len(aid) <= 16 or len(ttq) not in (0, 4):
            raise SettingsError(f"{where}: aid must be 5-16 bytes, ttq 4 bytes")
        kernel = _kernel_id(table.get("kernel"), where)
        extended = table.get("extended_selection", False)
        if not isinstance(extended, bool):
            raise SettingsError(f"{where}: extended_selection must be true or false")
        limits: dict[str, Any] = {}
        for key in _LIMIT_KEYS:
            amount = table.get(key)
            if amount is not None and (
                not isinstance(amount, int) or isinstance(amount, bool) or amount < 0
            ):
                raise SettingsError(f"{where}: {key} must be a whole number of minor units")
            limits[key] = amount
        for key in ("status_check", "zero_amount_allowed"):
            flag = table.get(key, key == "zero_amount_allowed")
            if not isinstance(flag, bool):
                raise SettingsError(f"{where}: {key} must be true or false")
            limits[key] = flag
        found.append(
            Combination(
                aid,
                kernel,
                ReaderLimits(ttq=ttq or None, **limits),
                _transaction_types(table.get("transaction_types"), where),
                extended,
            )
        )
    return tuple(found)


def kernel_config(settings: TerminalSettings) -> KernelConfig:
    """The kernel configuration the settings describe (CA keys loaded and checked)."""
    from emvcore.oda.capk import load_ca_keys

    try:
        ca_keys = load_ca_keys(settings.ca_keys, production=settings.production)
    except EmvError as exc:
        raise SettingsError(f"kernel.ca_keys: {exc}") from None
    counter = settings.sequence_counter
    return KernelConfig(
        combinations=settings.combinations,
        country_code=settings.country_code,
        ca_keys=ca_keys,
        terminal_floor_limit=settings.terminal_floor_limit,
        tac_denial=settings.tac_denial,
        tac_online=settings.tac_online,
        tac_default=settings.tac_default,
        sequence_counter=FileCounter(counter) if counter is not None else MemoryCounter(),
    )
