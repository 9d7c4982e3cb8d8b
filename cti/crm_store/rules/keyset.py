"""Keyset pages: the opaque cursor that says where the next page starts.

A page ends on a row whose sort key is ``(value, id)``; the next page is the rows strictly
after it in the listing's order, found through the index (no ``OFFSET``: page 10,000 costs
what page 1 costs, and rows written meanwhile neither repeat nor skip older ones).

The cursor is ``base64url(JSON)`` of that key plus a check: the first 16 hex digits of the
SHA-256 of the key and of the listing's *scope* (the sort and every filter, see
:func:`scope_of`). A cursor that was altered, cut, or made for another listing (other
filters, other sort) fails the check and is refused naming ``cursor``. The check is not a
secret: a client able to forge one still only picks a starting point inside the rows its
own visibility gives it, which the server applies to every page anyway.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cti.crm_store.timeutil import as_utc

#: longest cursor text accepted (a key is a time or a number, an id and a rank)
MAX_CURSOR = 400

SortValue = datetime | float | None


@dataclass(frozen=True, slots=True)
class Position:
    """The sort key of the last row of a page: its sort value (None: the rows without one,
    which come last), an optional rank (a timeline's kind) and the row's id."""

    value: SortValue
    id: int
    rank: int = 0


def scope_of(parts: Any) -> str:
    """A digest of what a listing is (sort and filters, JSON-able): cursors are bound to it."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _check(scope: str, kind: str, value: Any, rank: int, row_id: int) -> str:
    text = f"{scope}|{kind}|{value}|{rank}|{row_id}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode(position: Position, scope: str) -> str:
    """The cursor text of ``position`` within the listing ``scope``."""
    value = position.value
    if isinstance(value, datetime):
        kind, shown = "t", as_utc(value).isoformat()
    elif value is None:
        kind, shown = "n", None
    else:
        kind, shown = "f", repr(float(value))
    check = _check(scope, kind, shown, position.rank, position.id)
    payload = [kind, shown, position.rank, position.id, check]
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(text: str, scope: str) -> Position:
    """The position ``text`` names; :class:`ValueError` when it is not one this listing
    made (malformed, altered, or from another listing)."""
    if not text or len(text) > MAX_CURSOR:
        raise ValueError("is not a cursor of this listing")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        kind, shown, rank, row_id, check = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise ValueError("is not a cursor of this listing") from None
    valid = (
        kind in ("t", "f", "n")
        and isinstance(rank, int)
        and isinstance(row_id, int)
        and isinstance(check, str)
        and (shown is None) == (kind == "n")
        and (shown is None or isinstance(shown, str))
    )
    if not valid or check != _check(scope, kind, shown, rank, row_id):
        raise ValueError("is not a cursor of this listing (altered, or for other filters)")
    try:
        value: SortValue = (
            None
            if shown is None
            else as_utc(datetime.fromisoformat(shown))
            if kind == "t"
            else float(shown)
        )
    except ValueError:
        raise ValueError("is not a cursor of this listing") from None
    return Position(value, row_id, rank)
