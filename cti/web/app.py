"""The aiohttp application: settings, event bus, store, middlewares and the ``/api`` routes.

Other features add their own routes and ``cleanup_ctx`` entries to the app this returns
(screen-pop ``/ws`` and pages, AMI connections); everything they add is behind the same
token check unless they put a path on the public allow-list (:func:`cti.web.auth.allow_public`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web
from argon2 import PasswordHasher

from cti.bus import EventBus
from cti.config import Settings
from cti.crm_store.services.users import UserService
from cti.crm_store.store import Store
from cti.web import (
    http_contacts,
    http_deals,
    http_notes,
    http_tasks,
    http_tickets,
    http_users,
    openapi,
)
from cti.web.auth import PUBLIC_PATHS, USERS, PublicPaths, auth_middleware
from cti.web.jsonbody import MAX_BODY
from cti.web.keys import (
    BUS,
    HASH_GATE,
    LOGIN_THROTTLE,
    SESSION_EVENTS,
    SETTINGS,
    STORE,
    TASK_EVENTS,
    TRUSTED_PROXIES,
    TaskEvents,
)
from cti.web.login_throttle import HashGate, LoginThrottle, TrustedProxies
from cti.web.middleware import error_middleware
from cti.web.sessions import SessionEvents

#: front-end libraries every page shares (Chart.js), served locally: see its README.md
VENDOR_DIR = Path(__file__).parent / "static" / "vendor"

API_MODULES = (http_users, http_contacts, http_deals, http_tickets, http_tasks, http_notes, openapi)


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    password_hasher: PasswordHasher | None = None,
) -> web.Application:
    """The application; opens (and closes) its own store unless ``store`` is given."""
    app = web.Application(middlewares=[error_middleware, auth_middleware], client_max_size=MAX_BODY)
    app[SETTINGS] = settings
    app[BUS] = EventBus()
    app[TASK_EVENTS] = TaskEvents()
    app[SESSION_EVENTS] = SessionEvents()
    app[PUBLIC_PATHS] = PublicPaths()
    auth = settings.auth
    app[LOGIN_THROTTLE] = LoginThrottle(
        per_user=auth.login_failures,
        per_address=auth.login_failures_per_address,
        per_account=auth.login_failures_per_account,
        per_device=auth.device_failures,
        window=auth.login_window_minutes * 60,
    )
    app[HASH_GATE] = HashGate(auth.max_concurrent_logins, auth.max_waiting_logins)
    app[TRUSTED_PROXIES] = TrustedProxies(settings.http.trusted_proxies)

    def attach(opened: Store) -> None:
        app[STORE] = opened
        app[USERS] = UserService(opened, settings.auth, hasher=password_hasher)
        http_contacts.attach_lookup(app)

    if store is not None:
        attach(store)
    else:

        async def store_ctx(app: web.Application) -> AsyncIterator[None]:
            opened = await Store.open(settings.db_url, settings.phone)
            attach(opened)
            try:
                yield
            finally:
                await opened.close()

        app.cleanup_ctx.append(store_ctx)

    app.cleanup_ctx.append(http_contacts.lookup_ctx)
    for module in API_MODULES:
        module.ROUTES.install(app)
    app.router.add_static("/static/vendor/", VENDOR_DIR, name="vendor-static")
    return app
