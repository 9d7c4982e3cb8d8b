"""Engine and session factory: SQLite (WAL, foreign keys) by default, PostgreSQL via asyncpg.

Statement parameters and result rows hold password hashes, token hashes and personal data,
so no engine logs them (``hide_parameters``; the drivers' and SQLAlchemy's DEBUG output,
which carries both, is held back) unless the process asked for them with
:func:`log_sql_parameters` (``[log] sql_parameters = true``).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _sqlite_pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


#: loggers whose DEBUG lines carry statement parameters or result rows (SQLAlchemy logs
#: through ``sqlalchemy.engine.Engine``; a filter on a parent would not see its records)
_DEBUG_LEAKS = ("sqlalchemy.engine.Engine", "aiosqlite", "asyncpg")
_show_parameters = False


def _no_debug(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.INFO


def log_sql_parameters(show: bool) -> None:
    """Whether engines created from now on log their statements' parameters (and rows at
    DEBUG). Off (the default) every engine hides them, and the DEBUG lines of SQLAlchemy and
    the drivers, which print them, are dropped whatever the logging level."""
    global _show_parameters
    _show_parameters = show
    _hold_back_debug()


def _hold_back_debug() -> None:
    for name in _DEBUG_LEAKS:
        logger = logging.getLogger(name)
        if _show_parameters:
            logger.removeFilter(_no_debug)
        elif _no_debug not in logger.filters:
            logger.addFilter(_no_debug)


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for ``url``; SQLite connections get WAL mode and foreign keys on.
    PostgreSQL connections run without JIT compilation: our queries take milliseconds, and
    a plan whose estimate is large (a join on a list of ranges) would spend 100-250 ms
    compiling it first (measured on the agents report at 10 M calls).
    Parameters are hidden from logs and error messages unless :func:`log_sql_parameters`."""
    kwargs.setdefault("hide_parameters", not _show_parameters)
    if url.startswith("postgresql+asyncpg"):
        connect_args = kwargs.setdefault("connect_args", {})
        connect_args.setdefault("server_settings", {}).setdefault("jit", "off")
    _hold_back_debug()
    engine = create_async_engine(url, **kwargs)
    if is_sqlite(url):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
