"""Declared routes: each handler carries its permission and OpenAPI facts (schemas, errors).

One declaration drives four things, so they cannot drift apart: the router entry, the
permission check (401/403, :mod:`cti.web.access`) done before the handler runs, whether the
route needs a token at all, and the OpenAPI description of the route. Every route declares
the (resource, action) it performs (``perm``); the permission table
(:mod:`cti.crm_store.rules.permissions`) decides who may.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from cti.crm_store.rules.permissions import Perm, Rule, rule_for
from cti.crm_store.schemas.common import MAX_ID
from cti.errors import (
    BadRequestError,
    CtiError,
    NotFoundError,
    PayloadTooLargeError,
    ValidationError,
)
from cti.web.jsonbody import MAX_BODY, depth_message, nul_field, too_deep

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
HandlerT = TypeVar("HandlerT", bound=Handler)
ModelT = TypeVar("ModelT", bound=BaseModel)

log = logging.getLogger(__name__)

API_DOC_ATTR = "__cti_api_doc__"
PERM_ATTR = "__cti_perm__"
#: query parameters the API reads itself and never passes on to a handler's query model
RESERVED_QUERY = frozenset({"token"})


@dataclass(frozen=True)
class ApiDoc:
    """What the OpenAPI generator (and the auth middleware) know about one route."""

    summary: str
    tag: str
    perm: Perm
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    #: what a success answers with (a page: ``text/html``)
    media_type: str = "application/json"

    @property
    def rule(self) -> Rule:
        return rule_for(self.perm)

    @property
    def public(self) -> bool:
        """Served without a token (the table says anyone may)."""
        return self.rule.public


def api_doc(handler: Any) -> ApiDoc | None:
    doc = getattr(handler, API_DOC_ATTR, None)
    return doc if isinstance(doc, ApiDoc) else None


def permission_of(handler: Any) -> Perm | None:
    """The (resource, action) a handler declared; None for one that declared nothing."""
    perm = getattr(handler, PERM_ATTR, None)
    return perm if isinstance(perm, tuple) else None


def declare(perm: Perm) -> Callable[[HandlerT], HandlerT]:
    """Mark a handler that applies ``perm`` itself (the WebSocket: it answers a refused
    upgrade with a close code, not a status); :func:`cti.web.access.guard` both marks and
    checks, and is what every other handler uses."""
    rule_for(perm)  # an unknown permission fails at import

    def mark(handler: HandlerT) -> HandlerT:
        setattr(handler, PERM_ATTR, perm)
        return handler

    return mark


@dataclass
class RouteTable:
    """Collects a module's routes; ``install(app)`` adds them to the application."""

    tag: str
    routes: list[tuple[str, str, Handler]] = field(default_factory=list)

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        perm: Perm,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        errors: tuple[int, ...] = (),
        media_type: str = "application/json",
    ) -> Callable[[Handler], Handler]:
        """Declare a route; ``perm`` is required: a route without a rule does not load."""
        rule_for(perm)
        doc = ApiDoc(summary, self.tag, perm, body, query, response, status, errors, media_type)

        def decorate(handler: Handler) -> Handler:
            from cti.web.access import guard  # access imports auth, which imports this module

            wrapped = guard(perm)(handler)
            setattr(wrapped, API_DOC_ATTR, doc)
            self.routes.append((method, path, wrapped))
            return handler

        return decorate

    def get(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **kw)

    def patch(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, status=204, **kw)

    def install(self, app: web.Application) -> None:
        for method, path, handler in self.routes:
            app.router.add_route(method, path, handler)


# -- request / response helpers used by every handler ------------------------------------------


async def read_body(request: web.Request, model: type[ModelT]) -> ModelT:
    """The JSON body validated strictly by ``model`` (``0`` is no bool, ``"5"`` no id).

    Too large → 413, nested too deep or malformed → 400 (one INFO line: a client's mistake,
    not ours), bad fields → 422 naming them.
    """
    raw = await _body_bytes(request)
    if not raw:
        raise _refused(
            request,
            BadRequestError("request body must be a JSON object", details={"body": "missing"}),
        )
    if too_deep(raw):
        message = depth_message()
        raise _refused(request, BadRequestError(message, details={"body": message}))
    nul = nul_field(raw)
    if nul is not None:
        raise _no_nul(nul)
    try:
        return model.model_validate_json(raw, strict=True)
    except PydanticValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        if first["type"] != "json_invalid":
            raise  # bad fields: the middleware's 422
        reason = first.get("ctx", {}).get("error") or first["msg"]
        error = BadRequestError(
            f"malformed JSON body: {reason}", details={"body": "malformed JSON"}
        )
        raise _refused(request, error) from None


async def _body_bytes(request: web.Request) -> bytes:
    length = request.content_length
    too_large = PayloadTooLargeError(
        f"request body is larger than {MAX_BODY} bytes", details={"limit": MAX_BODY}
    )
    if length is not None and length > MAX_BODY:
        raise _refused(request, too_large)
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise _refused(request, too_large) from None
    if len(raw) > MAX_BODY:
        raise _refused(request, too_large)
    return raw


def _refused(request: web.Request, error: CtiError) -> CtiError:
    log.info("%s %s: %d %s", request.method, request.path, error.status, error.message)
    return error


def read_query(request: web.Request, model: type[ModelT]) -> ModelT:
    """The query string validated by ``model``; the schema's types accept only the plain
    spelling of a value (``true``, ``12``, ISO 8601), and a key given twice is an error
    (which of the two was meant?)."""
    data: dict[str, str] = {}
    repeated: dict[str, str] = {}
    for key, value in request.query.items():
        if key in RESERVED_QUERY:
            continue
        if key in data:
            repeated[key] = "given more than once"
        if "\x00" in value:
            raise _no_nul(key)
        data[key] = value
    if repeated:
        names = ", ".join(repeated)
        raise ValidationError(f"invalid field(s): {names}", details={"fields": repeated})
    return model.model_validate(data)


def _no_nul(field: str) -> ValidationError:
    """PostgreSQL refuses NUL in text: refused here, naming the field, not there with a 500."""
    reason = "must not contain a NUL character"
    return ValidationError(f"invalid field(s): {field}", details={"fields": {field: reason}})


def path_id(request: web.Request, name: str = "id") -> int:
    """The integer id in the path; one no record can have is a plain 404."""
    text = request.match_info[name]
    value = int(text) if len(text) <= 12 else 0
    if not 1 <= value <= MAX_ID:
        raise NotFoundError(f"no record {text[:20]}", details={"id": text[:20]})
    return value


def json_model(model: BaseModel, status: int = 200) -> web.Response:
    return web.json_response(text=model.model_dump_json(), status=status)


def no_content() -> web.Response:
    return web.Response(status=204)
