"""The fuzz targets by name: one harness module each, imported only when asked for.

A harness module defines ``MAX_LEN`` (the longest input worth trying: it bounds every
execution, so nothing can hang on size) and ``one_input(data: bytes) -> None``, which
feeds the bytes to the code under test and checks its properties. A broken property
raises :class:`~tests.fuzz.properties.PropertyViolation`; an exception that is not one of
the target's own error types simply escapes. Either is a crash for atheris and a failure
for the corpus replay.

This module imports nothing of the code under test, so that :mod:`tests.fuzz.run` can
import the target inside ``atheris.instrument_imports()`` and get coverage feedback from
emvcore and the kernel.

Planned: **ndef**, the NDEF message and Type 4 Tag file parser of Tap! mode (DESIGN.md,
"Tap! mode: the terminal is the tag"). It does not exist yet; when it lands, add
``targets/ndef.py`` (properties: parse -> encode -> parse is stable, only its own error
type, bounded record count), a line in :data:`TARGETS` and seeds in ``corpus/ndef/``;
``tests/fuzz/test_corpus.py`` then replays it and ``test_bounded.py`` fuzzes it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CORPUS_ROOT", "PLANNED", "TARGETS", "Target"]

#: The regression corpus kept in the repository, one folder per target.
CORPUS_ROOT = Path(__file__).resolve().parent.parent / "corpus"


@dataclass(frozen=True, slots=True)
class Target:
    """One fuzz target: its name, harness module and what it exercises."""

    name: str
    module: str
    what: str

    def load(self) -> tuple[Callable[[bytes], None], int]:
        """Import the harness: its ``one_input`` and ``MAX_LEN``."""
        harness = importlib.import_module(self.module)
        return harness.one_input, int(harness.MAX_LEN)

    @property
    def corpus(self) -> Path:
        """This target's regression corpus folder."""
        return CORPUS_ROOT / self.name


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("tlv", "tests.fuzz.targets.tlv", "BER-TLV decode/encode/walk (emvcore.tlv)"),
        Target("dol", "tests.fuzz.targets.dol", "DOL parse/build/split (emvcore.dol)"),
        Target("apdu", "tests.fuzz.targets.apdu", "command/response APDUs (emvcore.apdu)"),
        Target("oda", "tests.fuzz.targets.oda", "certificate and SDAD recovery (emvcore.oda)"),
        Target("kernel", "tests.fuzz.targets.kernel", "the kernel on mutated card answers"),
    )
}

#: Targets whose code does not exist yet, and why (see the module docstring).
PLANNED: dict[str, str] = {
    "ndef": "Tap! mode's NDEF parser is not written yet (DESIGN.md, Tap! mode)",
}
