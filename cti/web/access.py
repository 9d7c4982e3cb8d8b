"""The one permission check: the caller's role, looked up in the permission table.

Every route declares the (resource, action) it performs (:class:`~cti.web.routing.RouteTable`
routes, :func:`guard` for other handlers, :func:`~cti.web.routing.declare` for the WebSocket,
which calls :func:`grant_for` itself). The check runs before the handler: no token → 401,
scope ``none`` → 403; otherwise the request carries a :class:`Grant` whose
:class:`~cti.crm_store.rules.visibility.Viewer` handlers pass to the services, which limit
``own`` scopes to the user's own records through the visibility rules.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from cti.crm_store.rules.permissions import Perm, Scope, rule_for, scope_of
from cti.crm_store.rules.visibility import Viewer
from cti.errors import ForbiddenError
from cti.web.auth import AuthUser, authenticate_request
from cti.web.routing import Handler, declare


@dataclass(frozen=True)
class Grant:
    """What the table gave the caller of a request: their scope for its (resource, action)."""

    user: AuthUser
    scope: Scope

    @property
    def viewer(self) -> Viewer:
        return Viewer(self.user.id, self.user.extensions, own=self.scope is not Scope.ALL)


GRANT = web.RequestKey("grant", Grant)


def grant_for(user: AuthUser, perm: Perm) -> Grant:
    """``user``'s grant for ``perm``; :class:`ForbiddenError` (403) when the table says none."""
    scope = scope_of(user.role, perm)
    if scope is Scope.NONE:
        resource, action = perm
        raise ForbiddenError(
            f"role {user.role!r} may not {action} {resource}",
            details={"role": user.role, "resource": resource, "action": action},
        )
    return Grant(user, scope)


async def authorize(request: web.Request, perm: Perm) -> Grant | None:
    """Apply ``perm`` to the caller of ``request`` (401, 403); None for a public rule."""
    if rule_for(perm).public:
        return None
    grant = grant_for(await authenticate_request(request), perm)
    request[GRANT] = grant
    return grant


def guard(perm: Perm) -> Callable[[Handler], Handler]:
    """Declare ``perm`` on a handler and check it before the handler runs."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            await authorize(request, perm)
            return await handler(request)

        return declare(perm)(guarded)

    return decorate


def grant_of(request: web.Request) -> Grant:
    """The grant :func:`guard` stored for this request (a handler behind a private rule)."""
    return request[GRANT]


def viewer_of(request: web.Request) -> Viewer:
    """Whom the request's reads and writes are for, as the services take it."""
    return request[GRANT].viewer
