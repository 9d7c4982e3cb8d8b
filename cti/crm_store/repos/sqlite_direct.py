"""Plain ``sqlite3`` access to the store's SQLite file, for the measured fast paths.

Through SQLAlchemy and aiosqlite an indexed read costs ~0.8 ms, nearly all of it the hop to
aiosqlite's worker thread and SQLAlchemy's execution layers; the read itself takes tens of
microseconds (``docs/benchmarks.md``, caller-ID lookup). So the caller lookup and the pop
card read a SQLite file through a read-only connection on the event-loop thread, and the
contact importer writes its batches through a connection of its own on a worker thread.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy.engine import make_url


def readonly_sqlite(path: str) -> sqlite3.Connection:
    """A read-only connection for reads on the event-loop thread: it never waits on a lock
    (``busy_timeout=0``; the caller falls back to the async engine on any SQLite error)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout=0")
    conn.execute("PRAGMA query_only=ON")
    return conn


def sqlite_file(url: str) -> str | None:
    """The file of a SQLite URL (None: another backend, in-memory, or a ``file:`` URI)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


def sqlite_path(url: str) -> str | None:
    """The file a writer may open itself (None: another backend, in-memory, or a URI with
    a ``mode=``)."""
    parsed = make_url(url)
    db = parsed.database
    if parsed.get_backend_name() != "sqlite" or not db or db == ":memory:" or "mode=" in db:
        return None
    return db
