"""Shared fixtures: databases on both backends, migrated once per session, clean per test.

* ``db_url`` — parametrized ``sqlite`` / ``postgres``: a migrated, empty database.
  SQLite: a per-test copy of a template file migrated once. PostgreSQL: a throwaway database
  (``cti_test_<pid>_<hex>``) created and migrated once per session, truncated before each
  test, dropped at the end. An unreachable server is handled by :mod:`tests.needs` (the run
  fails on CI; locally the PostgreSQL tests are skipped and the summary says so).
* ``store`` — an open :class:`Store` on ``db_url``; ``sqlite_store`` — SQLite only.
* ``empty_db_url`` — parametrized like ``db_url`` but never migrated (migration tests).
* ``cli_db`` — ``CTI_DATABASE_URL`` set to a fresh SQLite file, for commands run in tests.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import asyncpg  # type: ignore[import-untyped]
import pytest

from cti.config import mask_url
from cti.crm_store.migrate import upgrade_database
from cti.crm_store.models.base import Base
from cti.crm_store.store import Store
from tests.needs import (  # the hooks: what the suite needs from outside (see tests/needs.py)
    ON_CI,
    POSTGRES_URL,
    postgres_dsn,
    pytest_collection_modifyitems,  # noqa: F401
    pytest_report_header,  # noqa: F401
    pytest_terminal_summary,  # noqa: F401
)

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

T = TypeVar("T")


def run_async(fn: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion on a private loop in another thread.

    Session fixtures are sync; this keeps their event loops away from pytest-asyncio's.
    """

    async def main() -> T:
        return await fn()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, main()).result()


def _dsn(sqlalchemy_url: str, database: str | None = None) -> str:
    """asyncpg DSN from a SQLAlchemy URL, optionally pointing at another database."""
    dsn = postgres_dsn(sqlalchemy_url)
    if database is not None:
        base, _, _ = dsn.rpartition("/")
        dsn = f"{base}/{database}"
    return dsn


def _with_database(sqlalchemy_url: str, database: str) -> str:
    base, _, _ = sqlalchemy_url.rpartition("/")
    return f"{base}/{database}"


class _Postgres:
    """Creates throwaway databases on the test server; remembers why it is unusable."""

    def __init__(self) -> None:
        self.unreachable: str | None = None
        self.created: list[str] = []

    def create(self, migrate: bool) -> str:
        if self.unreachable is not None:
            self._unusable()
        name = f"cti_test_{os.getpid()}_{secrets.token_hex(3)}"

        async def make() -> None:
            conn = await asyncpg.connect(_dsn(POSTGRES_URL), timeout=3)
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        try:
            run_async(make)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            self.unreachable = f"PostgreSQL unreachable at {mask_url(POSTGRES_URL)}: {exc}"
            self._unusable()
        self.created.append(name)
        url = _with_database(POSTGRES_URL, name)
        if migrate:
            run_async(lambda: upgrade_database(url))
        return url

    def _unusable(self) -> None:
        """The server went away after :mod:`tests.needs` found it: an error on CI."""
        if ON_CI:
            pytest.fail(str(self.unreachable), pytrace=False)
        pytest.skip(str(self.unreachable))

    def drop_all(self) -> None:
        async def drop() -> None:
            conn = await asyncpg.connect(_dsn(POSTGRES_URL), timeout=3)
            try:
                for name in self.created:
                    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await conn.close()

        if self.created:
            run_async(drop)


@pytest.fixture(scope="session")
def _postgres() -> Iterator[_Postgres]:
    pg = _Postgres()
    yield pg
    pg.drop_all()


@pytest.fixture(scope="session")
def _pg_migrated(_postgres: _Postgres) -> str:
    return _postgres.create(migrate=True)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "cti.db"
    run_async(lambda: upgrade_database(f"sqlite+aiosqlite:///{path}"))
    return path


_TABLES = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)


async def _truncate(url: str) -> None:
    conn = await asyncpg.connect(_dsn(url), timeout=5)
    try:
        await conn.execute(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


def _sqlite_copy(template: Path, tmp_path: Path) -> str:
    target = tmp_path / "cti.db"
    shutil.copyfile(template, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture(params=BACKENDS)
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        return _sqlite_copy(request.getfixturevalue("_sqlite_template"), tmp_path)
    url: str = request.getfixturevalue("_pg_migrated")
    await _truncate(url)
    return url


@pytest.fixture(params=BACKENDS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with no tables at all (for migration tests)."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    pg: _Postgres = request.getfixturevalue("_postgres")
    return pg.create(migrate=False)


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    """An open store on a migrated, empty database (both backends)."""
    opened = await Store.open(db_url, upgrade=False)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def sqlite_store(_sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Store]:
    """An open store on a migrated, empty SQLite file (for tests that need one backend)."""
    opened = await Store.open(_sqlite_copy(_sqlite_template, tmp_path), upgrade=False)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """``CTI_DATABASE_URL`` pointing at a fresh SQLite file, run from ``tmp_path``."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("CTI_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    return url
