"""Quoting user input in error messages: a short prefix only, so a huge value cannot make a huge
message (or cost much to render)."""

from __future__ import annotations

import reprlib

__all__ = ["QUOTE_LIMIT", "quote", "shorten"]

QUOTE_LIMIT = 40
"""Most characters of a value's `repr` that an error message quotes; longer ones end in `…`."""

_BOUNDED = reprlib.Repr()
_BOUNDED.maxlevel, _BOUNDED.maxlist, _BOUNDED.maxdict, _BOUNDED.maxtuple = 2, 4, 4, 4
_BOUNDED.maxset, _BOUNDED.maxfrozenset, _BOUNDED.maxstring = 4, 4, QUOTE_LIMIT + 2
_BOUNDED.maxother = _BOUNDED.maxlong = QUOTE_LIMIT + 2


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """`repr(value)`, cut to `limit` characters plus `…` when longer. Strings are cut before
    `repr`, containers are rendered a few items deep, so the cost is bounded too."""
    if isinstance(value, str):
        text = repr(value[: limit + 1])
        return text if len(value) <= limit and len(text) <= limit else text[:limit] + "…"
    text = _BOUNDED.repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def shorten(text: str, limit: int = QUOTE_LIMIT) -> str:
    """`text` itself (no quotes), cut to `limit` characters plus `…` when longer."""
    return text if len(text) <= limit else text[:limit] + "…"
