"""Users, passwords (argon2), extensions and bearer tokens (only their SHA-256 is stored).

Hashing runs in a worker thread so a login never stalls the event loop; authentication
spends the same work on unknown usernames so timing does not reveal which names exist. A
disabled account or a changed password ends every open session of the user.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from cti.config import AuthConfig
from cti.crm_store.repos.users import UserRepo
from cti.crm_store.schemas.common import Page, PageParams
from cti.crm_store.schemas.users import IssuedToken, UserIn, UserOut, UserPatch
from cti.crm_store.store import Store
from cti.crm_store.timeutil import as_utc, utcnow
from cti.errors import AuthError

_BAD_LOGIN = "invalid username or password"


#: login devices remembered per user (the latest ones)
DEVICES_KEPT = 20


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class UserService:
    """Create and manage users; log them in; issue, verify and revoke their tokens."""

    def __init__(
        self, store: Store, auth: AuthConfig | None = None, *, hasher: PasswordHasher | None = None
    ) -> None:
        self.store = store
        self.repo = UserRepo(store)
        self.ttl = timedelta(hours=(auth or AuthConfig()).token_ttl_hours)
        self.hasher = hasher or PasswordHasher()
        self._dummy_hash: str | None = None

    # -- users -------------------------------------------------------------------------------

    async def create(self, data: UserIn) -> UserOut:
        password_hash = await asyncio.to_thread(self.hasher.hash, data.password.get_secret_value())
        values = {
            "username": data.username,
            "full_name": data.full_name,
            "role": data.role,
            "password_hash": password_hash,
        }
        return await self.repo.create(values, data.extensions)

    async def get(self, user_id: int) -> UserOut:
        return await self.repo.get(user_id)

    async def by_username(self, username: str) -> UserOut | None:
        return await self.repo.by_username(username)

    async def update(self, user_id: int, patch: UserPatch) -> UserOut:
        values: dict[str, Any] = {
            field: getattr(patch, field)
            for field in ("role", "full_name", "active")
            if getattr(patch, field) is not None
        }
        if patch.password is not None:
            secret = patch.password.get_secret_value()
            values["password_hash"] = await asyncio.to_thread(self.hasher.hash, secret)
        revoke = patch.active is False or patch.password is not None
        return await self.repo.update(user_id, values, patch.extensions, revoke_tokens=revoke)

    async def search(
        self, *, q: str | None = None, role: str | None = None, params: PageParams | None = None
    ) -> Page[UserOut]:
        return await self.repo.search(q=q, role=role, params=params or PageParams())

    async def user_for_extension(self, extension: str) -> UserOut | None:
        """The active user who owns ``extension`` (screen-pop routing), if any."""
        return await self.repo.user_for_extension(extension)

    async def extensions_of(self, user_id: int) -> list[str]:
        return await self.repo.extensions_of(user_id)

    async def extension_owners(self) -> dict[str, int]:
        """Every extension of an active user → that user's id (one lean query)."""
        return await self.repo.extension_owners()

    async def extension_map(self) -> dict[str, UserOut]:
        """Every extension of an active user → that user (to cache routing in memory)."""
        return await self.repo.extension_map()

    # -- passwords and tokens ----------------------------------------------------------------

    async def authenticate(self, username: str, password: str) -> UserOut:
        """The active user with these credentials; :class:`AuthError` otherwise (never says
        whether the name exists)."""
        found = await self.repo.credentials(username)
        if found is None or not found[0].active:
            await asyncio.to_thread(self._verify, await self._dummy(), password)
            raise AuthError(_BAD_LOGIN)
        user, password_hash = found
        if not await asyncio.to_thread(self._verify, password_hash, password):
            raise AuthError(_BAD_LOGIN)
        return user

    async def issue_token(self, user_id: int) -> IssuedToken:
        token = secrets.token_urlsafe(32)
        now = utcnow()
        await self.repo.add_token(user_id, hash_token(token), now, now + self.ttl)
        return IssuedToken(token=token, expires_at=now + self.ttl)

    async def login(self, username: str, password: str) -> tuple[IssuedToken, UserOut]:
        user = await self.authenticate(username, password)
        return await self.issue_token(user.id), user

    async def verify_token(self, token: str) -> UserOut:
        """The user a live token belongs to; :class:`AuthError` if unknown/expired/revoked."""
        if not token or len(token) > 256:
            raise AuthError("invalid token")
        row = await self.repo.token(hash_token(token))
        if row is None:
            raise AuthError("invalid token")
        if row.revoked or not row.user.active:
            raise AuthError("token revoked")
        if as_utc(row.expires_at) <= utcnow():
            raise AuthError("token expired", details={"reason": "expired"})
        return row.user

    async def knows_device(self, username: str, device: str) -> bool:
        """Whether ``device`` (a device token) was given to ``username`` at a login."""
        if not 16 <= len(device) <= 128:
            return False
        return await self.repo.knows_device(username, hash_token(device))

    async def remember_device(self, user_id: int, device: str | None) -> str:
        """The device token for this login: ``device`` when it was the user's already,
        else a new one (only its SHA-256 is stored; the user's latest 20 are kept)."""
        token = device or secrets.token_urlsafe(24)
        await self.repo.remember_device(user_id, hash_token(token), utcnow(), DEVICES_KEPT)
        return token

    async def live_tokens(self, token_hashes: Sequence[str]) -> set[str]:
        """The hashes among ``token_hashes`` whose tokens are still good now."""
        return await self.repo.live_tokens(token_hashes, utcnow())

    async def revoke_token(self, token: str) -> bool:
        """Revoke ``token``; True if it existed and was live."""
        return await self.repo.revoke_token(hash_token(token))

    async def purge_tokens(self) -> int:
        """Delete expired and revoked tokens; returns how many."""
        return await self.repo.purge_tokens(utcnow())

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


__all__ = ["UserService", "hash_token"]
