"""CSV import: per-row validation into a report, dedupe, dry run, re-run, header errors."""

from __future__ import annotations

import csv
import tracemalloc
from pathlib import Path

import pytest
from sqlalchemy import text

from cti.crm_store.importers.contacts_csv import (
    ALIASES,
    FIELDS,
    ContactImporter,
    check_file,
    parse_mapping,
)
from cti.crm_store.repos.lookup import CallerLookup
from cti.crm_store.schemas.contacts import CompanyIn, ContactIn, PhoneIn
from cti.crm_store.services.contacts import CompanyService, ContactService
from cti.crm_store.store import Store
from cti.errors import ValidationError

GOOD_AND_BAD = """\
first_name,last_name,company,email,phone,tags,do_not_call
Ivan,Petrov,Acme,ivan@acme.test,+7 495 123-45-67,vip;lead,no
Olga,Ivanova,acme ,olga@acme.test,8 916 765-43-21,,yes
,,Acme,nobody@acme.test,+74950000000,,
Boris,Bad,,boris@x.test,12345,,
Anna,Petrova,Globex,anna@globex.test,+7 (495) 123-45-67,,
Petr,Mail,,IVAN@acme.test,+79035550000,,
Eve,Email,,not-an-email,+79035550001,,maybe
"Multi, Line",Quoted,Globex,multi@globex.test,+79035550002,,
ivan  PETROV,,,,8 (495) 123-45-67,,
"""


