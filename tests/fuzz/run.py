"""Run one fuzz target under atheris (libFuzzer), coverage-guided on emvcore and the kernel.

Usage (from the repository root)::

    python -m tests.fuzz.run TARGET [--seconds S] [--runs N] [--work DIR] [--crashes DIR]
    python -m tests.fuzz.run TARGET CRASH_FILE...     # replay inputs, e.g. a crash, verbosely

The target's regression corpus (``tests/fuzz/corpus/TARGET``) seeds the run and is never
written; inputs the run finds interesting go to ``--work`` (default
``build/fuzz/corpus/TARGET``); a crash or a broken property is written to ``--crashes``
(default ``build/fuzz/crashes/TARGET/``) as ``crash-<sha1>`` (``timeout-``/``oom-`` for a
hang or a blow-up) and the process exits non-zero. To keep a finding, minimize it
(``-minimize_crash=1`` with libFuzzer flags after ``--``) and copy it into the corpus.

Only the modules imported inside ``atheris.instrument_imports()`` give coverage feedback:
the harness imports emvcore and terminal there, so they must not be imported before.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from tests.fuzz.targets import TARGETS

ROOT = Path(__file__).resolve().parents[2]
#: Packages whose code feeds coverage back to the fuzzer.
INSTRUMENTED = ["emvcore", "terminal", "tests.fuzz"]
#: Seconds one input may take before libFuzzer calls it a hang.
TIMEOUT = 20


def _parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz.run", description=__doc__)
    parser.add_argument("target", choices=sorted(TARGETS))
    parser.add_argument("inputs", nargs="*", type=Path, help="replay these inputs instead")
    parser.add_argument("--seconds", type=int, default=60, help="stop after this long")
    parser.add_argument("--runs", type=int, default=0, help="stop after this many inputs")
    parser.add_argument("--work", type=Path, help="where new interesting inputs go")
    parser.add_argument("--crashes", type=Path, help="where a crashing input is written")
    if "--" in argv:
        cut = argv.index("--")
        return parser.parse_args(argv[:cut]), argv[cut + 1 :]
    return parser.parse_args(argv), []


def libfuzzer_argv(args: argparse.Namespace, max_len: int, extra: list[str]) -> list[str]:
    """The libFuzzer command line atheris is set up with."""
    target = TARGETS[args.target]
    crashes = args.crashes or ROOT / "build" / "fuzz" / "crashes" / args.target
    crashes.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.argv[0],
        f"-max_len={max_len}",
        f"-timeout={TIMEOUT}",
        f"-rss_limit_mb={2048}",
        f"-artifact_prefix={crashes}/",
        "-print_final_stats=1",
    ]
    if args.inputs:
        return [*argv, *extra, *map(str, args.inputs)]
    work = args.work or ROOT / "build" / "fuzz" / "corpus" / args.target
    work.mkdir(parents=True, exist_ok=True)
    argv.append(f"-max_total_time={args.seconds}")
    if args.runs:
        argv.append(f"-runs={args.runs}")
    return [*argv, *extra, str(work), str(target.corpus)]


def main(argv: list[str] | None = None) -> None:
    """Set atheris up on the target's harness and fuzz (or replay) until a bound is hit."""
    import atheris

    args, extra = _parse(sys.argv[1:] if argv is None else argv)
    with atheris.instrument_imports(include=INSTRUMENTED):
        one_input: Callable[[bytes], None]
        one_input, max_len = TARGETS[args.target].load()
    atheris.Setup(libfuzzer_argv(args, max_len, extra), one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
