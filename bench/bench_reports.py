"""Call history and report queries at N generated call records (default 10,000,000), p95
over repeated runs, on SQLite and PostgreSQL; and what the reports' indexes cost on writes.

    .venv/bin/python bench/bench_reports.py --calls 1000000 [--days 365] [--repeat 20]
        [--no-sqlite] [--no-postgres] [--write-docs]

The store is migrated, then filled with fast bulk inserts (``sqlite3.executemany`` with the
indexes dropped and rebuilt after; PostgreSQL ``COPY``): calls spread evenly over ``--days``
ending at the benchmark's "now", with their rings, talk parts, ``call_agents`` rows and the
open callback tasks of some misses. Then each query below runs ``--repeat`` times with
fresh parameters (a random agent, queue, number) and its p50/p95 are printed:

* history: the last 30 days of one agent; one queue's last 7 days; one number over all
  time; all missed calls of the last 30 days (the first page);
* every report over 30 days (agents, queues, callbacks, heat map, campaigns, SLA).

The history queries are the functions in :data:`HISTORY`: the first page of
``GET /api/calls`` (``CallLog.search``: keyset, 50 calls, no count). Write cost: inserts/s
of extra calls (with their parts) with the indexes the history and the reports add
(revisions 0006 and 0007), and without them.
PostgreSQL: ``CTI_BENCH_POSTGRES_URL`` (default: the test server), a throwaway database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.append(str(Path(__file__).resolve().parent.parent))  # cti, when not installed

from bench_lookup import machine_facts, write_section  # type: ignore[import-not-found]

from cti.calllog.service import CallLog
from cti.config import CrmConfig, ReportsConfig
from cti.crm_store.migrate import upgrade_database
from cti.crm_store.schemas.calls import CallQuery
from cti.crm_store.store import Store
from cti.reports.calendar import Period
from cti.reports.service import ReportService

PG_URL = os.environ.get(
    "CTI_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TZ = ZoneInfo("Europe/Moscow")
AGENTS = [str(1000 + n) for n in range(200)]
QUEUES = [f"q{n:02d}" for n in range(20)]
NUMBERS = 2_000_000
#: the indexes revisions 0006 (history) and 0007 (reports) add to the call log's tables, for
#: these queries: name → (table, columns)
NEW_INDEXES = {
    "ix_calls_queue_started": ("calls", "queue, started_at"),
    "ix_calls_status_started": ("calls", "status, started_at"),
    "ix_call_rings_started": ("call_rings", "started_at"),
    "ix_call_talks_started": ("call_talks", "started_at"),
}
TARGET_MS = 200.0
#: the write cost: rounds of this many calls with the new indexes and without, alternating
WRITE_ROUNDS, WRITE_CALLS = 3, 10_000

# -- generated rows ----------------------------------------------------------------------------

CALL_COLUMNS = (
    "id", "pbx", "linkedid", "direction", "from_number", "to_number", "external_number",
    "external_tail", "queue", "agents_rung", "agent", "status", "started_at", "answered_at",
    "ended_at", "ring_seconds", "talk_seconds", "hangup_cause", "transfers", "partial",
    "clock", "answered_by", "ivr_seconds", "queue_wait_seconds", "hold_seconds",
    "created_at", "updated_at",
)  # fmt: skip
RING_COLUMNS = ("call_id", "seq", "agent", "started_at", "ended_at", "seconds", "answered")
TALK_COLUMNS = ("call_id", "seq", "agent", "started_at", "ended_at", "seconds", "hold_seconds")
AGENT_COLUMNS = ("call_id", "extension")


@dataclass
class Rows:
    calls: list[tuple[Any, ...]]
    rings: list[tuple[Any, ...]]
    talks: list[tuple[Any, ...]]
    agents: list[tuple[Any, ...]]
    tasks: list[tuple[Any, ...]]


def number(n: int) -> str:
    return f"+7495{n:07d}"


def generate(first_id: int, count: int, days: float, seed: int) -> Iterator[Rows]:
    """Calls ``first_id`` … in chunks, evenly over ``days`` up to :data:`NOW`."""
    rng = random.Random(seed)
    start = NOW - timedelta(days=days)
    step = days * 86400 / max(1, count)
    chunk = 100_000
    task_phones: set[str] = set()
    for base in range(0, count, chunk):
        rows = Rows([], [], [], [], [])
        for i in range(base, min(count, base + chunk)):
            cid = first_id + i
            started = start + timedelta(seconds=i * step + rng.random() * step)
            roll = rng.random()
            direction = "inbound" if roll < 0.75 else "outbound" if roll < 0.95 else "internal"
            ext = number(rng.randrange(NUMBERS)) if direction != "internal" else None
            queue = rng.choice(QUEUES) if direction == "inbound" and rng.random() < 0.9 else None
            s = rng.random()
            status = "answered" if s < 0.75 else "abandoned" if s < 0.9 else "missed"
            if direction == "outbound" and status != "answered":
                status = "no-answer"
            rung = rng.sample(AGENTS, 1 if rng.random() < 0.7 else 2)
            ivr = rng.uniform(0, 15) if queue else None
            wait = rng.uniform(0, 90) if queue else None
            ring = rng.uniform(1, 25)
            t_ring = started + timedelta(seconds=(ivr or 0))
            answered = started + timedelta(seconds=(ivr or 0) + ring)
            talk = rng.uniform(15, 600) if status == "answered" else None
            ended = answered + timedelta(seconds=talk or 0)
            agent = rung[-1] if status == "answered" else None
            hold = rng.uniform(0, 60) if talk and rng.random() < 0.2 else None
            rows.calls.append((
                cid, "main", f"bench-{cid}", direction,
                ext if direction == "inbound" else rung[0],
                ext if direction == "outbound" else "100",
                ext, ext[-7:] if ext else None, queue, rung, agent, status, started,
                answered if status == "answered" else None, ended, ring, talk, 16, [], False,
                "pbx", "agent" if status == "answered" else None, ivr, wait, hold, started, started,
            ))  # fmt: skip
            for seq, who in enumerate(rung):
                took = who == agent
                rows.rings.append((cid, seq, who, t_ring, answered, ring, took))
                rows.agents.append((cid, who))
            if agent is not None and talk is not None:
                rows.talks.append((cid, 0, agent, answered, ended, talk, hold))
            if (
                direction == "inbound"
                and status != "answered"
                and rng.random() < 0.05
                and ext not in task_phones
            ):
                task_phones.add(str(ext))
                rows.tasks.append((f"Call back {ext}", "callback", ext, str(ext)[-7:], queue,
                                   cid, started))  # fmt: skip
        yield rows


# -- loading -----------------------------------------------------------------------------------


def _sqlite_time(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _sqlite_call(row: tuple[Any, ...]) -> tuple[Any, ...]:
    out = list(row)
    out[9] = "[" + ",".join(f'"{a}"' for a in row[9]) + "]"
    out[18] = "[]"
    for i in (12, 13, 14, 25, 26):
        out[i] = _sqlite_time(row[i])
    return tuple(out)


def _insert(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def sqlite_load(conn: sqlite3.Connection, rows: Rows) -> None:
    conn.executemany(_insert("calls", CALL_COLUMNS), map(_sqlite_call, rows.calls))
    conn.executemany(
        _insert("call_rings", RING_COLUMNS),
        ((*r[:3], _sqlite_time(r[3]), _sqlite_time(r[4]), *r[5:]) for r in rows.rings),
    )
    conn.executemany(
        _insert("call_talks", TALK_COLUMNS),
        ((*t[:3], _sqlite_time(t[3]), _sqlite_time(t[4]), *t[5:]) for t in rows.talks),
    )
    conn.executemany(_insert("call_agents", AGENT_COLUMNS), rows.agents)
    conn.executemany(
        "INSERT INTO tasks (title, description, kind, phone, phone_tail, queue, call_id, done,"
        " created_at, updated_at) VALUES (?, '', ?, ?, ?, ?, ?, 0, ?, ?)",
        ((*t[:6], _sqlite_time(t[6]), _sqlite_time(t[6])) for t in rows.tasks),
    )


def _indexes(conn: sqlite3.Connection, tables: tuple[str, ...]) -> list[tuple[str, str]]:
    marks = ",".join("?" * len(tables))
    return [
        (name, sql)
        for name, sql in conn.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL"
            f" AND tbl_name IN ({marks})",
            tables,
        )
    ]


def users_rows() -> list[tuple[Any, ...]]:
    return [(n + 1, f"agent{a}", a) for n, a in enumerate(AGENTS)]


async def fill_sqlite(path: Path, count: int, days: float) -> float:
    await upgrade_database(f"sqlite+aiosqlite:///{path}")
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    now = _sqlite_time(NOW)
    for uid, name, ext in users_rows():
        conn.execute(
            "INSERT INTO users (id, username, full_name, password_hash, role, active, created_at,"
            " updated_at) VALUES (?, ?, '', 'x', 'operator', 1, ?, ?)",
            (uid, name, now, now),
        )
        conn.execute("INSERT INTO user_extensions (user_id, extension) VALUES (?, ?)", (uid, ext))
    tables = ("calls", "call_rings", "call_talks", "call_agents", "tasks")
    indexes = _indexes(conn, tables)
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    t0 = time.perf_counter()
    for rows in generate(1, count, days, seed=1):
        sqlite_load(conn, rows)
        conn.commit()
    for _, sql in indexes:
        conn.execute(sql)
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()
    return time.perf_counter() - t0


def _parts(first_id: int, count: int, size: int = 1000) -> list[Rows]:
    """``count`` new calls (one day's worth) in transactions of ``size`` calls."""
    [rows] = list(generate(first_id, count, 1, seed=first_id))
    parts: dict[int, Rows] = {}

    def part(call_id: int) -> Rows:
        return parts.setdefault((call_id - first_id) // size, Rows([], [], [], [], []))

    for c in rows.calls:
        part(c[0]).calls.append(c)
    for r in rows.rings:
        part(r[0]).rings.append(r)
    for t in rows.talks:
        part(t[0]).talks.append(t)
    for a in rows.agents:
        part(a[0]).agents.append(a)
    return [parts[k] for k in sorted(parts)]


def sqlite_write_rate(path: Path, first_id: int, count: int, with_new: bool) -> float:
    """Calls (with their parts) stored per second, one transaction per 1,000 calls."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=NORMAL")
    if not with_new:
        for name in NEW_INDEXES:
            conn.execute(f"DROP INDEX IF EXISTS {name}")
        conn.commit()
    parts = _parts(first_id, count)
    t0 = time.perf_counter()
    for part in parts:
        sqlite_load(conn, part)
        conn.commit()
    rate = count / (time.perf_counter() - t0)
    if not with_new:
        for name, (table, columns) in NEW_INDEXES.items():
            conn.execute(f"CREATE INDEX {name} ON {table} ({columns})")
        conn.commit()
    conn.close()
    return rate


async def fill_postgres(url: str, count: int, days: float) -> float:
    import asyncpg  # type: ignore[import-untyped]

    await upgrade_database(url)
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        for uid, name, ext in users_rows():
            await conn.execute(
                "INSERT INTO users (id, username, full_name, password_hash, role, active,"
                " created_at, updated_at) VALUES ($1, $2, '', 'x', 'operator', true, $3, $3)",
                uid, name, NOW,
            )  # fmt: skip
            await conn.execute(
                "INSERT INTO user_extensions (user_id, extension) VALUES ($1, $2)", uid, ext
            )
        tables = ("calls", "call_rings", "call_talks", "call_agents", "tasks")
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY($1::text[])"
            " AND indexname NOT LIKE 'pk_%' AND indexname NOT LIKE 'uq_%'",
            list(tables),
        )
        for row in indexes:
            await conn.execute(f'DROP INDEX "{row["indexname"]}"')
        t0 = time.perf_counter()
        for rows in generate(1, count, days, seed=1):
            await _pg_load(conn, rows)
        for row in indexes:
            await conn.execute(row["indexdef"])
        await conn.execute("SELECT setval('calls_id_seq', (SELECT max(id) FROM calls))")
        await conn.execute("ANALYZE")
        return time.perf_counter() - t0
    finally:
        await conn.close()


async def _pg_load(conn: Any, rows: Rows) -> None:
    import json

    calls = [(*c[:9], json.dumps(c[9]), *c[10:18], "[]", *c[19:]) for c in rows.calls]
    await conn.copy_records_to_table("calls", records=calls, columns=CALL_COLUMNS)
    await conn.copy_records_to_table("call_rings", records=rows.rings, columns=RING_COLUMNS)
    await conn.copy_records_to_table("call_talks", records=rows.talks, columns=TALK_COLUMNS)
    await conn.copy_records_to_table("call_agents", records=rows.agents, columns=AGENT_COLUMNS)
    tasks = [(*t[:6], False, "", t[6], t[6]) for t in rows.tasks]
    await conn.copy_records_to_table(
        "tasks",
        records=tasks,
        columns=("title", "kind", "phone", "phone_tail", "queue", "call_id", "done",
                 "description", "created_at", "updated_at"),
    )  # fmt: skip


async def pg_write_rate(url: str, first_id: int, count: int, with_new: bool) -> float:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        if not with_new:
            for name in NEW_INDEXES:
                await conn.execute(f"DROP INDEX IF EXISTS {name}")
        parts = _parts(first_id, count)
        t0 = time.perf_counter()
        for part in parts:
            async with conn.transaction():
                await _pg_load(conn, part)
        rate = count / (time.perf_counter() - t0)
        if not with_new:
            await conn.execute("CREATE INDEX ix_calls_queue_started ON calls (queue, started_at)")
            await conn.execute("CREATE INDEX ix_calls_status_started ON calls (status, started_at)")
        return rate
    finally:
        await conn.close()


# -- the queries -------------------------------------------------------------------------------

Query = Callable[[Store, random.Random], Awaitable[Any]]


_LOGS: dict[int, CallLog] = {}


async def first_page(store: Store, **filters: Any) -> Any:
    """The first page of ``GET /api/calls`` (keyset, 50 calls, newest first; no count)."""
    log = _LOGS.setdefault(id(store), CallLog(store))
    return await log.search(CallQuery.model_validate({**filters, "limit": 50}))


async def agent_30_days(store: Store, rng: random.Random) -> Any:
    return await first_page(
        store, agent=rng.choice(AGENTS), **{"from": NOW - timedelta(days=30), "to": NOW}
    )


async def queue_7_days(store: Store, rng: random.Random) -> Any:
    return await first_page(
        store, queue=rng.choice(QUEUES), **{"from": NOW - timedelta(days=7), "to": NOW}
    )


async def number_all_time(store: Store, rng: random.Random) -> Any:
    return await first_page(store, number=number(rng.randrange(NUMBERS)))


async def missed_30_days(store: Store, rng: random.Random) -> Any:
    return await first_page(store, status="missed", **{"from": NOW - timedelta(days=30), "to": NOW})


#: the history queries: the first page of each listing, as the API serves it
HISTORY: dict[str, Query] = {
    "history: one agent, last 30 days": agent_30_days,
    "history: one queue, last 7 days": queue_7_days,
    "history: one number, all time": number_all_time,
    "history: missed calls, last 30 days": missed_30_days,
}


def _month() -> Period:
    last = NOW.astimezone(TZ).date()
    return Period(last - timedelta(days=29), last, TZ)


def reports() -> dict[str, Query]:
    p = _month()

    def service(store: Store) -> ReportService:
        return ReportService(store, ReportsConfig(), CrmConfig().sla)

    return {
        "report: agents, 30 days": lambda s, r: service(s).agents(p, NOW, by_day=False),
        "report: agents per day, 30 days": lambda s, r: service(s).agents(p, NOW),
        "report: queues, 30 days": lambda s, r: service(s).queues(p),
        "report: callbacks, 30 days": lambda s, r: service(s).callbacks(p, NOW),
        "report: heat map, 30 days": lambda s, r: service(s).heatmap(p),
        "report: campaigns, 30 days": lambda s, r: service(s).campaigns(p, NOW),
        "report: SLA, 30 days": lambda s, r: service(s).sla(p, NOW),
    }


async def measure(store: Store, repeat: int) -> list[tuple[str, float, float]]:
    rng = random.Random(7)
    out = []
    for name, query in {**HISTORY, **reports()}.items():
        await query(store, rng)  # warm-up
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            await query(store, rng)
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        out.append((name, statistics.median(times), p95))
        print(f"  {name}: p50 {out[-1][1]:.1f} ms, p95 {p95:.1f} ms", file=sys.stderr)
    return out


# -- the run -----------------------------------------------------------------------------------


@dataclass
class Result:
    backend: str
    fill_seconds: float
    timings: list[tuple[str, float, float]]
    write_with: float
    write_without: float


async def run_sqlite(count: int, days: float, repeat: int) -> Result:
    with tempfile.TemporaryDirectory(prefix="cti-bench-reports-") as tmp:
        path = Path(tmp) / "cti.db"
        fill = await fill_sqlite(path, count, days)
        print(f"sqlite: {count:,} calls filled in {fill:.0f} s", file=sys.stderr)
        store = await Store.open(f"sqlite+aiosqlite:///{path}", upgrade=False)
        try:
            timings = await measure(store, repeat)
        finally:
            await store.close()
        rates: dict[bool, list[float]] = {True: [], False: []}
        for n in range(2 * WRITE_ROUNDS):  # alternating, so drift hits both alike
            with_new = n % 2 == 0
            rates[with_new].append(
                sqlite_write_rate(path, count + 1 + n * WRITE_CALLS, WRITE_CALLS, with_new)
            )
        return Result(
            "SQLite (file, WAL)",
            fill,
            timings,
            statistics.median(rates[True]),
            statistics.median(rates[False]),
        )


async def run_postgres(count: int, days: float, repeat: int) -> Result | str:
    import asyncpg

    admin_dsn = PG_URL.replace("postgresql+asyncpg://", "postgresql://", 1)
    name = f"cti_bench_reports_{os.getpid()}"
    try:
        admin = await asyncpg.connect(admin_dsn, timeout=3)
    except (OSError, asyncpg.PostgresError) as exc:
        return f"PostgreSQL not measured: {exc}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = PG_URL.rsplit("/", 1)[0] + "/" + name
        fill = await fill_postgres(url, count, days)
        print(f"postgres: {count:,} calls filled in {fill:.0f} s", file=sys.stderr)
        store = await Store.open(url, upgrade=False)
        try:
            timings = await measure(store, repeat)
        finally:
            await store.close()
        rates: dict[bool, list[float]] = {True: [], False: []}
        for n in range(2 * WRITE_ROUNDS):
            with_new = n % 2 == 0
            rates[with_new].append(
                await pg_write_rate(url, count + 1 + n * WRITE_CALLS, WRITE_CALLS, with_new)
            )
        return Result(
            "PostgreSQL (127.0.0.1, asyncpg)",
            fill,
            timings,
            statistics.median(rates[True]),
            statistics.median(rates[False]),
        )
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def table(results: list[Result], count: int, days: float) -> list[str]:
    names = [n for n, _, _ in results[0].timings] if results else []
    head = "| query | " + " | ".join(f"{r.backend} p50 / p95 ms" for r in results) + " |"
    lines = [
        f"{count:,} calls over {days:g} days ({count / days:,.0f} a day; 30 days ≈ "
        f"{30 * count / days:,.0f} calls); target p95 ≤ {TARGET_MS:.0f} ms.",
        "",
        head,
        "|---|" + "---|" * len(results),
    ]
    for i, name in enumerate(names):
        cells = []
        for r in results:
            _, p50, p95 = r.timings[i]
            mark = "" if p95 <= TARGET_MS else " ✗"
            cells.append(f"{p50:.1f} / {p95:.1f}{mark}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| backend | fill (bulk) | calls/s stored with the 0006/0007 indexes | without | cost |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        cost = 100 * (1 - r.write_with / r.write_without) if r.write_without else 0.0
        lines.append(
            f"| {r.backend} | {r.fill_seconds:.0f} s | {r.write_with:,.0f} | "
            f"{r.write_without:,.0f} | {cost:+.1f} % |"
        )
    return lines


async def run(args: argparse.Namespace) -> list[str]:
    results: list[Result] = []
    notes: list[str] = []
    if not args.no_sqlite:
        results.append(await run_sqlite(args.calls, args.days, args.repeat))
    if not args.no_postgres:
        got = await run_postgres(args.calls, args.days, args.repeat)
        if isinstance(got, str):
            notes.append(got)
        else:
            results.append(got)
    return table(results, args.calls, args.days) + (["", *notes] if notes else [])


HOW = (
    "`.venv/bin/python bench/bench_reports.py --calls N [--days 365] [--repeat 20] "
    "[--no-sqlite] [--no-postgres] [--write-docs]`: N generated calls (with rings, talk "
    "parts, `call_agents`, some open callbacks) bulk-loaded, then each query run `--repeat` "
    "times with a random agent, queue or number; history queries are the first page of "
    "`GET /api/calls` (`CallLog.search`: keyset, 50 calls, no count). "
    "Write cost: 3 rounds each of 10,000 more calls with their parts, 1,000 per transaction, "
    "alternating with and without "
    "the four indexes revisions 0006 and 0007 add for these queries (`calls` by queue and by "
    "status, `call_rings` and `call_talks` by start)."
)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000_000)
    parser.add_argument("--days", type=float, default=365.0)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    lines = asyncio.run(run(args))
    print("\n".join(lines))
    if args.write_docs:
        write_section(
            f"Call history and reports ({args.calls:,} calls)",
            [HOW, "", *lines, "", machine_facts()],
        )
        print("docs/benchmarks.md updated")


if __name__ == "__main__":
    main()
