"""Import dedupe: the same person (name + number, or e-mail) in the store or an earlier row
is skipped; another person with the same number is not a duplicate."""

from __future__ import annotations

from cti.crm_store.rules.imports import ContactRow, person_key, person_name, split_dupes


def row(
    line: int, phone: str = "", email: str = "", first: str = "A", last: str = "B"
) -> ContactRow:
    phones = [(phone, phone, "mobile")] if phone else []
    return ContactRow(
        line, first, last, "", [email] if email else [], phones, None, [], None, False
    )


def test_rows_clashing_with_the_store_or_an_earlier_row_are_reported() -> None:
    taken = {person_key("a b", "+71"): "already in the store (contact 7)"}
    rows = [
        row(2, "+71"),
        row(3, "+72", "a@x.io"),
        row(4, "+73", "a@x.io"),
        row(5, "+74"),
        row(6, "+74", first="Someone", last="Else"),  # shares line 5's number: kept
        row(7, "+74", first=" a ", last="B"),  # line 5's person again
    ]
    good, dupes = split_dupes(rows, taken)
    assert [r.line for r in good] == [3, 5, 6]
    assert dupes == [
        (2, "phone", "duplicate +71: already in the store (contact 7)"),
        (4, "email", "duplicate a@x.io: same as line 3"),
        (7, "phone", "duplicate +74: same as line 5"),
    ]
    assert taken[person_key("a b", "+74")] == "same as line 5"


def test_a_person_is_their_lower_cased_name_with_spaces_collapsed() -> None:
    assert person_name("  Ivan ", "PETROV") == "ivan petrov" == person_name("ivan", " Petrov")
    assert person_name("", "Petrov") == "petrov"
