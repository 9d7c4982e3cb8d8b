"""Import dedupe: a row whose phone or e-mail the store or an earlier row has is skipped."""

from __future__ import annotations

from cti.crm_store.rules.imports import ContactRow, split_dupes


def row(line: int, phone: str = "", email: str = "") -> ContactRow:
    phones = [(phone, phone, "mobile")] if phone else []
    return ContactRow(line, "A", "B", "", [email] if email else [], phones, None, [], None, False)


def test_rows_clashing_with_the_store_or_an_earlier_row_are_reported() -> None:
    taken = {"+71": "already in the store (contact 7)"}
    rows = [row(2, "+71"), row(3, "+72", "a@x.io"), row(4, "+73", "a@x.io"), row(5, "+74")]
    good, dupes = split_dupes(rows, taken)
    assert [r.line for r in good] == [3, 5]
    assert dupes == [
        (2, "phone", "duplicate +71: already in the store (contact 7)"),
        (4, "email", "duplicate a@x.io: same as line 3"),
    ]
    assert taken["+74"] == "same as line 5"
