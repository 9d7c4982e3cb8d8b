"""Download links of exports: short-lived, single-use, stored so every daemon honours them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from cti.crm_store.models.base import Base


class DownloadLink(Base):
    """One export a user asked for, fetched once by the browser without a bearer token.

    Only the SHA-256 of the link's token is stored. ``session_hash`` is the SHA-256 of the
    bearer token (the login session) that made it: the link dies with that session (logout,
    disabled account, changed password) and with its user."""

    __tablename__ = "download_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    session_hash: Mapped[str] = mapped_column(String(64))
    #: what is exported (``calls``) and how (``csv``, ``xlsx``)
    kind: Mapped[str] = mapped_column(String(16))
    format: Mapped[str] = mapped_column(String(8))
    #: the export's filters and sort, as the request gave them
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    #: set when the link is used (claimed once, atomically)
    used_at: Mapped[datetime | None]
