"""The store's errors as the rest of cti handles them, without importing SQLAlchemy.

The call log keeps a record through any outage of the store and retries it, but skips a
record the store refuses for itself (so it cannot block the log); which is which is decided
here, next to the driver that raises them.
"""

from __future__ import annotations

from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

#: a write that broke a constraint: a unique key another writer took first, or a row it
#: referred to that was deleted meanwhile
Conflict = IntegrityError

#: errors of an unavailable store (database down, locked, network, schema being migrated)
TRANSIENT: tuple[type[BaseException], ...] = (SQLAlchemyError, OSError, TimeoutError)

#: SQLSTATE classes of a store that is up but refuses this very record (22 data exception,
#: 23 integrity violation): retrying forever would block the whole log behind it
PERMANENT_SQLSTATE = ("22", "23")


def is_permanent(exc: BaseException) -> bool:
    """Whether ``exc`` is the store refusing the data itself, not an outage."""
    if isinstance(exc, DataError | IntegrityError):
        return True
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return isinstance(code, str) and code[:2] in PERMANENT_SQLSTATE