def write(tmp_path: Path, text: str, name: str = "contacts.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def report_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


async def test_good_rows_imported_bad_rows_reported_with_lines(
    store: Store, tmp_path: Path
) -> None:
    path = write(tmp_path, GOOD_AND_BAD)
    result = await ContactImporter(store, batch_size=3).run(path)
    assert (result.rows, result.imported, result.rejected) == (9, 4, 5)
    assert result.companies_created == 2  # "Acme" and "acme " are one company
    rows = report_rows(path.with_name("contacts.csv.report.csv"))
    assert rows[0] == ["line", "field", "reason"]
    by_line = {(int(r[0]), r[1]): r[2] for r in rows[1:]}
    assert by_line[(4, "name")] == "missing name"
    assert by_line[(5, "phone")] == "bad phone '12345'"
    assert by_line[(7, "email")].startswith("duplicate ivan@acme.test")
    assert "not a valid e-mail" in by_line[(8, "email")]
    assert "expected yes/no" in by_line[(8, "do_not_call")]
    # Ivan again (name spelled otherwise, same number): the same person
    assert by_line[(10, "phone")].startswith("duplicate +74951234567: already in the store")
    assert {line for line, _ in by_line} == {4, 5, 7, 8, 10}  # Anna shares Ivan's line
    contacts = ContactService(store)
    page = await contacts.search(q="ivan")
    ivan = next(c for c in page.items if c.first_name == "Ivan")
    assert (ivan.company_name, ivan.tags, ivan.time_zone) == (
        "Acme",
        ["vip", "lead"],
        "Europe/Moscow",
    )
    olga = (await contacts.search(phone="+79167654321")).items[0]
    assert olga.do_not_call and olga.company_id == ivan.company_id
    multi = (await contacts.search(email="multi@globex.test")).items[0]
    assert multi.first_name == "Multi, Line"
    match = await CallerLookup(store).lookup("84951234567")
    assert match.status == "multiple"  # Ivan and Anna share the office line
    assert sorted(c.name or "" for c in match.candidates) == ["Anna Petrova", "Ivan Petrov"]


async def test_rerun_creates_no_duplicates(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_AND_BAD)
    first = await ContactImporter(store).run(path)
    again = await ContactImporter(store).run(path)
    assert first.imported == 4
    assert (again.imported, again.companies_created) == (0, 0)
    assert (await ContactService(store).search()).total == 4
    assert (await CompanyService(store).search()).total == 2
    reasons = [r[2] for r in report_rows(path.with_name("contacts.csv.report.csv"))[1:]]
    assert sum("already in the store" in r for r in reasons) == 6  # 4 good + 2 dupes


async def test_the_same_person_in_the_store_is_a_duplicate_another_one_is_not(
    store: Store, tmp_path: Path
) -> None:
    made = await ContactService(store).create(
        ContactIn(first_name="Old", last_name="One", phones=[PhoneIn(number="+74951234567")])
    )
    await CompanyService(store).create(
        CompanyIn(name="Switchboard Ltd", phones=[PhoneIn(number="+79035550010")])
    )
    text = "name,phone\nold one,84951234567\nNew One,84951234567\nAt Desk,+79035550010\n"
    path = write(tmp_path, text)
    result = await ContactImporter(store).run(path, report=tmp_path / "r.csv")
    assert (result.imported, result.rejected) == (2, 1)  # a family member, a company line
    assert report_rows(tmp_path / "r.csv")[1] == [
        "2",
        "phone",
        f"duplicate +74951234567: already in the store (contact {made.id})",
    ]


async def test_dry_run_validates_everything_and_writes_nothing(
    store: Store, tmp_path: Path
) -> None:
    path = write(tmp_path, GOOD_AND_BAD)
    result = await ContactImporter(store, batch_size=2).run(path, dry_run=True)
    assert (result.dry_run, result.imported, result.rejected) == (True, 4, 5)
    assert result.companies_created == 2  # Acme (and "acme "), Globex: as a real run
    assert result.report is None and not path.with_name("contacts.csv.report.csv").exists()
    asked = tmp_path / "asked.csv"
    again = await ContactImporter(store, batch_size=2).run(path, dry_run=True, report=asked)
    assert again.report == asked
    reasons = {int(r[0]): r[2] for r in report_rows(asked)[1:]}
    assert reasons[10] == "duplicate +74951234567: same as line 2"  # across batches
    assert (await ContactService(store).search()).total == 0
    assert (await CompanyService(store).search()).total == 0
    real = await ContactImporter(store, batch_size=2).run(path)
    predicted = (result.rows, result.imported, result.rejected, result.companies_created)
    assert (real.rows, real.imported, real.rejected, real.companies_created) == predicted


async def test_mapping_and_skipped_columns(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "Full Name,Mobile Phone,Fax\nIvan Petrov,+74951234567,x\n")
    mapping = parse_mapping(["Full Name=name", "mobile phone=mobile", "Fax=-"])
    result = await ContactImporter(store).run(path, mapping=mapping)
    assert result.imported == 1
    got = (await ContactService(store).search(q="petrov")).items[0]
    assert (got.first_name, got.last_name, got.phones[0].kind) == ("Ivan", "Petrov", "mobile")


@pytest.mark.parametrize(
    ("text", "mapping", "message"),
    [
        ("name,phone,fax\n", [], "line 1, column 3 'fax' is not a contact field"),
        ("phone,email\n", [], "needs a name column"),
        ("name,Name\n", [], "field 'name' appears twice"),
        ("", [], "empty file"),
        ("name,phone\n", ["nope=phone"], "--map names column 'nope'"),
    ],
)
async def test_bad_header_is_one_clear_error(
    store: Store, tmp_path: Path, text: str, mapping: list[str], message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ValidationError) as err:
        await ContactImporter(store).run(path, mapping=parse_mapping(mapping))
    assert message in err.value.message
    assert str(path) in err.value.message


def test_bad_mapping_option() -> None:
    with pytest.raises(ValidationError, match="unknown field 'phon'"):
        parse_mapping(["Phone=phon"])
    with pytest.raises(ValidationError, match="expected COLUMN=FIELD"):
        parse_mapping(["Phone"])


async def test_short_row_and_non_utf8(store: Store, tmp_path: Path) -> None:
    text = 'name,phone\nIvan Petrov\n"Olga\nIvanova",+79167654321\n\nBad,12\n'
    path = write(tmp_path, text)
    result = await ContactImporter(store).run(path)
    assert (result.imported, result.rejected) == (1, 2)
    assert report_rows(path.with_name("contacts.csv.report.csv"))[1:] == [
        ["2", "-", "1 columns, the header has 2"],
        ["6", "phone", "bad phone '12'"],  # after a two-line record and a blank line
    ]
    latin = tmp_path / "latin.csv"
    latin.write_bytes("name\nJos\xe9\n".encode("latin-1"))
    with pytest.raises(ValidationError, match=r"line 2 is not valid UTF-8 .*--encoding cp1251"):
        await ContactImporter(store).run(latin)
    assert (await ContactImporter(store).run(latin, encoding="latin-1")).imported == 1


async def test_failing_batch_rolls_back_whole_batch(store: Store, tmp_path: Path) -> None:
    long_tz_free = "name,phone,notes\n" + "".join(f"P{i},+7903555{i:04d},n\n" for i in range(5))
    path = write(tmp_path, long_tz_free)
    importer = ContactImporter(store, batch_size=2)
    async with store.engine.begin() as conn:  # make the second batch's insert fail
        if store.is_sqlite:
            await conn.execute(
                text(
                    "CREATE TRIGGER boom BEFORE INSERT ON phones WHEN NEW.e164 = '+79035550003'"
                    " BEGIN SELECT RAISE(ABORT, 'boom'); END"
                )
            )
        else:
            await conn.execute(
                text("ALTER TABLE phones ADD CONSTRAINT boom CHECK (e164 <> '+79035550003')")
            )
    result = await importer.run(path)
    assert (result.imported, result.rejected) == (3, 2)
    assert len(result.failed_batches) == 1 and "lines 4-5" in result.failed_batches[0]
    names = sorted(c.name for c in (await ContactService(store).search()).items)
    assert names == ["P0", "P1", "P4"]  # nothing of P2/P3 (same batch) is left
    async with store.engine.begin() as conn:
        if store.is_sqlite:
            await conn.execute(text("DROP TRIGGER boom"))
        else:
            await conn.execute(text("ALTER TABLE phones DROP CONSTRAINT boom"))


async def test_progress_reports_bytes_and_rows(store: Store, tmp_path: Path) -> None:
    body = "".join(f"P{i},+7903555{i:04d}\n" for i in range(25))
    path = write(tmp_path, "name,phone\n" + body)
    calls: list[tuple[int, int]] = []
    result = await ContactImporter(store, batch_size=10).run(
        path, progress=lambda done, rows: calls.append((done, rows))
    )
    assert result.imported == 25
    assert len(calls) == 3  # once per batch
    assert calls == sorted(calls)  # bytes and rows read only grow
    assert calls[-1] == (path.stat().st_size, 25)


def test_an_overlong_line_is_refused_after_reading_max_line_bytes(tmp_path: Path) -> None:
    huge = tmp_path / "huge.csv"
    huge.write_bytes(b"name," + b"x" * 10_000_000 + b"\n")  # a 10 MB header
    tracemalloc.start()
    try:
        with pytest.raises(ValidationError, match=r"huge.csv: line 1 is longer than 65,536 bytes"):
            check_file(huge, {})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20  # what was read: 256 KiB at a time, never the whole line
    later = write(tmp_path, "name\nIvan\n" + "y" * 3000 + "\n")
    with pytest.raises(ValidationError, match="line 3 is longer than 2,048 bytes"):
        check_file(later, {}, max_line=2048)
    assert check_file(later, {}).fields == ["name"]


async def test_a_row_with_a_nul_is_rejected_and_the_others_imported(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "nul.csv"
    path.write_bytes(
        b"name,phone,fax\nIvan Pet\x00rov,+74951234567,\nOlga,+79161234567,\x00\nAnna,,\n"
    )
    result = await ContactImporter(store).run(path, mapping=parse_mapping(["fax=-"]))
    assert (result.imported, result.rejected) == (1, 2)
    assert report_rows(path.with_name("nul.csv.report.csv"))[1:] == [
        ["2", "name", "contains a NUL character (\\x00)"],
        ["3", "column 3", "contains a NUL character (\\x00)"],
    ]


def test_header_aliases_name_the_fields(tmp_path: Path) -> None:
    path = write(tmp_path, "Given Name,Surname,E-Mail,Tel,Organisation,TZ,DNC\n")
    assert check_file(path, {}).fields == [
        "first_name",
        "last_name",
        "email",
        "phone",
        "company",
        "time_zone",
        "do_not_call",
    ]
    assert set(ALIASES.values()) <= set(FIELDS) and not set(ALIASES) & set(FIELDS)
