"""A client's JSON, bounded before it is parsed: its size, and how deep it nests.

A parser recurses once per level of ``[``/``{``: 100 000 of them end in ``RecursionError``
(a 500 and a traceback) in :func:`json.loads`, and cost time in any parser. No body the
API takes nests deeper than a few levels, so :data:`MAX_DEPTH` is refused up front by a
linear scan of the bytes (brackets inside strings are text, not nesting).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic_core import from_json

#: the largest body read (bytes): a 50 000-character note written as ``\\uXXXX`` escapes fits
MAX_BODY = 1024 * 1024
#: the deepest nesting of arrays/objects parsed
MAX_DEPTH = 32

# a string (possessive, so an unterminated one runs to the end in linear time) or a bracket
_TOKEN = re.compile(rb'"(?:[^"\\]++|\\.)*+"?|[\[{]|[\]}]')


def too_deep(raw: bytes, limit: int = MAX_DEPTH) -> bool:
    """True when arrays/objects in ``raw`` nest deeper than ``limit`` levels."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    for match in _TOKEN.finditer(raw):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False


def depth_message(limit: int = MAX_DEPTH) -> str:
    return f"JSON nested deeper than {limit} levels"


def nul_field(raw: bytes) -> str | None:
    """The path (``phones.0.number``) of a string in ``raw`` that holds a NUL character
    (PostgreSQL refuses them in text), or None. Parses only a body that spells one."""
    if b"\\u0000" not in raw:
        return None
    try:
        return _nul_in(from_json(raw), "")
    except ValueError:
        return None  # malformed: the parse proper says so


def _nul_in(value: Any, where: str) -> str | None:
    if isinstance(value, str):
        return (where or "body") if "\x00" in value else None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _nul_in(item, f"{where}.{key}" if where else str(key))
        if found is not None:
            return found
    return None
