"""Users, passwords (argon2), extensions and bearer tokens (only their SHA-256 is stored).

Hashing runs in a worker thread so a login never stalls the event loop; authentication
spends the same work on unknown usernames so timing does not reveal which names exist.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Sequence
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cti.config import AuthConfig
from cti.crm_store.crud import get_or_404, paginate
from cti.crm_store.models.users import ApiToken, User, UserExtension
from cti.crm_store.schemas.common import Page, PageParams
from cti.crm_store.schemas.users import IssuedToken, UserIn, UserOut, UserPatch
from cti.crm_store.store import Store
from cti.crm_store.timeutil import as_utc, utcnow
from cti.errors import AuthError, ConflictError

_BAD_LOGIN = "invalid username or password"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class UserService:
    """Create and manage users; log them in; issue, verify and revoke their tokens."""

    def __init__(
        self, store: Store, auth: AuthConfig | None = None, *, hasher: PasswordHasher | None = None
    ) -> None:
        self.store = store
        self.ttl = timedelta(hours=(auth or AuthConfig()).token_ttl_hours)
        self.hasher = hasher or PasswordHasher()
        self._dummy_hash: str | None = None

    # -- users -------------------------------------------------------------------------------

    async def create(self, data: UserIn) -> UserOut:
        password_hash = await asyncio.to_thread(self.hasher.hash, data.password.get_secret_value())
        async with self.store.sessions() as session:
            if await session.scalar(select(User.id).where(User.username == data.username)):
                raise _conflict("username", f"username {data.username!r} is taken")
            await self._check_extensions_free(session, data.extensions, user_id=None)
            user = User(
                username=data.username,
                full_name=data.full_name,
                role=data.role,
                password_hash=password_hash,
                active=True,
                extensions=[UserExtension(extension=e) for e in data.extensions],
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

    async def update(self, user_id: int, patch: UserPatch) -> UserOut:
        new_hash = None
        if patch.password is not None:
            new_hash = await asyncio.to_thread(self.hasher.hash, patch.password.get_secret_value())
        async with self.store.sessions() as session:
            user = await get_or_404(session, User, user_id, "user")
            if patch.role is not None:
                user.role = patch.role
            if patch.full_name is not None:
                user.full_name = patch.full_name
            if patch.active is not None:
                user.active = patch.active
            if new_hash is not None:
                user.password_hash = new_hash
            if patch.extensions is not None:
                await self._check_extensions_free(session, patch.extensions, user_id=user_id)
                wanted = set(patch.extensions)
                user.extensions = [e for e in user.extensions if e.extension in wanted]
                have = {e.extension for e in user.extensions}
                user.extensions.extend(
                    UserExtension(extension=e) for e in patch.extensions if e not in have
                )
            if patch.active is False or new_hash is not None:
                # a disabled account or a changed password ends every open session
                await session.execute(
                    update(ApiToken).where(ApiToken.user_id == user_id).values(revoked=True)
                )
            await _commit(session)
            await session.refresh(user, ["extensions"])
            return UserOut.model_validate(user)

    async def search(
        self, *, q: str | None = None, role: str | None = None, params: PageParams | None = None
    ) -> Page[UserOut]:
        stmt = select(User)
        if q:
            stmt = stmt.where(User.username.startswith(q, autoescape=True))
        if role:
            stmt = stmt.where(User.role == role)
        async with self.store.sessions() as session:
            return await paginate(session, stmt, params or PageParams(), UserOut, [User.username])

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

    # -- passwords and tokens ----------------------------------------------------------------

    async def authenticate(self, username: str, password: str) -> UserOut:
        """The active user with these credentials; :class:`AuthError` otherwise (never says
        whether the name exists)."""
        async with self.store.sessions() as session:
            user = await session.scalar(select(User).where(User.username == username))
        if user is None or not user.active:
            await asyncio.to_thread(self._verify, await self._dummy(), password)
            raise AuthError(_BAD_LOGIN)
        if not await asyncio.to_thread(self._verify, user.password_hash, password):
            raise AuthError(_BAD_LOGIN)
        return UserOut.model_validate(user)

    async def issue_token(self, user_id: int) -> IssuedToken:
        token = secrets.token_urlsafe(32)
        now = utcnow()
        async with self.store.sessions() as session:
            await get_or_404(session, User, user_id, "user")
            session.add(
                ApiToken(
                    user_id=user_id,
                    token_hash=hash_token(token),
                    created_at=now,
                    expires_at=now + self.ttl,
                    revoked=False,
                )
            )
            await session.commit()
        return IssuedToken(token=token, expires_at=now + self.ttl)

    async def login(self, username: str, password: str) -> tuple[IssuedToken, UserOut]:
        user = await self.authenticate(username, password)
        return await self.issue_token(user.id), user

    async def verify_token(self, token: str) -> UserOut:
        """The user a live token belongs to; :class:`AuthError` if unknown/expired/revoked."""
        if not token or len(token) > 256:
            raise AuthError("invalid token")
        async with self.store.sessions() as session:
            row = (
                await session.execute(
                    select(ApiToken, User)
                    .join(User, User.id == ApiToken.user_id)
                    .where(ApiToken.token_hash == hash_token(token))
                )
            ).first()
            if row is None:
                raise AuthError("invalid token")
            api_token, user = row
            if api_token.revoked or not user.active:
                raise AuthError("token revoked")
            if as_utc(api_token.expires_at) <= utcnow():
                raise AuthError("token expired", details={"reason": "expired"})
            return UserOut.model_validate(user)

    async def revoke_token(self, token: str) -> bool:
        """Revoke ``token``; True if it existed and was live."""
        async with self.store.sessions() as session:
            result = await session.execute(
                update(ApiToken)
                .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked.is_(False))
                .values(revoked=True)
            )
            await session.commit()
            return bool(getattr(result, "rowcount", 0))

    async def purge_tokens(self) -> int:
        """Delete expired and revoked tokens; returns how many."""
        async with self.store.sessions() as session:
            result = await session.execute(
                delete(ApiToken).where(
                    (ApiToken.expires_at <= utcnow()) | ApiToken.revoked.is_(True)
                )
            )
            await session.commit()
            return int(getattr(result, "rowcount", 0))

    # -- internals ---------------------------------------------------------------------------

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await asyncio.to_thread(self.hasher.hash, secrets.token_hex(16))
        return self._dummy_hash

    async def _check_extensions_free(
        self, session: AsyncSession, extensions: Sequence[str], user_id: int | None
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
                raise _conflict("extensions", f"extension {extension} belongs to another user")


def _conflict(field: str, message: str) -> ConflictError:
    return ConflictError(message, details={"fields": {field: message}})


async def _commit(session: AsyncSession) -> None:
    """Commit; a uniqueness race lost to another writer is a 409, not a 500."""
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise ConflictError("conflicting user data (username or extension taken)") from exc


__all__ = ["UserService", "hash_token"]
