"""Each package's exception tree, drawn in its errors module docstring, is the real one."""

from __future__ import annotations

import re
from types import ModuleType

import pytest

import card_emulation.errors
import emvcore.errors

_LINE = re.compile(r"^(?P<indent>[ │├└─]*)(?P<name>[A-Z][A-Za-z]+Error)\b")


def drawn_tree(module: ModuleType) -> dict[str, str | None]:
    """Class name -> parent name, from the box drawing (the column of a name is its depth)."""
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in (module.__doc__ or "").splitlines():
        match = _LINE.match(line)
        if match is None:
            continue
        column = len(match["indent"])
        while stack and stack[-1][0] >= column:
            stack.pop()
        parents[match["name"]] = stack[-1][1] if stack else None
        stack.append((column, match["name"]))
    return parents


@pytest.mark.parametrize("module", [emvcore.errors, card_emulation.errors], ids=lambda m: m.__name__)
def test_the_drawing_is_the_class_hierarchy(module: ModuleType) -> None:
    drawn = drawn_tree(module)
    real = {
        name: (obj.__base__.__name__ if obj.__base__ is not Exception else None)
        for name, obj in vars(module).items()
        if isinstance(obj, type) and issubclass(obj, Exception) and obj.__module__ == module.__name__
    }
    assert drawn == real
