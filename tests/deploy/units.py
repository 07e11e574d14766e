"""Read systemd unit files and environment files the way systemd does, for the deploy tests.

systemd.syntax(7): ``[Section]`` headers, ``Key=value`` lines, ``#`` and ``;`` comments, a
trailing backslash continuing a line, and keys that may repeat (each occurrence appends to
the list; an empty assignment resets it). configparser refuses repeated keys and knows
none of the resetting, so this is the few lines of systemd's own rules the tests need.
"""

from __future__ import annotations

import re
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNITS = ("tap-acquirer.service", "tap-terminal.service")

Unit = dict[str, dict[str, list[str]]]


class UnitSyntaxError(Exception):
    """A line systemd would not read as a section, an assignment or a comment."""


def parse_unit(text: str) -> Unit:
    """``{section: {key: [values in order]}}``; an empty assignment clears earlier values.

    >>> unit = parse_unit("[Service]\\nA=1\\nA=2 \\\\\\n  3\\nB=\\n# c\\n")
    >>> unit["Service"]["A"], unit["Service"]["B"]
    (['1', '2 3'], [])
    """
    unit: Unit = {}
    section: dict[str, list[str]] | None = None
    logical: list[str] = []
    lines: list[str] = []
    for raw in text.splitlines():
        stripped = raw.strip()
        if not logical and (not stripped or stripped[0] in "#;"):
            continue
        if stripped.endswith("\\"):
            logical.append(stripped[:-1].strip())
            continue
        logical.append(stripped)
        lines.append(" ".join(part for part in logical if part))
        logical = []
    if logical:
        lines.append(" ".join(logical))
    for line in lines:
        header = re.fullmatch(r"\[([A-Za-z0-9-]+)\]", line)
        if header:
            section = unit.setdefault(header.group(1), {})
            continue
        key, sep, value = line.partition("=")
        if not sep or section is None or not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", key.strip()):
            raise UnitSyntaxError(f"not an assignment inside a section: {line!r}")
        values = section.setdefault(key.strip(), [])
        if value.strip():
            values.append(value.strip())
        else:
            values.clear()
    return unit


def read_unit(name: str) -> Unit:
    return parse_unit((DEPLOY / name).read_text(encoding="utf-8"))


def parse_env_file(text: str) -> dict[str, str]:
    """``KEY=value`` lines of an EnvironmentFile= (comments, even commented-out keys, skipped).

    >>> parse_env_file("# A=1\\nB=2\\n\\nC=\\n")
    {'B': '2', 'C': ''}
    """
    found: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        key, sep, value = line.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise UnitSyntaxError(f"not KEY=value: {line!r}")
        found[key] = value
    return found


def commented_env_keys(text: str) -> set[str]:
    """The keys an example environment file documents, commented out or set."""
    return set(re.findall(r"^[#;]?\s*([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))
