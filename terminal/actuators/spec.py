"""Parsing of actuator spec options: ``BACKEND:TARGET?units=D1,D2&option=value``.

The query part follows RFC 3986 section 3.4 and is decoded with :func:`urllib.parse.parse_qs`
(so ``%2C`` and friends work); ``units`` is a comma-separated list of unit ids.

>>> options("units=D1,D2&baud=9600")
{'units': 'D1,D2', 'baud': '9600'}
>>> unit_list("D1, D2,,D3")
('D1', 'D2', 'D3')
"""

from __future__ import annotations

from urllib.parse import parse_qs

from terminal.errors import ActuatorUnavailableError


def options(query: str, allowed: frozenset[str] = frozenset()) -> dict[str, str]:
    """The ``name=value`` options of a spec's query (each given once)."""
    parsed = parse_qs(query, keep_blank_values=True, strict_parsing=False)
    result: dict[str, str] = {}
    for name, values in parsed.items():
        if allowed and name not in allowed:
            raise ActuatorUnavailableError(
                f"unknown actuator option {name!r} (known: {', '.join(sorted(allowed))})"
            )
        if len(values) != 1:
            raise ActuatorUnavailableError(f"actuator option {name!r} given more than once")
        result[name] = values[0]
    return result


def unit_list(text: str) -> tuple[str, ...]:
    """Unit ids from ``D1,D2``: stripped, empty ones dropped, order kept."""
    return tuple(unit.strip() for unit in text.split(",") if unit.strip())


def number(opts: dict[str, str], name: str, default: float) -> float:
    """A positive number option (a timeout, a baud rate)."""
    if name not in opts:
        return default
    try:
        value = float(opts[name])
    except ValueError:
        raise ActuatorUnavailableError(
            f"actuator option {name}={opts[name]!r} is not a number"
        ) from None
    if value <= 0:
        raise ActuatorUnavailableError(f"actuator option {name} must be positive")
    return value
