"""A dial-list row as the store takes it, and a row the import turned down."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LeadRow:
    """A checked row: E.164 ``phone`` and what the file says about the person."""

    line: int
    phone: str
    first_name: str = ""
    last_name: str = ""
    email: str | None = None
    time_zone: str | None = None


@dataclass(frozen=True, slots=True)
class RowProblem:
    """Why the row on ``line`` was not imported (``field``: the column, ``-`` the row)."""

    line: int
    field: str
    reason: str
