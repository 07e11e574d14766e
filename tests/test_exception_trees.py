"""Every package's drawn exception tree is its real class hierarchy, and its __init__ exports it.

The tree is drawn in the docstring of the package's errors module (STYLE.md "One exception
tree per package"): a root line whose first word is the root class, then one line per class
with ``├──`` or ``└──``; the connector's column gives the depth and the first word after it
the class name. The code side is every subclass of the root defined in the package, with
every module of the package imported (a module whose optional library is missing is skipped).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from types import ModuleType

import pytest

CONNECTORS = ("├──", "└──")
#: package -> its errors module.
PACKAGES = {
    "emvcore": "emvcore.errors",
    "terminal": "terminal.errors",
    "card_emulation": "card_emulation.errors",
    "acquirer": "acquirer.errors",
}
PARAMS = list(PACKAGES)


class MalformedDrawing(AssertionError):
    """A drawing that is not a tree: a class after a closing corner, a class twice, no root."""


@dataclass(frozen=True)
class Drawn:
    """One class in a drawing: its name, its parent's (None for the root), its line."""

    name: str
    parent: str | None
    line: int


def parse_tree(doc: str) -> list[Drawn]:
    """The classes of the tree drawn in ``doc``, root first, in drawing order."""
    lines = doc.splitlines()
    first = next((i for i, line in enumerate(lines) if _column(line) is not None), None)
    if first is None:
        raise MalformedDrawing("no line with ├── or └──")
    above = [i for i in range(first) if lines[i].strip()]
    if not above:
        raise MalformedDrawing("no root line above the first branch")
    root_line = above[-1]
    root = lines[root_line].split()[0]
    if not root.isidentifier():
        raise MalformedDrawing(f"line {root_line + 1}: root {root!r} is not a class name")
    drawn = [Drawn(root, None, root_line + 1)]
    open_branches: list[tuple[int, str]] = [(-1, root)]  # (connector column, class name)
    closed: set[tuple[str, int]] = set()  # (parent, column) whose last child was drawn
    for number, line in enumerate(lines[first:], first + 1):
        column = _column(line)
        if column is None:
            if line.strip() and set(line.strip()) <= {"│", " "}:
                continue  # a line of bars only
            break
        if set(line[:column]) - {" ", "│"}:
            raise MalformedDrawing(f"line {number}: text before the connector")
        words = line[column + 3 :].split()
        if not words or not words[0].isidentifier():
            raise MalformedDrawing(f"line {number}: no class name after the connector")
        while open_branches[-1][0] >= column:
            open_branches.pop()
        parent = open_branches[-1][1]
        if (parent, column) in closed:
            raise MalformedDrawing(
                f"line {number}: {words[0]} drawn after the closing └── of {parent}'s children"
            )
        if line[column] == "└":
            closed.add((parent, column))
        drawn.append(Drawn(words[0], parent, number))
        open_branches.append((column, words[0]))
    names = [entry.name for entry in drawn]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise MalformedDrawing(f"drawn more than once: {', '.join(twice)}")
    return drawn


def _column(line: str) -> int | None:
    found = [line.find(connector) for connector in CONNECTORS if connector in line]
    return min(found) if found else None


def import_everything(package: ModuleType) -> None:
    """Import every module of ``package``; skip those whose third-party library is missing."""
    roots = set(PACKAGES)
    for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
        if module.name.rpartition(".")[2] == "__main__":
            continue  # ``python -m`` entry points run their program when imported
        try:
            importlib.import_module(module.name)
        except ImportError as exc:
            if exc.name is None or exc.name.partition(".")[0] in roots:
                raise


def classes_in_code(package_name: str, root: type[BaseException]) -> dict[str, type]:
    """Every subclass of ``root`` defined in the package, by name (root included)."""
    found: dict[str, type] = {}
    todo: list[type] = [root]
    while todo:
        cls = todo.pop()
        module = cls.__module__
        if module != package_name and not module.startswith(f"{package_name}."):
            continue
        if cls.__name__ in found and found[cls.__name__] is not cls:
            raise AssertionError(f"two classes named {cls.__name__} in {package_name}")
        found[cls.__name__] = cls
        todo.extend(cls.__subclasses__())
    return found


