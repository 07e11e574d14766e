"""One pagination contract for every list endpoint of the acquirer.

A list is read in pages, in the order of its key (an id, or a PAR):

- query ``limit``: at most that many items, ``1`` to :data:`MAX_LIMIT` (outside: ``422``);
  the default is the route's.
- query ``cursor``: the ``next_cursor`` of the previous page; omit it for the first page.
- response ``{"items": [...], "next_cursor": "..." | null}``: ``next_cursor`` is ``null``
  exactly when no item follows this page.

:func:`read_page` asks the store for ``limit + 1`` rows, so a last page that is exactly full
answers ``null`` rather than a cursor to an empty page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

MAX_LIMIT = 500
CURSOR_PATTERN = r"^[A-Za-z0-9_]{1,64}$"

Cursor = Annotated[
    str | None,
    Query(pattern=CURSOR_PATTERN, description="next_cursor of the previous page (omit: first)"),
]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size, 1-{MAX_LIMIT}")]

Row = TypeVar("Row")
Item = TypeVar("Item")


class Page(BaseModel, Generic[Item]):
    """One page of a list; pass ``next_cursor`` as ``cursor`` for the next one."""

    items: list[Item]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null: last")


def read_page(
    fetch: Callable[..., Sequence[Row]],
    *,
    cursor: str | None,
    limit: int,
    render: Callable[[Row], dict[str, Any]],
    key: Callable[[Row], str],
) -> dict[str, Any]:
    """The page after ``cursor``: ``fetch(after=, limit=)`` is asked for one row more than
    ``limit``, and ``next_cursor`` is the ``key`` of the last item only if that row exists.

    >>> rows = ["a", "b", "c", "d"]
    >>> def fetch(after, limit):
    ...     return [r for r in rows if after is None or r > after][:limit]
    >>> read_page(fetch, cursor=None, limit=2, render=lambda r: {"id": r}, key=str)
    {'items': [{'id': 'a'}, {'id': 'b'}], 'next_cursor': 'b'}
    >>> read_page(fetch, cursor="b", limit=2, render=lambda r: {"id": r}, key=str)
    {'items': [{'id': 'c'}, {'id': 'd'}], 'next_cursor': None}
    """
    rows = fetch(after=cursor, limit=limit + 1)
    items = [render(row) for row in rows[:limit]]
    return {"items": items, "next_cursor": key(rows[limit - 1]) if len(rows) > limit else None}
