"""The store's errors as the rest of cti handles them, without importing SQLAlchemy.

The call log keeps a record through any outage of the store and retries it, but skips a
record the store refuses for itself (so it cannot block the log); which is which is decided
here, next to the driver that raises them. Opening the store (:func:`outage_as_cti_error`)
turns the driver's outage errors (asyncpg, ``OSError``, SQLAlchemy's ``OperationalError``)
into one :class:`~cti.errors.StoreUnavailableError` line saying what to do.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DatabaseError,
    DataError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)

from cti.config import URL_FORMS, mask_url
from cti.errors import ConfigError, StoreUnavailableError

#: a write that broke a constraint: a unique key another writer took first, or a row it
#: referred to that was deleted meanwhile
Conflict = IntegrityError

#: errors of an unavailable store (database down, locked, network, schema being migrated)
TRANSIENT: tuple[type[BaseException], ...] = (
    SQLAlchemyError,
    OSError,
    TimeoutError,
    StoreUnavailableError,
)

#: SQLSTATE classes of a store that is up but refuses this very record (22 data exception,
#: 23 integrity violation): retrying forever would block the whole log behind it
PERMANENT_SQLSTATE = ("22", "23")


def is_permanent(exc: BaseException) -> bool:
    """Whether ``exc`` is the store refusing the data itself, not an outage."""
    if isinstance(exc, DataError | IntegrityError):
        return True
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return isinstance(code, str) and code[:2] in PERMANENT_SQLSTATE


#: where the URL is set, for the "what to do" part of a message
_URL_KEY = "database_url (CTI_DATABASE_URL)"

#: SQLSTATEs of a server that is up but will not let cti in, with what to do
_REFUSED = {
    "28P01": "wrong password for user {user}: fix the password in " + _URL_KEY,
    "28000": "user {user} may not log in ({reason}): fix the user in "
    + _URL_KEY
    + " or allow it in pg_hba.conf",
    "3D000": "database {database} does not exist: create it (createdb {database}) "
    "or fix the name in " + _URL_KEY,
    "57P03": "the server is starting or shutting down ({reason}): try again shortly",
    "53300": "the server has too many connections ({reason}): try again, or raise max_connections",
}


def describe_outage(exc: BaseException, url: str) -> StoreUnavailableError | None:
    """``exc`` as one line naming the database (password masked) and what to do; None when
    it is no outage (a refused record, a bug) and should stay as it is."""
    where = f"database {mask_url(url)}"
    try:
        parts = make_url(url)
    except ArgumentError:
        return None
    fields = {"user": parts.username or "(none)", "database": parts.database or "(none)"}
    details = {"key": "database_url"}
    if isinstance(exc, socket.gaierror):
        message = f"{where}: unknown host {parts.host!r}: fix the host in {_URL_KEY}"
    elif isinstance(exc, OSError | TimeoutError):
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        message = (
            f"{where} is unreachable ({reason or type(exc).__name__}): start the database "
            f"server or fix the host/port in {_URL_KEY}"
        )
    elif isinstance(exc, DBAPIError | InterfaceError) and _is_outage(exc):
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        code = getattr(exc.orig, "sqlstate", None)
        template = _REFUSED.get(code) if isinstance(code, str) else None
        if template is not None:
            message = f"{where}: " + template.format(reason=reason, **fields)
        elif url.startswith("sqlite"):
            message = f"{where}: {reason}: {_sqlite_hint(reason, parts.database)}"
        else:
            message = f"{where}: {reason}: check that the server runs and {_URL_KEY}"
    else:
        return None
    return StoreUnavailableError(message, details=details)


def _is_outage(exc: DBAPIError) -> bool:
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    code = getattr(exc.orig, "sqlstate", None)
    if isinstance(code, str) and (code in _REFUSED or code[:2] == "08"):
        return True
    return isinstance(exc, DatabaseError) and "file is not a database" in str(exc.orig)


def _sqlite_hint(reason: str, path: str | None) -> str:
    if "unable to open" in reason:
        return f"check that the folder of {path} exists and cti may write there"
    if "locked" in reason:
        return "another program holds the file locked: stop it or try again"
    if "readonly" in reason or "read-only" in reason:
        return f"let cti write {path} (and its folder), or point {_URL_KEY} elsewhere"
    if "not a database" in reason:
        return f"{path} is some other file: point {_URL_KEY} at a SQLite file"
    return f"check the file {path} and {_URL_KEY}"


def _check_sqlite_folder(url: str) -> None:
    """A SQLite file whose folder is missing fails here, before aiosqlite starts a thread
    that would outlive the event loop (and print a traceback at exit)."""
    parts = make_url(url)
    path = parts.database
    if parts.get_backend_name() != "sqlite" or not path or path == ":memory:":
        return
    if path.startswith("file:"):
        return
    folder = Path(path).parent
    if not folder.is_dir():
        raise StoreUnavailableError(
            f"database {mask_url(url)}: the folder {folder} does not exist: create it or "
            f"point {_URL_KEY} at a file in an existing folder",
            details={"key": "database_url", "file": path},
        )


@contextmanager
def outage_as_cti_error(url: str) -> Iterator[None]:
    """Run the block (opening, migrating the store at ``url``); a driver's outage error
    leaves it as a :class:`StoreUnavailableError`, an unreadable URL as a ConfigError."""
    try:
        _check_sqlite_folder(url)
        yield
    except ArgumentError:
        raise ConfigError(
            f"config: database_url: not a URL cti can use: write it as {URL_FORMS}",
            details={"key": "database_url"},
        ) from None
    except (OSError, TimeoutError, SQLAlchemyError) as exc:
        translated = describe_outage(exc, url)
        if translated is None:
            raise
        raise translated from exc
