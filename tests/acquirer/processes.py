"""Real ``tap-acquirer serve`` processes for system tests and benchmarks."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
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


def start_acquirer(
    data_dir: Path, *, env: dict[str, str] | None = None, args: Sequence[str] = ()
) -> tuple[subprocess.Popen[str], str]:
    """Start ``tap-acquirer serve`` on a free loopback port; the process and its base URL."""
    process = subprocess.Popen(
        [*tap_acquirer(), "serve", "--data-dir", str(data_dir), "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200", **(env or {})},
    )
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
        process.kill()
        process.wait()


@contextmanager
def acquirer_process(
    data_dir: Path, *, env: dict[str, str] | None = None, args: Sequence[str] = ()
) -> Iterator[str]:
    """Start ``tap-acquirer serve`` on a free loopback port; yield its base URL; stop it."""
    process, url = start_acquirer(data_dir, env=env, args=args)
    try:
        yield url
    finally:
        stop(process)