def drawn_and_coded(package_name: str) -> tuple[list[Drawn], dict[str, type]]:
    package = importlib.import_module(package_name)
    errors = importlib.import_module(PACKAGES[package_name])
    drawn = parse_tree(errors.__doc__ or "")
    import_everything(package)
    root = getattr(errors, drawn[0].name, None)
    assert isinstance(root, type) and issubclass(root, BaseException), (
        f"the drawn root {drawn[0].name} is no exception class of {errors.__name__}"
    )
    return drawn, classes_in_code(package_name, root)


@pytest.mark.parametrize("package_name", PARAMS)
def test_the_drawing_is_the_class_hierarchy(package_name: str) -> None:
    drawn, code = drawn_and_coded(package_name)
    missing = [entry.name for entry in drawn if entry.name not in code]
    assert not missing, f"drawn but not in the code: {missing}"
    for entry in drawn[1:]:
        assert entry.parent is not None
        cls, parent = code[entry.name], code[entry.parent]
        bases = [base for base in cls.__bases__ if issubclass(base, code[drawn[0].name])]
        assert bases == [parent], (
            f"line {entry.line}: {entry.name} is drawn under {entry.parent}, "
            f"its base in code is {', '.join(base.__name__ for base in bases)}"
        )
    undrawn = sorted(set(code) - {entry.name for entry in drawn})
    assert not undrawn, f"in the code but not drawn: {undrawn}"


def root_class(errors: ModuleType) -> type[BaseException]:
    """The one exception class of ``errors`` whose bases all come from outside its package."""
    package_name = errors.__name__.partition(".")[0]
    roots = [
        cls
        for cls in vars(errors).values()
        if isinstance(cls, type)
        and issubclass(cls, BaseException)
        and cls.__module__ == errors.__name__
        and not any(base.__module__.startswith(package_name) for base in cls.__bases__)
    ]
    assert len(roots) == 1, f"{errors.__name__} has roots {[cls.__name__ for cls in roots]}"
    return roots[0]


@pytest.mark.parametrize("package_name", PARAMS)
def test_the_package_exports_every_public_error(package_name: str) -> None:
    # Independent of the drawing: the classes are found from the root class in code.
    package = importlib.import_module(package_name)
    import_everything(package)
    code = classes_in_code(package_name, root_class(importlib.import_module(PACKAGES[package_name])))
    public = sorted(name for name in code if not name.startswith("_"))
    not_exported = [
        name
        for name in public
        if getattr(package, name, None) is not code[name]
        or name not in getattr(package, "__all__", ())
    ]
    assert not not_exported, f"{package_name} does not export: {not_exported}"


# -- the checker itself -------------------------------------------------------------------------

GOOD = """The tree::

    Base
     ├── A          the first
     │    └── A1        under A
     └── B          the last
          ├── B1
          └── B2

Prose after the drawing.
"""


def test_a_good_drawing_parses() -> None:
    assert [(entry.name, entry.parent) for entry in parse_tree(GOOD)] == [
        ("Base", None),
        ("A", "Base"),
        ("A1", "A"),
        ("B", "Base"),
        ("B1", "B"),
        ("B2", "B"),
    ]


@pytest.mark.parametrize(
    ("drawing", "message"),
    [
        (
            "    Base\n     ├── A\n     └── B\n     ├── C\n",
            "line 4: C drawn after the closing └── of Base's children",
        ),
        (
            "    Base\n     ├── A\n     │    └── A1\n     │    ├── A2\n     └── B\n",
            "line 4: A2 drawn after the closing └── of A's children",
        ),
        ("    Base\n     ├── A\n     │    └── B\n     └── B\n", "drawn more than once: B"),
        ("    Base\n     ├── 2x\n", "line 2: no class name after the connector"),
        ("no tree here\n", "no line with ├── or └──"),
    ],
)
def test_a_malformed_drawing_is_refused(drawing: str, message: str) -> None:
    with pytest.raises(MalformedDrawing) as exc:
        parse_tree(drawing)
    assert str(exc.value) == message
