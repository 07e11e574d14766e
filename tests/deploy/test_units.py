"""The systemd units in deploy/: systemd accepts them, and they carry the hardening we rely on.

Two layers: ``systemd-analyze verify`` and ``systemd-analyze security --offline`` where the
tools exist (Debian's systemd package; scripts/services.sh installs it for pcscd's socket
activation), and a pure reading of the units with systemd's syntax rules that runs anywhere.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.units import (
    DEPLOY,
    UNITS,
    UnitSyntaxError,
    commented_env_keys,
    parse_env_file,
    parse_unit,
    read_unit,
)

ROOT = DEPLOY.parent
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
SYSUSERS = shutil.which("systemd-sysusers")
needs_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None,
    reason="systemd-analyze is not installed (Debian: apt-get install systemd); "
    "the pure checks below still read the units",
)
INSTALL_PREFIX = "/opt/tap/venv"

# (unit, program): ExecStart runs INSTALL_PREFIX/bin/program with these first arguments.
PROGRAMS = {
    "tap-acquirer.service": ("tap-acquirer", "serve"),
    "tap-terminal.service": ("tap-terminal", "run"),
}


def staged_units(tmp_path: Path) -> list[Path]:
    """The units with ExecStart pointing at stand-in programs under ``tmp_path``.

    ``verify`` checks that the command is executable; /opt/tap/venv exists only on an
    installed machine, so the copies name the same command in a folder that exists here.
    Nothing else in the unit changes.
    """
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    staged = []
    for name in UNITS:
        program = bin_dir / PROGRAMS[name][0]
        program.write_text("#!/bin/sh\nexit 0\n")
        program.chmod(0o755)
        text = (DEPLOY / name).read_text(encoding="utf-8")
        assert INSTALL_PREFIX in text
        copy = tmp_path / name
        copy.write_text(text.replace(INSTALL_PREFIX, str(tmp_path / "venv")), encoding="utf-8")
        staged.append(copy)
    return staged


def analyze(*args: str | Path) -> subprocess.CompletedProcess[str]:
    assert SYSTEMD_ANALYZE is not None
    return subprocess.run(
        [SYSTEMD_ANALYZE, *map(str, args)], capture_output=True, text=True, timeout=120, check=False
    )


# --- systemd's own checks ------------------------------------------------------------------


@needs_analyze
def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    result = analyze("verify", *staged_units(tmp_path))
    # verify exits 0 on a misspelled key or a bad value and only warns: no output at all.
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@needs_analyze
@pytest.mark.parametrize(
    ("old", "new", "warning"),
    [("ProtectSystem=strict", "ProtectSystem=strikt", "protect system value"),
     ("User=tap", "Usr=tap", "Unknown key"),
     ("SystemCallFilter=@system-service", "SystemCallFilter=@system-servise", "system call group")],
)  # fmt: skip
def test_verify_reports_a_broken_unit(tmp_path: Path, old: str, new: str, warning: str) -> None:
    # The check above can fail: the same unit with one mistake makes systemd say so.
    acquirer = staged_units(tmp_path)[0]
    acquirer.write_text(acquirer.read_text().replace(old, new, 1))
    result = analyze("verify", acquirer)
    assert warning in result.stdout + result.stderr


def exposure(tmp_path: Path, unit: Path) -> tuple[float, dict[str, bool]]:
    """``systemd-analyze security --offline``: the overall exposure and each check's pass."""
    result = analyze("security", "--offline=true", "--no-pager", unit)
    output = result.stdout + result.stderr
    overall = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", output)
    assert overall is not None, output
    checks: dict[str, bool] = {}
    for line in output.splitlines():
        mark = re.match(r"^([✓✗])\s+(\S+)", line)
        if mark:
            checks[mark.group(2)] = mark.group(1) == "✓"
    return float(overall.group(1)), checks


