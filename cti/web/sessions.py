"""Sessions that ended, and who must drop their live connections because of it.

A token is revoked by logging out; all of a user's tokens when the user is disabled or their
password changes. The REST API then refuses the token at once (it is checked on every
request); live WebSockets opened with it must close too. :class:`SessionEvents` tells the
features that hold such connections (the screen-pop hub), in this process, the moment it
happens. Several daemons: each also sweeps its sockets against the store every
``auth.session_sweep_seconds``, so a session ended on another daemon ends here within that
time; a shared backend (PostgreSQL ``LISTEN/NOTIFY``, Redis pub/sub) can call
:meth:`SessionEvents.ended` on every node to make that immediate too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Ended:
    """One token (``token_hash``) or every token of a user (``user_id``) ended, and why."""

    reason: str
    token_hash: str | None = None
    user_id: int | None = None

    def covers(self, token_hash: str, user_id: int) -> bool:
        return token_hash == self.token_hash or user_id == self.user_id


class SessionEvents:
    """In-process fan-out of ended sessions (see the module docs)."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[Ended], object]] = []

    def subscribe(self, listener: Callable[[Ended], object]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def ended(self, event: Ended) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # one feature's bug must not keep the others' sockets open
                log.exception("session listener %r failed", listener)

    def token_revoked(self, token_hash: str) -> None:
        self.ended(Ended("logged out", token_hash=token_hash))

    def user_revoked(self, user_id: int, reason: str) -> None:
        self.ended(Ended(reason, user_id=user_id))
