"""Web fixtures: the real app on a real (SQLite) store, a test client, logged-in users.

Passwords are hashed with argon2 at its lowest cost so the suite stays fast; the code path
is the production one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher

from cti.config import Settings
from cti.crm_store.schemas.users import UserIn, UserOut
from cti.crm_store.store import Store
from cti.web.app import create_app
from cti.web.auth import USERS

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "correct horse battery"

Client = TestClient[web.Request, web.Application]


@dataclass
class Login:
    user: UserOut
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


MakeUser = Callable[..., Awaitable[Login]]


@pytest.fixture
def app(sqlite_store: Store) -> web.Application:
    return create_app(Settings(), store=sqlite_store, password_hasher=FAST_HASHER)


@pytest.fixture
async def client(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]], app: web.Application
) -> Client:
    return await aiohttp_client(app)


@pytest.fixture
def make_user(app: web.Application) -> MakeUser:
    """Create a user in the store and issue a token for them (no HTTP round trip)."""

    async def make(
        username: str, role: str = "operator", extensions: tuple[str, ...] = ()
    ) -> Login:
        users = app[USERS]
        user = await users.create(
            UserIn.model_validate(
                {
                    "username": username,
                    "password": PASSWORD,
                    "role": role,
                    "extensions": list(extensions),
                }
            )
        )
        token = await users.issue_token(user.id)
        return Login(user, token.token)

    return make


@pytest.fixture
async def operator(make_user: MakeUser) -> Login:
    return await make_user("olga", "operator", ("101",))


@pytest.fixture
async def manager(make_user: MakeUser) -> Login:
    return await make_user("max", "manager", ("200",))
