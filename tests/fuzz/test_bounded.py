"""Each target under atheris for a short, bounded run (``make soak`` runs them for long).

The run happens in a subprocess (:mod:`tests.fuzz.run`) so that emvcore and the kernel
are imported fresh under atheris's coverage instrumentation. ``TAP_FUZZ_SECONDS`` sets the
length of each run (6 s by default: all five targets in well under a minute); new
interesting inputs go to the test's temporary folder and are dropped. A crash or a broken
property fails the test, names the input written to ``build/fuzz/crashes/<target>/`` and
the command that replays it.

Where atheris cannot be installed, the same harnesses run under hypothesis instead
(``TAP_FUZZ_EXAMPLES`` inputs each): random rather than coverage-guided, and said so.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.run import ROOT
from tests.fuzz.targets import TARGETS

HAVE_ATHERIS = importlib.util.find_spec("atheris") is not None
SECONDS = int(os.environ.get("TAP_FUZZ_SECONDS", "6"))
EXAMPLES = int(os.environ.get("TAP_FUZZ_EXAMPLES", "300"))
#: Start-up (imports, card personalization) on a busy machine, on top of the run itself.
GRACE = 240


def _stat(output: str, name: str) -> str:
    found = re.findall(rf"stat::{name}:\s*(\d+)", output)
    return found[-1] if found else "?"


@pytest.mark.skipif(not HAVE_ATHERIS, reason="atheris is not installed: see the hypothesis run")
@pytest.mark.parametrize("name", sorted(TARGETS))
def test_bounded_atheris_run_finds_nothing(name: str, tmp_path: Path) -> None:
    crashes = ROOT / "build" / "fuzz" / "crashes" / name
    command = [
        sys.executable, "-m", "tests.fuzz.run", name, "--seconds", str(SECONDS),
        "--work", str(tmp_path / "work"), "--crashes", str(crashes),
    ]  # fmt: skip
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=SECONDS + GRACE, check=False
    )
    output = done.stdout + done.stderr
    runs, speed = _stat(output, "number_of_executed_units"), _stat(output, "average_exec_per_sec")
    print(f"fuzz {name}: {runs} executions in {SECONDS} s, {speed} per second")
    if done.returncode != 0:
        written = re.findall(r"Test unit written to (\S+)", output)
        where = written[-1] if written else f"(no input written; see {crashes})"
        tail = "\n".join(output.splitlines()[-60:])
        pytest.fail(
            f"fuzz target {name} failed (exit {done.returncode}); input: {where}\n"
            f"replay: python -m tests.fuzz.run {name} {where}\n{tail}",
            pytrace=False,
        )
    assert runs != "?" and int(runs) > 0, f"the {name} run executed nothing:\n{output[-2000:]}"


@pytest.mark.skipif(HAVE_ATHERIS, reason="atheris is installed: the coverage-guided run is used")
@pytest.mark.parametrize("name", sorted(TARGETS))
def test_bounded_hypothesis_run_finds_nothing(name: str) -> None:
    one_input, max_len = TARGETS[name].load()

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.binary(max_size=min(max_len, 2048)))
    def run(data: bytes) -> None:
        one_input(data)

    run()