@needs_analyze
@pytest.mark.parametrize(
    ("name", "ceiling"), [("tap-acquirer.service", 1.5), ("tap-terminal.service", 2.0)]
)
def test_systemd_analyze_security(tmp_path: Path, name: str, ceiling: float) -> None:
    unit = next(u for u in staged_units(tmp_path) if u.name == name)
    level, checks = exposure(tmp_path, unit)
    # systemd grades 0-10; "OK" is below 4. USB access and the network keep the terminal
    # above the acquirer; both stay well inside the best grade.
    assert level <= ceiling
    for check in (
        "NoNewPrivileges=", "ProtectSystem=", "ProtectHome=", "PrivateTmp=", "ProtectKernelModules=",
        "ProtectKernelTunables=", "ProtectControlGroups=", "RestrictNamespaces=~user",
        "RestrictSUIDSGID=", "LockPersonality=", "MemoryDenyWriteExecute=", "SystemCallArchitectures=",
        "SystemCallFilter=~@privileged", "SystemCallFilter=~@mount", "CapabilityBoundingSet=~CAP_SYS_ADMIN",
        "CapabilityBoundingSet=~CAP_NET_ADMIN", "RestrictAddressFamilies=~AF_PACKET", "User=/DynamicUser=",
    ):  # fmt: skip
        assert checks.get(check) is True, f"{name}: {check} not satisfied"


