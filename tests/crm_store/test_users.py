"""UserService on both backends, and the ``cti user`` commands."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
import typer
from argon2 import PasswordHasher
from sqlalchemy import select, update
from typer.testing import CliRunner

from cti.config import AuthConfig
from cti.crm_store import users_cli
from cti.crm_store.models.users import ApiToken, User
from cti.crm_store.schemas.users import UserIn, UserPatch
from cti.crm_store.store import Store
from cti.crm_store.timeutil import as_utc, utcnow
from cti.crm_store.users import UserService
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


def _cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """cti."""

    users_cli.register(app)
    return app


def test_cli_add_and_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"CTI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"}
    runner = CliRunner()
    app = _cli()
    args = ["user", "add", "anna", "--role", "supervisor", "-e", "301", "-e", "302"]
    result = runner.invoke(app, [*args, "--password-stdin"], input=f"{PW}\n", env=env)
    assert result.exit_code == 0, result.output
    assert "created user anna" in result.output
    prompted = ["user", "add", "boris", "--role", "operator", "--full-name", "Boris B"]
    result = runner.invoke(app, prompted, input=f"{PW}\n{PW}\n", env=env)
    assert result.exit_code == 0, result.output
    assert PW not in result.output
    listing = runner.invoke(app, ["user", "list"], env=env)
    assert listing.exit_code == 0, listing.output
    assert "anna" in listing.output and "301, 302" in listing.output
    assert "Boris B" in listing.output


def test_cli_rejects_bad_role_naming_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"CTI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"}
    args = ["user", "add", "anna", "--role", "boss", "--password-stdin"]
    result = CliRunner().invoke(_cli(), args, input=f"{PW}\n", env=env)
    assert result.exit_code != 0
    assert "role" in str(result.exception)
