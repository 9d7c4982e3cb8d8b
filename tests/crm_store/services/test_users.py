"""UserService on both backends: passwords, tokens, extensions, conflicts."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from cti.config import AuthConfig
from cti.crm_store.models.users import ApiToken, User
from cti.crm_store.schemas.users import UserIn, UserPatch
from cti.crm_store.services.users import UserService
from cti.crm_store.store import Store
from cti.crm_store.timeutil import as_utc, utcnow
from cti.errors import AuthError, ConflictError, NotFoundError

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PW = "s3cret-enough"


def service(store: Store, ttl_hours: float = 12.0) -> UserService:
    return UserService(store, AuthConfig(token_ttl_hours=ttl_hours), hasher=FAST)


def user_in(username: str, role: str = "operator", *exts: str) -> UserIn:
    return UserIn.model_validate(
        {"username": username, "password": PW, "role": role, "extensions": list(exts)}
    )


async def test_password_is_stored_as_argon2_and_authenticates(store: Store) -> None:
    users = service(store)
    created = await users.create(user_in("olga", "operator", "101"))
    async with store.sessions() as session:
        stored = await session.scalar(select(User.password_hash).where(User.id == created.id))
    assert stored is not None and stored.startswith("$argon2") and PW not in stored
    assert (await users.authenticate("olga", PW)).id == created.id


async def test_wrong_password_unknown_and_inactive_users_fail_alike(store: Store) -> None:
    users = service(store)
    created = await users.create(user_in("olga"))
    messages = []
    for name, password in (("olga", "wrong-password"), ("nobody", PW)):
        with pytest.raises(AuthError) as err:
            await users.authenticate(name, password)
        messages.append(err.value.message)
    await users.update(created.id, UserPatch(active=False))
    with pytest.raises(AuthError) as err:
        await users.authenticate("olga", PW)
    messages.append(err.value.message)
    assert len(set(messages)) == 1


async def test_token_is_stored_hashed_and_expires_after_ttl(store: Store) -> None:
    users = service(store, ttl_hours=2)
    created = await users.create(user_in("olga"))
    before = utcnow()
    issued = await users.issue_token(created.id)
    after = utcnow()
    assert before + timedelta(hours=2) <= issued.expires_at <= after + timedelta(hours=2)
    async with store.sessions() as session:
        row = await session.scalar(select(ApiToken))
    assert row is not None
    assert row.token_hash == hashlib.sha256(issued.token.encode()).hexdigest()
    assert issued.token not in row.token_hash
    assert as_utc(row.expires_at) == issued.expires_at
    assert (await users.verify_token(issued.token)).username == "olga"
    async with store.sessions() as session:
        await session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        await session.commit()
    with pytest.raises(AuthError, match="expired"):
        await users.verify_token(issued.token)


async def test_revoke_and_unknown_tokens(store: Store) -> None:
    users = service(store)
    created = await users.create(user_in("olga"))
    token, _ = await users.login("olga", PW)
    assert await users.revoke_token(token.token) is True
    assert await users.revoke_token(token.token) is False
    with pytest.raises(AuthError):
        await users.verify_token(token.token)
    with pytest.raises(AuthError):
        await users.verify_token("nope")
    with pytest.raises(AuthError):
        await users.verify_token("")
    other = await users.issue_token(created.id)
    assert await users.purge_tokens() == 1  # the revoked one
    assert (await users.verify_token(other.token)).id == created.id


async def test_password_change_and_deactivation_end_sessions(store: Store) -> None:
    users = service(store)
    created = await users.create(user_in("olga"))
    token = await users.issue_token(created.id)
    await users.update(created.id, UserPatch.model_validate({"password": "another-secret"}))
    with pytest.raises(AuthError):
        await users.verify_token(token.token)
    assert (await users.authenticate("olga", "another-secret")).id == created.id


async def test_extensions_route_to_users(store: Store) -> None:
    users = service(store)
    olga = await users.create(user_in("olga", "operator", "101", "102"))
    max_ = await users.create(user_in("max", "supervisor", "200"))
    found = await users.user_for_extension("102")
    assert found is not None and found.id == olga.id
    assert await users.user_for_extension("999") is None
    assert await users.extensions_of(olga.id) == ["101", "102"]
    mapping = await users.extension_map()
    assert {ext: u.username for ext, u in mapping.items()} == {
        "101": "olga",
        "102": "olga",
        "200": "max",
    }
    changed = await users.update(olga.id, UserPatch(extensions=["102", "103"]))
    assert sorted(changed.extensions) == ["102", "103"]
    assert await users.extensions_of(olga.id) == ["102", "103"]
    with pytest.raises(ConflictError):
        await users.update(max_.id, UserPatch(extensions=["103"]))
    await users.update(olga.id, UserPatch(active=False))
    assert await users.user_for_extension("102") is None


async def test_duplicates_and_missing_users(store: Store) -> None:
    users = service(store)
    await users.create(user_in("olga", "operator", "101"))
    with pytest.raises(ConflictError):
        await users.create(user_in("olga"))
    with pytest.raises(ConflictError):
        await users.create(user_in("ivan", "operator", "101"))
    with pytest.raises(NotFoundError):
        await users.get(404)
    with pytest.raises(NotFoundError):
        await users.issue_token(404)
    page = await users.search(role="operator")
    assert [u.username for u in page.items] == ["olga"]
