"""Session-wide checks of the test suite: the secret scan (tests/secretscan.py) at the end.

When the session ends, every file the run wrote under pytest's basetemp and the services
folder (``$TAP_SERVICES_DIR``) is searched for the PANs the tests use and for the keys of
every key file the run made. A finding fails the session with the file and the offset; the
secret itself is never printed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.secretscan import pans_in_sources, scan_run

TESTS = Path(__file__).resolve().parent


def scan_roots(config: pytest.Config) -> list[Path]:
    """The folders a run writes to: pytest's basetemp (if made) and the services folder."""
    roots: list[Path] = []
    factory = getattr(config, "_tmp_path_factory", None)
    if factory is not None and getattr(factory, "_basetemp", None) is not None:
        roots.append(factory.getbasetemp())
    services = os.environ.get("TAP_SERVICES_DIR")
    if services:
        roots.append(Path(services))
    return roots


@pytest.fixture(scope="session", autouse=True)
def terminal_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The terminal's default state folder (journal, outbox: ``$STATE_DIRECTORY``) under the
    run's basetemp, so a test's ``tap-terminal`` never writes the user's ~/.local/state and
    the secret scan reads what it wrote."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STATE_DIRECTORY", str(tmp_path_factory.mktemp("terminal-state")))
        yield


@pytest.hookimpl(tryfirst=True)  # before the tmp_path plugin may remove what passed
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    roots = scan_roots(session.config)
    if not roots:
        return
    start = time.monotonic()
    findings, files, secrets = scan_run(roots, pans_in_sources([TESTS]))
    took = time.monotonic() - start
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = [
        f"secret scan: {files} files searched for {secrets} secrets in {took:.1f} s: "
        f"{len(findings)} found"
    ]
    lines += [f"secret scan: FOUND {finding}" for finding in findings[:50]]
    if reporter is not None:
        for line in lines:
            reporter.write_line(line, red=bool(findings))
    if findings:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
