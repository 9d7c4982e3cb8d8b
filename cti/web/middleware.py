"""Error rendering: every failure of an API request leaves as one JSON shape.

``{"error_id", "message", "details"}`` — typed :class:`CtiError`s keep their status; pydantic
validation errors become 422 with ``details.fields`` naming each field; router errors (404,
405) under ``/api`` become JSON too; anything unexpected is logged and becomes a bare 500.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from pydantic import ValidationError as PydanticValidationError

from cti.errors import CtiError, ValidationError
from cti.web.routing import Handler

log = logging.getLogger(__name__)


def _field_name(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "body"


def validation_details(exc: PydanticValidationError) -> dict[str, Any]:
    """``{"fields": {name: message}}`` — never the rejected values (they may be secrets)."""
    fields: dict[str, str] = {}
    for err in exc.errors(include_input=False, include_url=False):
        fields.setdefault(_field_name(err["loc"]), err["msg"])
    return {"fields": fields}


def error_response(status: int, error_id: str, message: str, details: Any = None) -> web.Response:
    body = {"error_id": error_id, "message": message, "details": details or {}}
    return web.json_response(body, status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except CtiError as exc:
        body = exc.to_json()
        details = body["details"]
        if isinstance(exc, ValidationError) and "fields" not in details and "field" in details:
            # one shape for every 422: services that name a single field get ``fields`` too
            details["fields"] = {details["field"]: details.get("reason", exc.message)}
        return web.json_response(body, status=exc.status, headers=exc.http_headers())
    except PydanticValidationError as exc:
        details = validation_details(exc)
        names = ", ".join(details["fields"])
        return error_response(422, "invalid-data", f"invalid field(s): {names}", details)
    except web.HTTPException as exc:
        if exc.status < 400 or not request.path.startswith("/api"):
            raise
        error_id = {404: "not-found", 405: "method-not-allowed"}.get(exc.status, "http-error")
        response = error_response(exc.status, error_id, exc.reason)
        if "Allow" in exc.headers:  # a 405 says which methods the path takes
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except Exception:
        if not request.path.startswith("/api"):
            raise  # pages and WebSockets own their failure handling
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal-error", "internal server error")
