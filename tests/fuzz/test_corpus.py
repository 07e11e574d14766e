"""Replay every regression corpus file through its harness: fast, deterministic, no atheris."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz.targets import CORPUS_ROOT, PLANNED, TARGETS

CASES = [
    pytest.param(name, path, id=f"{name}/{path.name[:12]}")
    for name, target in sorted(TARGETS.items())
    for path in sorted(target.corpus.iterdir())
]


@pytest.mark.parametrize(("name", "path"), CASES)
def test_corpus_input_keeps_every_property(name: str, path: Path) -> None:
    one_input, max_len = TARGETS[name].load()
    data = path.read_bytes()
    assert len(data) <= max_len, f"{path} is longer than the target's MAX_LEN ({max_len})"
    one_input(data)


def test_every_target_has_seeds_and_every_corpus_folder_a_target() -> None:
    folders = {p.name for p in CORPUS_ROOT.iterdir() if p.is_dir()}
    assert folders == set(TARGETS), "a corpus folder without a target, or a target without one"
    assert all(any(t.corpus.iterdir()) for t in TARGETS.values())
    assert not set(PLANNED) & set(TARGETS), "a planned target is registered: drop it from PLANNED"


def test_corpus_files_are_small() -> None:
    sizes = [p.stat().st_size for t in TARGETS.values() for p in t.corpus.iterdir()]
    assert max(sizes) <= 4096, "keep corpus files small: minimize a finding before keeping it"
