"""Running the project's own console scripts from system tests, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def run(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``tap-…`` ARGS from this virtual environment; output captured, never raising."""
    return subprocess.run(
        [str(BIN / args[0]), *args[1:]], input=stdin, capture_output=True, text=True,
        env={**os.environ, **(env or {})}, timeout=60, check=False,
    )  # fmt: skip


def run_ok(*args: str, stdin: str | None = None) -> None:
    """Run ``tap-…`` ARGS and insist that it succeeds (its stderr is the failure message)."""
    done = run(*args, stdin=stdin)
    assert done.returncode == 0, done.stderr
