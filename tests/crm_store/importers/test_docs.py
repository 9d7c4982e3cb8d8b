"""docs/import.md lists every field the importer takes, with exactly its aliases."""

from __future__ import annotations

import re
from pathlib import Path

from cti.crm_store.importers.contacts_csv import ALIASES, FIELDS

DOC = Path(__file__).resolve().parents[3] / "docs" / "import.md"


def documented() -> dict[str, set[str]]:
    """field → aliases, from the table of docs/import.md."""
    table: dict[str, set[str]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) == 3 and re.fullmatch(r"`\w+`", cells[0]):
            table[cells[0].strip("`")] = set(re.findall(r"`(\w+)`", cells[1]))
    return table


def test_the_documented_columns_and_aliases_are_the_importers() -> None:
    table = documented()
    assert list(table) == list(FIELDS)
    aliases = {field: {a for a, f in ALIASES.items() if f == field} for field in FIELDS}
    assert table == aliases
