"""CSV import of N contacts (default 1,000,000): rows/s and peak RSS, against a bare
``sqlite3.executemany`` of the same rows (already normalized, no validation) in the same run.

    .venv/bin/python bench/bench_import.py --contacts 100000

Each measurement runs in its own child process so peak RSS (``ru_maxrss``) is its own.
Results go to stdout as a table and, with ``--write-docs``, into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import multiprocessing
import os
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_lookup import machine_facts, write_section

from cti.demo.seed import demo_people

HOW = (
    "`.venv/bin/python bench/bench_import.py [--contacts N]` (default 1,000,000; about 2 min). "
    "Both runs load the same CSV rows into the same migrated schema (same indexes, WAL, "
    "`synchronous=NORMAL`), each in its own process. Bare: rows already normalized, one "
    "transaction, no validation. cti: the real `ContactImporter` (as `cti import contacts`): "
    "CSV parsing, per-row validation, E.164 normalization, dedupe against the file and the "
    "store, company reuse, one savepoint per batch, report file."
)
NOTES = (
    "How it keeps up: phone numbers in plain international form skip phonenumbers' parser "
    "(same validity rules, checked against phonenumbers over every region in "
    "`tests/crm_store/test_phones.py`), about 3 µs instead of 20 µs; each batch goes to SQLite "
    "as one JSON parameter per table (`INSERT … SELECT … FROM json_each(?)`), so the per-row "
    "work runs in C with the GIL released while the event loop parses the next batch; batches "
    "are savepoints in a transaction committed every 2 s (a failing batch still rolls back "
    "alone, index pages reach the WAL once per commit); the cyclic GC is paused during the "
    "load. Memory stays flat: two batches in flight plus a "
    "64 MB SQLite page cache (the bare run holds all rows in memory)."
)


def write_csv(path: Path, n: int) -> None:
    """N realistic rows: name, company (shared by ~50 people), e-mail, +7 phone."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["first_name", "last_name", "company", "email", "phone", "tags"])
        for p in demo_people(n, seed=1):
            writer.writerow([p.first, p.last, p.company, p.email, p.phone_display, p.tag])


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run_import(csv_path: str, db_path: str, out: Any) -> None:
    from cti.crm_store.importers.contacts_csv import ContactImporter
    from cti.crm_store.store import Store

    async def main() -> dict[str, Any]:
        store = await Store.open(f"sqlite+aiosqlite:///{db_path}")
        try:
            started = time.perf_counter()
            result = await ContactImporter(store).run(Path(csv_path))
            seconds = time.perf_counter() - started
        finally:
            await store.close()
        return {"rows": result.imported, "rejected": result.rejected, "seconds": seconds}

    data = asyncio.run(main())
    data["rss_mb"] = _peak_rss_mb()
    out.put(data)


def _run_bare(csv_path: str, db_path: str, out: Any) -> None:
    """The floor: the same rows, pre-normalized, straight into the same schema."""
    import asyncio as aio

    from cti.crm_store.migrate import upgrade_database
    from cti.crm_store.phones import digits
    from cti.crm_store.rules.contacts import company_key, name_keys

    aio.run(upgrade_database(f"sqlite+aiosqlite:///{db_path}"))
    rows = []
    with open(csv_path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        for first, last, company, email, phone, tag in reader:
            rows.append((first, last, company, email, "+" + digits(phone), phone, tag))
    now = "2026-01-01 00:00:00.000000"
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    started = time.perf_counter()
    companies: dict[str, int] = {}
    for _, _, company, *_ in rows:
        key = company_key(company)
        if key not in companies:
            cur = conn.execute(
                "INSERT INTO companies (name, name_key, created_at, updated_at) VALUES (?,?,?,?)",
                (company, key, now, now),
            )
            companies[key] = int(cur.lastrowid or 0)
    conn.executemany(
        "INSERT INTO contacts (id, first_name, last_name, name_key, rname_key, company_id,"
        " do_not_call, tags, extra, source, created_at, updated_at)"
        " VALUES (?,?,?,?,?,?,0,?,'{}','bare',?,?)",
        (
            (
                i,
                r[0],
                r[1],
                *name_keys(r[0], r[1]),
                companies[company_key(r[2])],
                json.dumps([r[6]]),
                now,
                now,
            )
            for i, r in enumerate(rows, start=1)
        ),
    )
    conn.executemany(
        "INSERT INTO phones (contact_id, raw, e164, tail, kind, created_at, updated_at)"
        " VALUES (?,?,?,?,'mobile',?,?)",
        ((i, r[5], r[4], r[4][-7:], now, now) for i, r in enumerate(rows, start=1)),
    )
    conn.executemany(
        "INSERT INTO contact_emails (contact_id, email) VALUES (?,?)",
        ((i, r[3]) for i, r in enumerate(rows, start=1)),
    )
    conn.commit()
    seconds = time.perf_counter() - started
    conn.close()
    out.put({"rows": len(rows), "seconds": seconds, "rss_mb": _peak_rss_mb()})


def _child(target: Any, *args: str) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue))
    proc.start()
    data: dict[str, Any] = queue.get()
    proc.join()
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    n = args.contacts
    with tempfile.TemporaryDirectory(prefix="cti-bench-import-") as tmp:
        csv_path = Path(tmp) / "contacts.csv"
        write_csv(csv_path, n)
        size_mb = csv_path.stat().st_size / 1e6
        bare = _child(_run_bare, str(csv_path), str(Path(tmp) / "bare.db"))
        cti = _child(_run_import, str(csv_path), str(Path(tmp) / "cti.db"))
    bare_rate = bare["rows"] / bare["seconds"]
    cti_rate = cti["rows"] / cti["seconds"]
    lines = [
        f"{n:,} contacts, CSV {size_mb:.0f} MB (name, company, e-mail, phone, tag), SQLite file",
        "",
        "| run | rows | seconds | rows/s | peak RSS |",
        "|---|---:|---:|---:|---:|",
        f"| bare `sqlite3.executemany` (pre-normalized, no checks) | {bare['rows']:,} "
        f"| {bare['seconds']:.1f} | {bare_rate:,.0f} | {bare['rss_mb']:.0f} MB |",
        f"| `cti import contacts` (parse, validate, normalize, dedupe, batches of 10,000) "
        f"| {cti['rows']:,} | {cti['seconds']:.1f} | {cti_rate:,.0f} | {cti['rss_mb']:.0f} MB |",
        "",
        f"ratio cti / bare: **{cti_rate / bare_rate:.2f}×** (target ≥ 0.5×); "
        f"rejected rows: {cti['rejected']}",
    ]
    print("\n".join(lines))
    if args.write_docs:
        write_section("CSV import", [HOW, "", *lines, "", NOTES, "", machine_facts()])
        print("docs/benchmarks.md updated")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
