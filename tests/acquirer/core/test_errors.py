"""The acquirer's exception tree: the drawing in acquirer.errors is the class hierarchy, and the
package exports every error."""

from __future__ import annotations

import importlib
import inspect
import itertools
import pkgutil
import re

import acquirer
from acquirer import errors

_LINE = re.compile(r"^(?P<indent>(?:[│ ]    )*)[├└]── (?P<name>\w+)")


def _drawn() -> dict[str, str]:
    """Each drawn class and the class drawn as its parent."""
    doc = errors.__doc__ or ""
    lines = [line[4:] for line in doc.splitlines() if line.startswith("    ")]
    assert lines[0].split()[0] == "AcquirerError"
    parents = {"AcquirerError": ""}
    stack = ["AcquirerError"]
    for line in lines[1:]:
        match = _LINE.match(line)
        if match is None:
            break
        depth = len(match["indent"]) // 5 + 1
        name = match["name"]
        assert name not in parents, f"{name} is drawn twice"
        del stack[depth:]
        assert len(stack) == depth, f"{name} is drawn below a closed branch"
        parents[name] = stack[-1]
        stack.append(name)
    return parents


def _classes() -> dict[str, str]:
    for module in pkgutil.walk_packages(acquirer.__path__, "acquirer."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found: dict[str, str] = {"AcquirerError": ""}
    pending = [errors.AcquirerError]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            found[sub.__name__] = cls.__name__
            pending.append(sub)
    return found


def test_the_drawn_tree_is_the_class_hierarchy() -> None:
    assert _drawn() == _classes()


def test_no_closing_corner_is_followed_by_a_sibling() -> None:
    doc = (errors.__doc__ or "").splitlines()
    tree = [line[4:] for line in doc if line.startswith("    ") and ("── " in line)]
    for above, below in itertools.pairwise(tree):
        corner = above.find("└── ")
        if corner >= 0 and len(below) > corner:
            assert below[corner] not in "├└│", f"a branch after a closing corner: {below!r}"


def test_the_package_exports_every_error() -> None:
    public = {
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, errors.AcquirerError)
    }
    assert public <= set(acquirer.__all__)
    assert all(getattr(acquirer, name) is getattr(errors, name) for name in public)
