"""Contact import rules: what a validated CSV row is, and which rows are duplicates.

A duplicate is the same person: the same normalised name with one of the same phones
(E.164), or one of the same e-mails, in the store already or in an earlier row of the file.
Two people who share a number (an office line, a family) are not duplicates: both are
imported, and the caller lookup answers "multiple" for that number. A duplicate is reported
with the first key that clashed and skipped; the rows after it are checked against the ones
kept.
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
        """(field, key): one person key per phone (name + number), one per e-mail."""
        name = person_name(self.first, self.last)
        people = [("phone", person_key(name, p[1])) for p in self.phones]
        return people + [("email", e) for e in self.emails]


def person_name(first: str, last: str) -> str:
    """The name two rows must share to be one person: lower-cased, spaces collapsed (the
    contacts' indexed ``name_key``)."""
    return " ".join(f"{first} {last}".split()).lower()


def person_key(name: str, e164: str) -> str:
    """The key of "this person at this number" (``ivan petrov|+74951234567``)."""
    return f"{name}|{e164}"


def shown_key(key: str) -> str:
    """What a report says of a key: the number of a person key, else the e-mail."""
    return key.rpartition("|")[2]


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
            dupes.append((row.line, hit[0], f"duplicate {shown_key(hit[1])}: {taken[hit[1]]}"))
            continue
        good.append(row)
        for _, key in keys:
            taken[key] = f"same as line {row.line}"
    return good, dupes
