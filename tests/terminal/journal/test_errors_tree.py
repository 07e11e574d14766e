"""The drawing of :mod:`terminal.errors` is the real class hierarchy (journal errors included)."""

from __future__ import annotations

import inspect
import re

import terminal.errors as errors

_LINE = re.compile(r"^(?P<indent>[ │├└─]*)(?P<name>[A-Z]\w+)(\s|$)")


def drawn_parents() -> dict[str, str | None]:
    """Class name -> the name of its parent in the docstring drawing."""
    doc = errors.__doc__ or ""
    block = doc.split("::", 1)[1].split("\n\n", 2)[1]
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in block.splitlines():
        match = _LINE.match(line)
        assert match, f"not a tree line: {line!r}"
        column = len(match["indent"])
        while stack and stack[-1][0] >= column:
            stack.pop()
        parents[match["name"]] = stack[-1][1] if stack else None
        stack.append((column, match["name"]))
    return parents


def real_parents() -> dict[str, str | None]:
    classes = {name: cls for name, cls in vars(errors).items()
               if inspect.isclass(cls) and issubclass(cls, Exception)
               and cls.__module__ == errors.__name__}  # fmt: skip
    return {name: (cls.__base__.__name__ if cls.__base__.__name__ in classes else None)
            for name, cls in classes.items()}  # fmt: skip


def test_the_drawing_is_the_class_hierarchy() -> None:
    assert drawn_parents() == real_parents()


def test_the_journal_errors_are_drawn() -> None:
    drawn = drawn_parents()
    for name in ("JournalUnavailableError", "IllegalTransitionError", "UnknownRecordError",
                 "CardDataRefusedError", "StatusUnavailableError"):  # fmt: skip
        assert drawn[name] == "JournalError"
