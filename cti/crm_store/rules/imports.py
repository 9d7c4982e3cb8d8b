"""Contact import rules: what a validated CSV row is, and which rows are duplicates.

A row is a duplicate when one of its phones (E.164) or e-mails is in the store already or
in an earlier row of the file; it is reported with the first key that clashed and skipped,
and the rows after it are checked against the ones kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass
class ContactRow:
    """A validated CSV row, ready to insert."""

    line: int
    first: str
    last: str
    company: str
    emails: list[str]
    phones: list[tuple[str, str, str]]  # raw, e164, kind
    notes: str | None
    tags: list[str]
    time_zone: str | None
    do_not_call: bool

    def dedupe_keys(self) -> list[tuple[str, str]]:
        return [("phone", p[1]) for p in self.phones] + [("email", e) for e in self.emails]


def split_dupes(
    rows: Sequence[ContactRow], taken: dict[str, str]
) -> tuple[list[ContactRow], list[tuple[int, str, str]]]:
    """Rows whose phones/e-mails are new, and a (line, field, reason) for each that is not.

    ``taken``: key → who has it (``already in the store (contact 7)``); the kept rows' keys
    are added to it (``same as line 12``).
    """
    good: list[ContactRow] = []
    dupes: list[tuple[int, str, str]] = []
    for row in rows:
        keys = row.dedupe_keys()
        hit = next(((kind, key) for kind, key in keys if key in taken), None)
        if hit is not None:
            dupes.append((row.line, hit[0], f"duplicate {hit[1]}: {taken[hit[1]]}"))
            continue
        good.append(row)
        for _, key in keys:
            taken[key] = f"same as line {row.line}"
    return good, dupes
