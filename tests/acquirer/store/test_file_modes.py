"""The SQLite files are readable by their owner only (issue 17, defect 6).

They hold tokens, PARs, encrypted PANs and every transaction. Before the fix, a data
directory that already existed with mode 0755 got ``acquirer.db``, its WAL and its shm
created with the process's umask (0644 under the usual 022, 0666 under 0).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from acquirer.domains import MIGRATIONS
from acquirer.payments.sql import SqlPaymentStore
from acquirer.store.sqlite import SqliteEngine
from tests.acquirer.store.test_store import _row


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def _modes(directory: Path) -> dict[str, int]:
    return {
        path.name: stat.S_IMODE(path.stat().st_mode)
        for path in directory.iterdir()
        if path.name.startswith("acquirer.db")
    }


def _write_once(path: Path) -> None:
    engine = SqliteEngine(path, MIGRATIONS)
    try:
        engine.migrate()
        SqlPaymentStore(engine).record_authorization(
            _row(f"auth_{os.urandom(4).hex()}", os.urandom(4).hex()), None
        )
        modes = _modes(path.parent)
        assert {"acquirer.db", "acquirer.db-wal", "acquirer.db-shm"} <= set(modes), modes
        assert modes == dict.fromkeys(modes, 0o600)
    finally:
        engine.close()


@pytest.mark.usefixtures("open_umask")
def test_new_database_files_are_0600_in_a_0755_directory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)
    _write_once(data / "acquirer.db")


@pytest.mark.usefixtures("open_umask")
def test_existing_wider_database_files_are_narrowed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    path = data / "acquirer.db"
    _write_once(path)
    for name in ("acquirer.db", "acquirer.db-wal", "acquirer.db-shm"):
        if (data / name).exists():
            os.chmod(data / name, 0o644)
    _write_once(path)
