"""Bearer-token authentication for HTTP and WebSocket handlers.

Every request needs a token unless its route is declared public or its path is on the
application's public allow-list (login, the static page assets). What an authenticated
caller may do is :mod:`cti.web.access`'s check (403).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from cti.crm_store.schemas.users import UserOut
from cti.crm_store.services.users import UserService
from cti.errors import AuthError
from cti.web.routing import Handler, api_doc


@dataclass(frozen=True)
class AuthUser:
    """The authenticated caller of a request."""

    id: int
    username: str
    role: str
    extensions: tuple[str, ...]
    full_name: str = ""

    @classmethod
    def from_user(cls, user: UserOut) -> AuthUser:
        return cls(user.id, user.username, user.role, tuple(user.extensions), user.full_name)

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "username": self.username,
            "full_name": self.full_name,
            "role": self.role,
            "extensions": list(self.extensions),
        }


@dataclass
class PublicPaths:
    """Paths served without a token: exact paths and path prefixes."""

    exact: set[str] = field(default_factory=lambda: {"/", "/favicon.ico"})
    prefixes: list[str] = field(default_factory=lambda: ["/static/"])

    def allows(self, path: str) -> bool:
        return path in self.exact or any(path.startswith(p) for p in self.prefixes)


USERS = web.AppKey("users", UserService)
PUBLIC_PATHS = web.AppKey("public_paths", PublicPaths)
AUTH_USER = web.RequestKey("auth_user", AuthUser)


def allow_public(app: web.Application, path: str, *, prefix: bool = False) -> None:
    """Serve ``path`` (or everything under it) without a token — page assets only."""
    public = app[PUBLIC_PATHS]
    if prefix:
        public.prefixes.append(path)
    else:
        public.exact.add(path)


def token_from(request: web.Request) -> str | None:
    """The bearer token from ``Authorization: Bearer …`` (REST takes it from nowhere else:
    a token in a URL ends up in browser histories, proxies' logs and ``Referer`` headers;
    the WebSocket handshake has its own way, :mod:`cti.screenpop.http`)."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


async def authenticate_request(request: web.Request) -> AuthUser:
    """The caller of ``request``; :class:`AuthError` (401) without a live token."""
    if AUTH_USER in request:
        return request[AUTH_USER]
    token = token_from(request)
    if token is None:
        raise AuthError("missing bearer token", details={"header": "Authorization"})
    user = AuthUser.from_user(await request.app[USERS].verify_token(token))
    request[AUTH_USER] = user
    return user


async def request_user(request: web.Request) -> AuthUser:
    """Alias used by handlers: the (already checked) caller of ``request``."""
    return await authenticate_request(request)


def is_public(request: web.Request) -> bool:
    match_info = request.match_info
    if match_info.http_exception is not None:
        return True  # no such route: let the router answer 404/405
    doc = api_doc(match_info.route.handler)
    if doc is not None:
        return doc.public
    return request.app[PUBLIC_PATHS].allows(request.path)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Authenticate by default; only public routes and allow-listed paths skip it."""
    if not is_public(request):
        await authenticate_request(request)
    return await handler(request)
