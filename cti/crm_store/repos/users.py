"""Users, their extensions and bearer tokens in SQL (tokens by their SHA-256 only).

A uniqueness race lost to another writer (username, extension) is a 409, not a 500.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cti.crm_store.models.users import ApiToken, LoginDevice, User, UserExtension
from cti.crm_store.repos.base import get_or_404, paginate
from cti.crm_store.schemas.common import Page, PageParams
from cti.crm_store.schemas.users import UserOut
from cti.crm_store.store import Store
from cti.errors import ConflictError


@dataclass(frozen=True, slots=True)
class TokenRow:
    """A stored token and its user, as read to verify it."""

    revoked: bool
    expires_at: datetime
    user: UserOut


def conflict(field: str, message: str) -> ConflictError:
    return ConflictError(message, details={"fields": {field: message}})


async def _commit(session: AsyncSession) -> None:
    """Commit; a uniqueness race lost to another writer is a 409, not a 500."""
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise ConflictError("conflicting user data (username or extension taken)") from exc


async def _check_extensions_free(
    session: AsyncSession, extensions: Sequence[str], user_id: int | None
) -> None:
    if not extensions:
        return
    rows = await session.execute(
        select(UserExtension.extension, UserExtension.user_id).where(
            UserExtension.extension.in_(list(extensions))
        )
    )
    for extension, owner in rows:
        if owner != user_id:
            raise conflict("extensions", f"extension {extension} belongs to another user")


class UserRepo:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def create(self, values: Mapping[str, Any], extensions: Sequence[str]) -> UserOut:
        """A new active user; its username and extensions must be free."""
        async with self.store.sessions() as session:
            username = values["username"]
            if await session.scalar(select(User.id).where(User.username == username)):
                raise conflict("username", f"username {username!r} is taken")
            await _check_extensions_free(session, extensions, user_id=None)
            user = User(
                **values,
                active=True,
                extensions=[UserExtension(extension=e) for e in extensions],
            )
            session.add(user)
            await _commit(session)
            return UserOut.model_validate(user)

    async def get(self, user_id: int) -> UserOut:
        async with self.store.sessions() as session:
            return UserOut.model_validate(await get_or_404(session, User, user_id, "user"))

    async def by_username(self, username: str) -> UserOut | None:
        async with self.store.sessions() as session:
            user = await session.scalar(select(User).where(User.username == username))
            return None if user is None else UserOut.model_validate(user)

    async def credentials(self, username: str) -> tuple[UserOut, str] | None:
        """The user called ``username`` and their password hash."""
        async with self.store.sessions() as session:
            user = await session.scalar(select(User).where(User.username == username))
            return None if user is None else (UserOut.model_validate(user), user.password_hash)

    async def update(
        self,
        user_id: int,
        values: Mapping[str, Any],
        extensions: Sequence[str] | None,
        *,
        revoke_tokens: bool,
    ) -> UserOut:
        """Set ``values``; ``extensions`` (when given) become the user's, in that order of
        addition; ``revoke_tokens`` ends every open session of the user."""
        async with self.store.sessions() as session:
            user = await get_or_404(session, User, user_id, "user")
            for field, value in values.items():
                setattr(user, field, value)
            if extensions is not None:
                await _check_extensions_free(session, extensions, user_id=user_id)
                wanted = set(extensions)
                user.extensions = [e for e in user.extensions if e.extension in wanted]
                have = {e.extension for e in user.extensions}
                user.extensions.extend(
                    UserExtension(extension=e) for e in extensions if e not in have
                )
            if revoke_tokens:
                await session.execute(
                    update(ApiToken).where(ApiToken.user_id == user_id).values(revoked=True)
                )
            await _commit(session)
            await session.refresh(user, ["extensions"])
            return UserOut.model_validate(user)

    async def search(self, *, q: str | None, role: str | None, params: PageParams) -> Page[UserOut]:
        stmt = select(User)
        if q:
            stmt = stmt.where(User.username.startswith(q, autoescape=True))
        if role:
            stmt = stmt.where(User.role == role)
        async with self.store.sessions() as session:
            return await paginate(session, stmt, params, UserOut, [User.username])

    async def user_for_extension(self, extension: str) -> UserOut | None:
        """The active user who owns ``extension`` (screen-pop routing), if any."""
        async with self.store.sessions() as session:
            user = await session.scalar(
                select(User)
                .join(UserExtension, UserExtension.user_id == User.id)
                .where(UserExtension.extension == extension, User.active.is_(True))
            )
            return None if user is None else UserOut.model_validate(user)

    async def extensions_of(self, user_id: int) -> list[str]:
        async with self.store.sessions() as session:
            rows = await session.scalars(
                select(UserExtension.extension)
                .where(UserExtension.user_id == user_id)
                .order_by(UserExtension.extension)
            )
            return list(rows)

    async def extension_owners(self) -> dict[str, int]:
        """Every extension of an active user → that user's id (one lean query)."""
        async with self.store.sessions() as session:
            rows = await session.execute(
                select(UserExtension.extension, UserExtension.user_id)
                .join(User, UserExtension.user_id == User.id)
                .where(User.active.is_(True))
            )
            return {ext: user_id for ext, user_id in rows.all()}

    async def extension_map(self) -> dict[str, UserOut]:
        """Every extension of an active user → that user (to cache routing in memory)."""
        async with self.store.sessions() as session:
            users = await session.scalars(select(User).where(User.active.is_(True)))
            out: dict[str, UserOut] = {}
            for user in users:
                model = UserOut.model_validate(user)
                out.update(dict.fromkeys(model.extensions, model))
            return out

    # -- tokens ----------------------------------------------------------------------------

    async def add_token(
        self, user_id: int, token_hash: str, created_at: datetime, expires_at: datetime
    ) -> None:
        async with self.store.sessions() as session:
            await get_or_404(session, User, user_id, "user")
            session.add(
                ApiToken(
                    user_id=user_id,
                    token_hash=token_hash,
                    created_at=created_at,
                    expires_at=expires_at,
                    revoked=False,
                )
            )
            await session.commit()

    async def token(self, token_hash: str) -> TokenRow | None:
        async with self.store.sessions() as session:
            row = (
                await session.execute(
                    select(ApiToken, User)
                    .join(User, User.id == ApiToken.user_id)
                    .where(ApiToken.token_hash == token_hash)
                )
            ).first()
            if row is None:
                return None
            api_token, user = row
            return TokenRow(api_token.revoked, api_token.expires_at, UserOut.model_validate(user))

    async def knows_device(self, username: str, token_hash: str) -> bool:
        """Whether this device token was given to the (active) user ``username``."""
        async with self.store.sessions() as session:
            found = await session.scalar(
                select(LoginDevice.id)
                .join(User, User.id == LoginDevice.user_id)
                .where(LoginDevice.token_hash == token_hash, User.username == username)
                .where(User.active.is_(True))
            )
            return found is not None

    async def remember_device(
        self, user_id: int, token_hash: str, now: datetime, keep: int
    ) -> None:
        """Record (or refresh) a device of the user; only their latest ``keep`` are kept."""
        async with self.store.sessions() as session:
            touched = await session.execute(
                update(LoginDevice)
                .where(LoginDevice.token_hash == token_hash, LoginDevice.user_id == user_id)
                .values(last_used_at=now)
            )
            if not getattr(touched, "rowcount", 0):
                session.add(
                    LoginDevice(
                        user_id=user_id, token_hash=token_hash, created_at=now, last_used_at=now
                    )
                )
                await session.flush()
                stale = (
                    select(LoginDevice.id)
                    .where(LoginDevice.user_id == user_id)
                    .order_by(LoginDevice.last_used_at.desc(), LoginDevice.id.desc())
                    .offset(keep)
                )
                await session.execute(delete(LoginDevice).where(LoginDevice.id.in_(stale)))
            await session.commit()

    async def live_tokens(self, token_hashes: Sequence[str], now: datetime) -> set[str]:
        """Which of ``token_hashes`` are still good (not revoked, not expired, their user
        active): one indexed read for all of a daemon's sockets."""
        live: set[str] = set()
        hashes = sorted(set(token_hashes))
        async with self.store.sessions() as session:
            for i in range(0, len(hashes), 500):
                rows = await session.scalars(
                    select(ApiToken.token_hash)
                    .join(User, User.id == ApiToken.user_id)
                    .where(ApiToken.token_hash.in_(hashes[i : i + 500]))
                    .where(ApiToken.revoked.is_(False), ApiToken.expires_at > now)
                    .where(User.active.is_(True))
                )
                live.update(rows)
        return live

    async def revoke_token(self, token_hash: str) -> bool:
        """Revoke the token; True if it existed and was live."""
        async with self.store.sessions() as session:
            result = await session.execute(
                update(ApiToken)
                .where(ApiToken.token_hash == token_hash, ApiToken.revoked.is_(False))
                .values(revoked=True)
            )
            await session.commit()
            return bool(getattr(result, "rowcount", 0))

    async def purge_tokens(self, now: datetime) -> int:
        """Delete tokens expired by ``now`` and revoked ones; returns how many."""
        async with self.store.sessions() as session:
            result = await session.execute(
                delete(ApiToken).where((ApiToken.expires_at <= now) | ApiToken.revoked.is_(True))
            )
            await session.commit()
            return int(getattr(result, "rowcount", 0))
