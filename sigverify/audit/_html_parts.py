"""Pieces of the HTML audit report: escaping, defensive reads of the document, tables.

Every value that goes into the page passes :func:`e` (HTML-escaped, quotes too)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from html import escape
from typing import Any

Document = Mapping[str, Any]
NO_TAG = "(no tag)"


def e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def as_int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def yes_no(value: Any, *, bad_when: bool | None = None) -> str:
    if value is None:
        return "–"
    word = "yes" if value else "no"
    return f'<span class="bad">{word}</span>' if bool(value) is bad_when else word


def table(
    table_id: str,
    headers: Sequence[tuple[str, bool]],
    rows: Iterable[str],
    *,
    sortable: bool = True,
    if_empty: str | None = None,
) -> Iterator[str]:
    """A table: ``headers`` are ``(label, numeric)``; ``rows`` are ready ``<tr>`` strings.
    With ``if_empty``, no rows give that sentence instead of an empty table."""
    if if_empty is not None:
        rows = list(rows)
        if not rows:
            yield f'<p class="note" id="{e(table_id)}">{e(if_empty)}</p>'
            return
    cls = ' class="sortable"' if sortable else ""
    numeric_class = ' class="num"'
    cells = "".join(
        f'<th scope="col"{numeric_class if numeric else ""}>'
        + (f'<button type="button">{e(label)}</button>' if sortable else e(label))
        + "</th>"
        for label, numeric in headers
    )
    yield f'<div class="wide"><table id="{e(table_id)}"{cls}><thead><tr>{cells}</tr></thead>'
    yield "<tbody>"
    yield from rows
    yield "</tbody></table></div>"


def tag_lines(tags: Any) -> str:
    """Tags one per line, or "(no tag)"."""
    return "<br>".join(e(tag) for tag in as_list(tags)) or NO_TAG


def tags_cell(tags: Any) -> str:
    return f'<td class="tags">{tag_lines(tags)}</td>'


def td(value: object, *, cls: str = "", sort: object | None = None) -> str:
    attributes = f' class="{cls}"' if cls else ""
    if sort is not None:
        attributes += f' data-sort="{e(sort)}"'
    return f"<td{attributes}>{e(value)}</td>"


def num(value: object) -> str:
    return td(value, cls="num", sort=value if value is not None else -1)


def grouped(fingerprint: Any) -> str:
    """A fingerprint in groups of four, as gpg prints it (so it wraps)."""
    text = str(fingerprint or "")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def date(value: Any, missing: str) -> str:
    """The day of an RFC 3339 time (the whole time is the tooltip); sorts by the time."""
    if not value:
        return td(missing, sort="9999")
    text = str(value)
    return f'<td title="{e(text)}" data-sort="{e(text)}">{e(text[:10])}</td>'


def sort_left(left: Any) -> int:
    return left if isinstance(left, int) and not isinstance(left, bool) else 10**9
