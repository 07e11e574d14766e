"""The exception tree drawn in emvcore.errors' docstring is the real class hierarchy."""

from __future__ import annotations

import inspect
import re

import pytest

import emvcore.errors as errors_module
from emvcore.errors import EmvError

# One line of the drawing: the box prefix (its width is the depth), then the class name.
_LINE = re.compile(r"^(?P<prefix>(?:[ │├└─]*?))(?P<name>[A-Z][A-Za-z]+Error)\b")


def drawn_tree(doc: str) -> dict[str, str | None]:
    """``{class name: drawn parent name}`` read from a box drawing (root's parent is None)."""
    lines = [line for line in doc.splitlines() if re.search(r"\b[A-Z][A-Za-z]+Error\b", line)]
    drawing = [line for line in lines if line.strip().startswith(("EmvError", "├", "└", "│"))]
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []  # (column of the name, name)
    for line in drawing:
        match = _LINE.match(line)
        assert match is not None, f"unreadable drawing line {line!r}"
        column, name = len(match.group("prefix")), match.group("name")
        while stack and stack[-1][0] >= column:
            stack.pop()
        parents[name] = stack[-1][1] if stack else None
        stack.append((column, name))
    return parents


def real_tree() -> dict[str, str | None]:
    """``{class name: parent name}`` for every EmvError class defined in emvcore.errors."""
    classes = [
        cls
        for _, cls in inspect.getmembers(errors_module, inspect.isclass)
        if issubclass(cls, EmvError) and cls.__module__ == errors_module.__name__
    ]
    return {cls.__name__: None if cls is EmvError else cls.__bases__[0].__name__ for cls in classes}


def test_the_drawing_is_the_hierarchy() -> None:
    assert errors_module.__doc__ is not None
    assert drawn_tree(errors_module.__doc__) == real_tree()


def test_the_reader_sees_a_wrong_parent() -> None:
    # The check itself can fail: a drawing that hangs AmountError under the root differs.
    assert errors_module.__doc__ is not None
    wrong = errors_module.__doc__.replace("     │    └── AmountError", "     ├── AmountError")
    assert wrong != errors_module.__doc__
    assert drawn_tree(wrong) != real_tree()


@pytest.mark.parametrize("name", ["AmountError", "CurrencyError"])
def test_currency_errors_are_encoding_errors(name: str) -> None:
    # Callers catch EncodingError around to_minor_units and currency(); that keeps working.
    assert issubclass(getattr(errors_module, name), errors_module.EncodingError)