@pytest.mark.skipif(SYSUSERS is None, reason="systemd-sysusers is not installed")
def test_sysusers_file_creates_the_tap_user(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    assert SYSUSERS is not None
    result = subprocess.run(
        [SYSUSERS, "--dry-run", f"--root={tmp_path}", str(DEPLOY / "tap.sysusers.conf")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Creating user 'tap'" in result.stdout + result.stderr


# --- the same units read with systemd's syntax rules (no systemd needed) ---------------------


def single(unit: dict[str, dict[str, list[str]]], section: str, key: str) -> str:
    values = unit.get(section, {}).get(key, [])
    assert len(values) == 1, f"[{section}] {key}: {values}"
    return values[0]


def words(unit: dict[str, dict[str, list[str]]], section: str, key: str) -> list[str]:
    return [w for value in unit.get(section, {}).get(key, []) for w in value.split()]


@pytest.mark.parametrize("name", UNITS)
def test_units_parse(name: str) -> None:
    unit = read_unit(name)
    assert set(unit) == {"Unit", "Service", "Install"}
    assert single(unit, "Install", "WantedBy") == "multi-user.target"


def test_the_reader_rejects_what_systemd_would() -> None:
    with pytest.raises(UnitSyntaxError):
        parse_unit("Key=before any section\n")
    with pytest.raises(UnitSyntaxError):
        parse_unit("[Service]\nnot an assignment\n")


HARDENING = {
    "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
    "PrivateMounts": "yes", "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes", "ProtectControlGroups": "yes", "ProtectClock": "yes",
    "ProtectHostname": "yes", "ProtectProc": "invisible", "ProcSubset": "pid",
    "RestrictNamespaces": "yes", "RestrictRealtime": "yes", "RestrictSUIDSGID": "yes",
    "LockPersonality": "yes", "MemoryDenyWriteExecute": "yes", "RemoveIPC": "yes",
    "SystemCallArchitectures": "native", "UMask": "0077",
}  # fmt: skip


@pytest.mark.parametrize("name", UNITS)
def test_hardening_keys(name: str) -> None:
    service = read_unit(name)["Service"]
    for key, value in HARDENING.items():
        assert service.get(key) == [value], f"{name}: {key}={service.get(key)}"
    # No capability at all: both listen on or connect to unprivileged ports only.
    assert "CapabilityBoundingSet" in service and service["CapabilityBoundingSet"] == []
    assert "AmbientCapabilities" in service and service["AmbientCapabilities"] == []
    assert service["SystemCallFilter"][0] == "@system-service"
    denied = service["SystemCallFilter"][1]
    assert denied.startswith("~")
    assert set(denied.removeprefix("~").split()) >= {"@privileged", "@resources"}


@pytest.mark.parametrize("name", UNITS)
def test_service_basics(name: str) -> None:
    unit = read_unit(name)
    program, command = PROGRAMS[name]
    exec_start = single(unit, "Service", "ExecStart").split()
    assert exec_start[:2] == [f"{INSTALL_PREFIX}/bin/{program}", command]
    assert single(unit, "Service", "Restart") == "on-failure"
    assert single(unit, "Service", "Type") == "exec"
    # A dedicated system user (deploy/tap.sysusers.conf), its own state directory, no root.
    assert single(unit, "Service", "User") == single(unit, "Service", "Group") == "tap"
    role = program.removeprefix("tap-")
    assert single(unit, "Service", "StateDirectory") == f"tap/{role}"
    assert single(unit, "Service", "StateDirectoryMode") == "0700"
    assert single(unit, "Service", "ConfigurationDirectory") == "tap"
    assert single(unit, "Service", "EnvironmentFile") == f"-/etc/tap/{role}.env"
    # Restarts are bounded: a unit that keeps failing stops instead of spinning.
    assert int(single(unit, "Unit", "StartLimitBurst")) > 0


def test_acquirer_network_and_devices() -> None:
    service = read_unit("tap-acquirer.service")["Service"]
    families = words({"S": service}, "S", "RestrictAddressFamilies")
    assert families == ["AF_UNIX", "AF_INET", "AF_INET6"]
    assert service["PrivateDevices"] == ["yes"]
    assert service["PrivateUsers"] == ["yes"]


def test_acquirer_command_line_expands_only_defined_variables() -> None:
    service = read_unit("tap-acquirer.service")["Service"]
    defaults = dict(v.split("=", 1) for v in service["Environment"])
    used = re.findall(r"\$\{?([A-Z_]+)\}?", service["ExecStart"][0])
    assert used and set(used) <= set(defaults)
    # The default data directory is the unit's state directory: the one writable place.
    assert defaults["TAP_ACQUIRER_HOME"] == "/var/lib/" + service["StateDirectory"][0]
    assert defaults["TAP_ACQUIRER_HOST"] == "127.0.0.1"  # plain HTTP on loopback only


def test_terminal_reader_access() -> None:
    unit = read_unit("tap-terminal.service")
    service = unit["Service"]
    # pcscd is socket activated on Debian: ordered after its socket and pulling it in.
    assert "pcscd.socket" in words(unit, "Unit", "After")
    assert "pcscd.socket" in words(unit, "Unit", "Wants")
    # The reader is waited for by the daemon, not bound to one USB device unit.
    assert "BindsTo" not in unit["Unit"]
    assert set(words(unit, "Service", "SupplementaryGroups")) >= {"plugdev", "dialout"}
    assert service["DevicePolicy"] == ["closed"]
    assert "char-usb_device rw" in service["DeviceAllow"]
    assert "PrivateDevices" not in service  # it would hide /dev/bus/usb
    assert set(words(unit, "Service", "RestrictAddressFamilies")) == {
        "AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK",
    }  # fmt: skip
    assert "PrivateNetwork" not in service  # the acquirer and the MQTT broker are remote


def test_terminal_groups_match_the_udev_rules() -> None:
    rules = (ROOT / "udev" / "60-tap-nfc-readers.rules").read_text(encoding="utf-8")
    groups = set(re.findall(r'GROUP="([a-z_-]+)"', rules))
    unit = read_unit("tap-terminal.service")
    assert groups and groups <= set(words(unit, "Service", "SupplementaryGroups"))


def test_terminal_writes_only_inside_its_state_directory() -> None:
    service = read_unit("tap-terminal.service")["Service"]
    state = "/var/lib/" + service["StateDirectory"][0]
    assert service["WorkingDirectory"] == [state]
    env = dict(v.split("=", 1) for v in service["Environment"])
    assert env["HOME"] == state
    assert env["TAP_TERMINAL_SETTINGS"].startswith("/etc/tap/")


@pytest.mark.parametrize(
    ("env_file", "package"), [("acquirer.env", "acquirer"), ("terminal.env", "terminal")]
)
def test_example_environment_files(env_file: str, package: str) -> None:
    text = (DEPLOY / env_file).read_text(encoding="utf-8")
    parse_env_file(text)  # systemd reads it as KEY=value lines
    documented = commented_env_keys(text)
    assert documented
    sources = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / package).rglob("*.py"))
    unit = (DEPLOY / f"tap-{package}.service").read_text(encoding="utf-8")
    for key in documented:
        # Each key is read by the program (or libpcsclite), or by the unit's command line.
        assert key in sources or f"${{{key}}}" in unit or f"${key}" in unit, key


def test_install_script_stages_the_files(tmp_path: Path) -> None:
    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["sh", str(DEPLOY / "install.sh")], env={"DESTDIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    assert run().returncode == 0
    for name in UNITS:
        installed = tmp_path / "etc" / "systemd" / "system" / name
        assert installed.read_bytes() == (DEPLOY / name).read_bytes()
    assert (tmp_path / "etc" / "sysusers.d" / "tap.conf").is_file()
    env = tmp_path / "etc" / "tap" / "acquirer.env"
    assert env.stat().st_mode & 0o777 == 0o600  # systemd reads it; nobody else needs to
    # A second run keeps the operator's edited settings.
    env.write_text("TAP_ACQUIRER_PORT=9443\n")
    second = run()
    assert second.returncode == 0 and "kept" in second.stdout
    assert env.read_text() == "TAP_ACQUIRER_PORT=9443\n"
