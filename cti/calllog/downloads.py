"""Export links: made by a logged-in user, fetched once by their browser without a token.

A browser download cannot send an ``Authorization`` header, and a bearer token must not
go into a URL (histories, proxy logs, ``Referer``). So ``POST /api/exports`` stores a link:
a fresh random token (only its SHA-256 kept, in the database every daemon shares), the
export's filters, the user and their login session, and a short life (``[exports]
link_seconds``). ``GET /api/downloads/{token}`` claims it atomically (used once, by
whichever daemon gets it first), checks that the session is still live and the user
active, and exports with that user's visibility *as it is now* (a role changed meanwhile
counts).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from cti.crm_store.repos.downloads import DownloadLinkRepo
from cti.crm_store.rules.permissions import Scope, scope_of
from cti.crm_store.schemas.calls import ExportIn, ExportLinkOut
from cti.crm_store.schemas.users import UserOut
from cti.crm_store.services.users import UserService, hash_token
from cti.crm_store.store import Store
from cti.crm_store.timeutil import utcnow
from cti.errors import ForbiddenError, NotFoundError

_GONE = "no such download link: unknown, used already, or expired (export again)"


@dataclass(frozen=True, slots=True)
class Download:
    """A claimed link: the export to make, and the call scope of its user (None: all)."""

    export: ExportIn
    user: UserOut
    extensions: tuple[str, ...] | None


class Downloads:
    def __init__(self, store: Store, users: UserService, link_seconds: float) -> None:
        self.repo = DownloadLinkRepo(store)
        self.users = users
        self.ttl = timedelta(seconds=link_seconds)

    async def create(
        self, user_id: int, session_token: str, export: ExportIn, now: datetime | None = None
    ) -> ExportLinkOut:
        """A new single-use link to ``export`` for ``user_id``'s login ``session_token``."""
        now = now or utcnow()
        token = secrets.token_urlsafe(32)
        values = {
            "token_hash": hash_token(token),
            "user_id": user_id,
            "session_hash": hash_token(session_token),
            "kind": export.kind,
            "format": export.format,
            "params": export.model_dump(mode="json", by_alias=True, exclude_none=True),
            "expires_at": now + self.ttl,
        }
        await self.repo.add(values, now)
        return ExportLinkOut(url=f"/api/downloads/{token}", expires_at=now + self.ttl)

    async def claim(self, token: str, now: datetime | None = None) -> Download:
        """Use the link ``token`` (404 when it is unknown, used, expired or its session
        ended; 403 when its user may no longer read calls)."""
        if not 16 <= len(token) <= 128:
            raise NotFoundError(_GONE)
        now = now or utcnow()
        link = await self.repo.claim(hash_token(token), now)
        if link is None or not await self.users.live_tokens([link.session_hash]):
            raise NotFoundError(_GONE)
        user = await self.users.get(link.user_id)
        scope = scope_of(user.role, ("calls", "read"))
        if scope is Scope.NONE:
            raise ForbiddenError(f"role {user.role!r} may not read calls")
        export = ExportIn.model_validate(link.params)
        extensions = None if scope is Scope.ALL else tuple(user.extensions)
        return Download(export, user, extensions)
