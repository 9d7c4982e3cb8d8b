"""Typed errors with stable ids, rendered as JSON by the web layer and as one line by the CLI."""

from __future__ import annotations

import errno
from typing import Any


class CtiError(Exception):
    """Base error: an HTTP status, a stable ``error_id`` and structured ``details``."""

    status: int = 500
    error_id: str = "internal-error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def to_json(self) -> dict[str, Any]:
        return {"error_id": self.error_id, "message": self.message, "details": self.details}

    def http_headers(self) -> dict[str, str]:
        """Headers the HTTP error response carries (e.g. ``Retry-After``)."""
        return {}


class ConfigError(CtiError):
    """A configuration key is missing or wrong; names the key."""

    status = 500
    error_id = "config-error"


class BadRequestError(CtiError):
    """The request itself is unreadable (malformed JSON, wrong content type)."""

    status = 400
    error_id = "bad-request"


class ValidationError(CtiError):
    """Input failed validation; ``details`` names the field(s)."""

    status = 422
    error_id = "invalid-data"


class NotFoundError(CtiError):
    status = 404
    error_id = "not-found"


class AuthError(CtiError):
    status = 401
    error_id = "unauthorized"


class ForbiddenError(CtiError):
    status = 403
    error_id = "forbidden"


class ConflictError(CtiError):
    status = 409
    error_id = "conflict"


class UnavailableError(CtiError):
    """A server cti depends on (the database, a PBX, the cti daemon) cannot be reached or
    refused cti's login: not the caller's input, so retrying later may work."""

    status = 503
    error_id = "unavailable"


class StoreUnavailableError(UnavailableError):
    """The database cannot be reached, refused the login, or its file cannot be opened;
    raised at the store's edge (:mod:`cti.crm_store.errors`) in place of driver errors."""

    error_id = "store-unavailable"


class ListenError(CtiError):
    """A server of cti (daemon, demo, simulator) cannot listen on its address (in use, not
    this machine's, or a privileged port)."""

    error_id = "cannot-listen"

    @classmethod
    def of(cls, exc: OSError, host: str, port: int, option: str) -> ListenError:
        """Why ``exc`` kept a server off ``host:port``, and what to do (``option``: where
        the user sets the port, e.g. ``--port``)."""
        where = f"cannot listen on {host}:{port}"
        if exc.errno == errno.EADDRINUSE:
            what = f"the port is in use by another program: stop it or choose another {option}"
        elif exc.errno == errno.EACCES:
            what = f"permission denied (ports below 1024 need privileges): choose another {option}"
        elif exc.errno == errno.EADDRNOTAVAIL or (exc.errno or 0) < 0:  # < 0: getaddrinfo
            what = f"{host} is not an address of this machine: give another --host"
        else:
            what = str(exc.strerror or exc)
        return cls(f"{where}: {what}", details={"host": host, "port": port})


class FileAccessError(CtiError):
    """A file or folder cti was told to read or write is missing or cannot be used;
    ``details["file"]`` names it."""

    error_id = "file-error"


class PayloadTooLargeError(CtiError):
    """The request body is larger than the API reads."""

    status = 413
    error_id = "body-too-large"
