"""Failed-login throttle: slows password guessing on ``POST /api/login``.

Two limits over a sliding window (``auth.login_window_minutes``):

* per username *and* client address (``auth.login_failures``): guessing one operator's
  password from one place stops after a few tries, while that operator can still log in
  from their own desk;
* per client address over all usernames (``auth.login_failures_per_address``): one place
  trying many usernames (password spraying) stops too.

Past a limit, logins from there are refused with 429 and ``Retry-After`` (when the oldest
failure in the window expires) without checking the password, so a locked-out guesser costs
no password hashing. A successful login clears its username's failures from that address.
Kept in memory: one daemon serves the API, and a restart forgets (a few more tries at most).
The client address is the TCP peer; behind a reverse proxy, every client is the proxy.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable

from cti.errors import CtiError

log = logging.getLogger(__name__)

#: (username or None for every username, client address)
_Key = tuple[str | None, str]
#: above this many tracked keys, expired ones are swept out (bounds memory under a flood)
_SWEEP_AT = 10_000


class TooManyLoginsError(CtiError):
    """Refused without a password check; ``retry_after`` seconds until the next try."""

    status = 429
    error_id = "too-many-logins"

    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(
            f"too many failed logins; try again in {self.retry_after} s",
            details={"retry_after": self.retry_after},
        )

    def http_headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class LoginThrottle:
    def __init__(
        self,
        *,
        per_user: int = 5,
        per_address: int = 50,
        window: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_user = per_user
        self.per_address = per_address
        self.window = window
        self._clock = clock
        #: failure times (oldest first) per (username, address) and per (None, address)
        self._failures: dict[_Key, deque[float]] = {}
        self._sweep_at = _SWEEP_AT

    def __len__(self) -> int:
        """Keys tracked now (usernames per address, and addresses)."""
        return len(self._failures)

    def check(self, username: str, address: str) -> None:
        """Raise :class:`TooManyLoginsError` if this login may not be tried now."""
        now = self._clock()
        for key, limit in self._limits(username, address):
            times = self._recent(key, now)
            if times is not None and len(times) >= limit:
                raise TooManyLoginsError(times[0] + self.window - now)

    def failed(self, username: str, address: str) -> None:
        now = self._clock()
        for key, limit in self._limits(username, address):
            times = self._failures.setdefault(key, deque(maxlen=limit))
            times.append(now)
            if len(times) == limit:
                who = "any user" if key[0] is None else repr(username[:64])
                log.warning("login: %d failed attempts for %s from %s", limit, who, address)
        if len(self._failures) > self._sweep_at:
            self._sweep(now)

    def succeeded(self, username: str, address: str) -> None:
        self._failures.pop((_user(username), address), None)

    def _limits(self, username: str, address: str) -> list[tuple[_Key, int]]:
        return [((None, address), self.per_address), ((_user(username), address), self.per_user)]

    def _recent(self, key: _Key, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def _sweep(self, now: float) -> None:
        for key in list(self._failures):
            self._recent(key, now)
        # all still live (a flood of names): sweep again only when twice as many
        self._sweep_at = max(_SWEEP_AT, 2 * len(self._failures))


def _user(username: str) -> str:
    return username.strip().lower()
