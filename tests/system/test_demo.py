"""The README's demo, end to end: real processes, real HTTP, real SQLite, the real CLIs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_make_demo_script_prints_two_approvals_and_one_decline() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo.py")],
        capture_output=True, text=True, timeout=180, check=False,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if "-visa" in line or "-mastercard" in line]
    assert len(lines) == 3, done.stdout
    alice, bob, mallory = lines
    assert "approved" in alice and alice.count("verified") == 2
    assert "approved" in bob and bob.count("verified") == 2
    assert "declined" in mallory and "cryptogram_invalid" in mallory
