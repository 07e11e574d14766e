"""Real ``tap-acquirer serve`` processes for system tests and benchmarks."""

from __future__ import annotations

import os
import re
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx


def tap_acquirer() -> list[str]:
    """The ``tap-acquirer`` command of this virtual environment."""
    script = Path(sys.executable).with_name("tap-acquirer")
    return [str(script)] if script.exists() else [sys.executable, "-m", "acquirer.cli"]


def _wait_until_serving(url: str, deadline: float) -> None:
    while True:
        try:
            httpx.get(f"{url}/v1/health", timeout=1).raise_for_status()
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _open_files_limit(soft: int) -> Callable[[], None]:
    """A ``preexec_fn`` starting the child with a soft RLIMIT_NOFILE of ``soft`` (a distribution's
    default of 1,024, whatever the test runner's own limit is)."""

    def limit() -> None:
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    return limit


def start_acquirer(
    data_dir: Path,
    *,
    env: dict[str, str] | None = None,
    args: Sequence[str] = (),
    open_files: int | None = None,
    log: Path | None = None,
) -> tuple[subprocess.Popen[str], str]:
    """Start ``tap-acquirer serve`` on a free loopback port; the process and its base URL.

    ``open_files``: the soft open-file limit the server starts with; ``log``: a file that
    receives the server's standard error (its log lines), else they are dropped. The server
    leads a process group of its own (its workers included), so :func:`kill_group` reaches all.
    """
    stderr = log.open("ab") if log is not None else None
    process = subprocess.Popen(
        [*tap_acquirer(), "serve", "--data-dir", str(data_dir), "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=stderr if stderr is not None else subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200", **(env or {})},
        preexec_fn=_open_files_limit(open_files) if open_files is not None else None,
        start_new_session=True,
    )
    if stderr is not None:
        stderr.close()
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 30
        url = None
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            match = re.search(r"listening on (https?://127\.0\.0\.1:\d+)", line)
            url = match.group(1) if match else None
        assert url is not None, f"tap-acquirer serve did not start (exit {process.poll()})"
        if url.startswith("http://"):  # worker processes start listening after the announcement
            _wait_until_serving(url, deadline)
    except BaseException:
        stop(process)
        raise
    return process, url


def stop(process: subprocess.Popen[str]) -> None:
    """Terminate a server process and wait for it."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        kill_group(process)


def kill_group(process: subprocess.Popen[str]) -> None:
    """SIGKILL the server and its worker processes (its process group); wait for the server."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


@contextmanager
def acquirer_process(
    data_dir: Path,
    *,
    env: dict[str, str] | None = None,
    args: Sequence[str] = (),
    open_files: int | None = None,
    log: Path | None = None,
) -> Iterator[str]:
    """Start ``tap-acquirer serve`` on a free loopback port; yield its base URL; stop it."""
    process, url = start_acquirer(data_dir, env=env, args=args, open_files=open_files, log=log)
    try:
        yield url
    finally:
        stop(process)
