"""Login, logout, the current user, and user management (supervisors and managers)."""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from cti.crm_store.rules.permissions import may_manage_account
from cti.crm_store.schemas.common import Page, PageParams
from cti.crm_store.schemas.users import LoginIn, LoginOut, Role, UserIn, UserOut, UserPatch
from cti.crm_store.services.users import hash_token
from cti.errors import ForbiddenError
from cti.web.auth import USERS, AuthUser, request_user, token_from
from cti.web.keys import HASH_GATE, LOGIN_THROTTLE, SESSION_EVENTS, TRUSTED_PROXIES
from cti.web.login_throttle import client_address
from cti.web.routing import RouteTable, json_model, no_content, path_id, read_body, read_query

ROUTES = RouteTable("users")


def _check_grant(actor: AuthUser, *roles: str | None) -> None:
    """Only a manager may create, change or hand out the manager role."""
    if not may_manage_account(actor.role, *roles):
        raise ForbiddenError(
            "only a manager may manage manager accounts", details={"role": actor.role}
        )


class UserQuery(PageParams):
    q: str | None = Field(default=None, max_length=64, description="username prefix")
    role: Role | None = None


@ROUTES.post(
    "/api/login",
    summary="Log in: trade username and password for a bearer token",
    body=LoginIn,
    response=LoginOut,
    errors=(401, 429, 503),
    perm=("session", "create"),
)
async def login(request: web.Request) -> web.Response:
    """See :mod:`cti.web.login_throttle` for the policy: the attempt takes its slots in the
    limits first (429 before any password is hashed), then waits for a hashing slot."""
    data = await read_body(request, LoginIn)
    app = request.app
    users = app[USERS]
    address = client_address(
        request.remote, request.headers.get("X-Forwarded-For"), app[TRUSTED_PROXIES]
    )
    device = data.device.get_secret_value() if data.device is not None else None
    known = device is not None and await users.knows_device(data.username, device)
    attempt = app[LOGIN_THROTTLE].begin(
        data.username, address, hash_token(device) if known and device else None
    )
    async with app[HASH_GATE].slot():
        user = await users.authenticate(data.username, data.password.get_secret_value())
    app[LOGIN_THROTTLE].succeeded(attempt)
    token = await users.issue_token(user.id)
    device = await users.remember_device(user.id, device if known else None)
    return json_model(
        LoginOut(token=token.token, expires_at=token.expires_at, user=user, device=device)
    )


@ROUTES.post(
    "/api/logout",
    summary="Revoke the token used for this request",
    status=204,
    perm=("session", "delete"),
)
async def logout(request: web.Request) -> web.Response:
    await request_user(request)
    token = token_from(request)
    if token is not None:
        await request.app[USERS].revoke_token(token)
        request.app[SESSION_EVENTS].token_revoked(hash_token(token))  # its sockets close too
    return no_content()


@ROUTES.get("/api/me", summary="The logged-in user", response=UserOut, perm=("session", "read"))
async def me(request: web.Request) -> web.Response:
    user = await request_user(request)
    return json_model(await request.app[USERS].get(user.id))


@ROUTES.get(
    "/api/users",
    summary="List users",
    query=UserQuery,
    response=Page[UserOut],
    perm=("users", "read"),
)
async def list_users(request: web.Request) -> web.Response:
    query = read_query(request, UserQuery)
    params = PageParams(page=query.page, per_page=query.per_page)
    page = await request.app[USERS].search(q=query.q, role=query.role, params=params)
    return json_model(page)


@ROUTES.post(
    "/api/users",
    summary="Create a user",
    body=UserIn,
    response=UserOut,
    status=201,
    errors=(409,),
    perm=("users", "create"),
)
async def create_user(request: web.Request) -> web.Response:
    data = await read_body(request, UserIn)
    _check_grant(await request_user(request), data.role)
    return json_model(await request.app[USERS].create(data), status=201)


@ROUTES.get(r"/api/users/{id:\d+}", summary="One user", response=UserOut, perm=("users", "read"))
async def get_user(request: web.Request) -> web.Response:
    return json_model(await request.app[USERS].get(path_id(request)))


@ROUTES.patch(
    r"/api/users/{id:\d+}",
    summary="Change a user (role, extensions, password, active)",
    body=UserPatch,
    response=UserOut,
    errors=(409,),
    perm=("users", "edit"),
)
async def update_user(request: web.Request) -> web.Response:
    data = await read_body(request, UserPatch)
    users = request.app[USERS]
    target = await users.get(path_id(request))
    _check_grant(await request_user(request), data.role, target.role)
    updated = await users.update(target.id, data)
    # the tokens were revoked with the change: every live socket of the user closes now
    if data.active is False:
        request.app[SESSION_EVENTS].user_revoked(target.id, "account disabled")
    elif data.password is not None:
        request.app[SESSION_EVENTS].user_revoked(target.id, "password changed")
    return json_model(updated)
