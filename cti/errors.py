"""Typed errors with stable ids, rendered as JSON by the web layer and as one line by the CLI."""

from __future__ import annotations

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


class PayloadTooLargeError(CtiError):
    """The request body is larger than the API reads."""

    status = 413
    error_id = "body-too-large"
