"""The exception tree drawn in emvcore/errors.py's docstring is the real class hierarchy."""

from __future__ import annotations

import re

import emvcore.errors as errors


def drawn_tree() -> dict[str, str]:
    """``{class name: parent name}`` from the box drawing (indent = depth)."""
    doc = errors.__doc__ or ""
    lines = [line for line in doc.splitlines() if re.match(r"^\s+(EmvError|[│ ]*[├└]── )", line)]
    parents: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    for line in lines:
        match = re.match(r"^(\s*(?:[│ ]*[├└]── )?)(\w+)", line)
        assert match, line
        depth, name = len(match.group(1)), match.group(2)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            parents[name] = stack[-1][1]
        stack.append((depth, name))
    return parents


def real_tree() -> dict[str, str]:
    found: dict[str, str] = {}
    pending = [errors.EmvError]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            if sub.__module__ == errors.__name__:
                found[sub.__name__] = cls.__name__
                pending.append(sub)
    return found


def test_drawing_matches_the_hierarchy() -> None:
    assert drawn_tree() == real_tree()


def test_every_error_class_is_drawn() -> None:
    classes = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.EmvError)
    }
    assert classes == set(drawn_tree()) | {"EmvError"}
