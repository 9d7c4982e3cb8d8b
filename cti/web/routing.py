"""Declared API routes: each handler carries its OpenAPI facts (schemas, roles, public flag).

One declaration drives three things, so they cannot drift apart: the router entry, the role
check (403) done before the handler runs, and the OpenAPI description of the route.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel

from cti.errors import BadRequestError, NotFoundError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ModelT = TypeVar("ModelT", bound=BaseModel)

API_DOC_ATTR = "__cti_api_doc__"
#: query parameters the API reads itself and never passes on to a handler's query model
RESERVED_QUERY = frozenset({"token"})


@dataclass(frozen=True)
class ApiDoc:
    """What the OpenAPI generator (and the auth middleware) know about one route."""

    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    roles: tuple[str, ...] = ()
    public: bool = False
    errors: tuple[int, ...] = ()


def api_doc(handler: Any) -> ApiDoc | None:
    doc = getattr(handler, API_DOC_ATTR, None)
    return doc if isinstance(doc, ApiDoc) else None


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
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        roles: tuple[str, ...] = (),
        public: bool = False,
        errors: tuple[int, ...] = (),
    ) -> Callable[[Handler], Handler]:
        doc = ApiDoc(summary, self.tag, body, query, response, status, roles, public, errors)

        def decorate(handler: Handler) -> Handler:
            wrapped = handler
            if roles:
                wrapped = _with_roles(handler, roles)
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


def _with_roles(handler: Handler, roles: tuple[str, ...]) -> Handler:
    from cti.web.auth import check_role, request_user  # auth imports this module

    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        check_role(await request_user(request), *roles)
        return await handler(request)

    return guarded


# -- request / response helpers used by every handler ------------------------------------------


async def read_body(request: web.Request, model: type[ModelT]) -> ModelT:
    """The JSON body validated by ``model``: malformed JSON → 400, bad fields → 422."""
    raw = await request.read()
    if not raw:
        raise BadRequestError("request body must be a JSON object", details={"body": "missing"})
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequestError(
            f"malformed JSON body: {exc}", details={"body": "malformed JSON"}
        ) from None
    return model.model_validate(data)


def read_query(request: web.Request, model: type[ModelT]) -> ModelT:
    """The query string validated by ``model`` (a repeated key keeps its last value)."""
    data = {k: v for k, v in request.query.items() if k not in RESERVED_QUERY}
    return model.model_validate(data)


def path_id(request: web.Request, name: str = "id") -> int:
    """The integer id in the path; one no record can have is a plain 404."""
    from cti.crm_store.schemas.refs import MAX_ID

    value = int(request.match_info[name])
    if not 1 <= value <= MAX_ID:
        raise NotFoundError(f"no record {value}", details={"id": value})
    return value


def json_model(model: BaseModel, status: int = 200) -> web.Response:
    return web.json_response(text=model.model_dump_json(), status=status)


def no_content() -> web.Response:
    return web.Response(status=204)
