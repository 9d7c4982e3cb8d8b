"""Failed-login throttle for ``POST /api/login``: slows password guessing, keeps users in.

Policy (``[auth]`` settings, over a sliding window of ``login_window_minutes``):

* **A known device** (the login carries the ``device`` token this account got at an earlier
  successful login) is limited only by ``device_failures`` per account and device. Failures
  from anywhere else never lock it out: a user behind the same address as an attacker, or
  whose account an attacker is guessing from elsewhere, still gets in from their own desk.
* **An unknown device** is limited by ``login_failures`` per account and client address,
  ``login_failures_per_address`` per address over all accounts (password spraying), and
  ``login_failures_per_account`` per account over all addresses (a distributed guess).

Every attempt takes its slot in each of its limits *before* the password is checked, in one
step with no await in between, so parallel requests cannot slip past a limit; a success
gives its slots back and clears the account's failures at that address and device. Past a
limit the answer is 429 with ``Retry-After``, and no password is hashed.

The counts live behind :class:`Counters`; :class:`MemoryCounters` serves one daemon (a
restart forgets, a few more tries at most); a shared store can back the same interface.
:class:`HashGate` bounds the password checks running at once; :func:`client_address` takes
the client's address from ``X-Forwarded-For`` only when the TCP peer is a trusted proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Protocol

from cti.errors import CtiError

log = logging.getLogger(__name__)

#: above this many keys, expired ones are swept out (bounds memory under a flood)
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


class Counters(Protocol):
    """Attempt times per key within a window (what a shared store would implement)."""

    def take(self, limits: list[tuple[str, int]], now: float, window: float) -> float | None:
        """Add ``now`` under every key unless one is at its limit; then nothing is added
        and the seconds until that key frees a slot are returned."""

    def count(self, key: str) -> int:
        """Attempts under ``key`` now (within the window of the last :meth:`take`)."""

    def give_back(self, keys: list[str], at: float) -> None:
        """Remove the attempt made at ``at`` under each key (a successful login)."""

    def clear(self, key: str) -> None: ...

    def __len__(self) -> int: ...


class MemoryCounters:
    """:class:`Counters` in this process's memory."""

    def __init__(self) -> None:
        self._times: dict[str, deque[float]] = {}
        self._sweep_at = _SWEEP_AT

    def __len__(self) -> int:
        return len(self._times)

    def take(self, limits: list[tuple[str, int]], now: float, window: float) -> float | None:
        for key, limit in limits:
            times = self._recent(key, now, window)
            if times is not None and len(times) >= limit:
                return times[0] + window - now
        for key, _ in limits:
            self._times.setdefault(key, deque()).append(now)
        if len(self._times) > self._sweep_at:
            for key in list(self._times):
                self._recent(key, now, window)
            self._sweep_at = max(_SWEEP_AT, 2 * len(self._times))
        return None

    def count(self, key: str) -> int:
        times = self._times.get(key)
        return len(times) if times is not None else 0

    def give_back(self, keys: list[str], at: float) -> None:
        for key in keys:
            times = self._times.get(key)
            if times is not None and at in times:
                times.remove(at)
                if not times:
                    del self._times[key]

    def clear(self, key: str) -> None:
        self._times.pop(key, None)

    def _recent(self, key: str, now: float, window: float) -> deque[float] | None:
        times = self._times.get(key)
        if times is None:
            return None
        while times and times[0] <= now - window:
            times.popleft()
        if not times:
            del self._times[key]
            return None
        return times


@dataclass(frozen=True)
class Attempt:
    """One login's slots (see :meth:`LoginThrottle.begin`)."""

    username: str
    address: str
    device: bool  # a device known to this account
    keys: list[str] = field(default_factory=list)
    at: float = 0.0


class LoginThrottle:
    """The policy of the module docs over :class:`Counters`."""

    def __init__(
        self,
        *,
        per_user: int = 5,
        per_address: int = 50,
        per_account: int = 20,
        per_device: int = 5,
        window: float = 900.0,
        counters: Counters | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_user = per_user
        self.per_address = per_address
        self.per_account = per_account
        self.per_device = per_device
        self.window = window
        self.counters: Counters = counters if counters is not None else MemoryCounters()
        self._clock = clock

    def __len__(self) -> int:
        return len(self.counters)

    def begin(self, username: str, address: str, device: str | None = None) -> Attempt:
        """Take this login's slots, or raise :class:`TooManyLoginsError` (nothing taken).

        ``device``: the hash of a device token that :class:`~cti.crm_store` knows for
        this account (the caller checks that first), else None."""
        user = _user(username)
        if device is not None:
            limits = [(_key("device", user, device), self.per_device)]
        else:
            limits = [
                (_key("user-address", user, address), self.per_user),
                (_key("address", address), self.per_address),
                (_key("account", user), self.per_account),
            ]
        now = self._clock()
        wait = self.counters.take(limits, now, self.window)
        if wait is not None:
            raise TooManyLoginsError(wait)
        for key, limit in limits:
            if self.counters.count(key) == limit:  # said once, when the limit is reached
                log.warning(
                    "login: %d attempts (%s) within %d min; more are refused for a while",
                    limit,
                    _describe(key),
                    self.window // 60,
                )
        return Attempt(user, address, device is not None, [k for k, _ in limits], now)

    def succeeded(self, attempt: Attempt) -> None:
        """The password was right: the slots go back, the account's failures here clear."""
        self.counters.give_back(attempt.keys, attempt.at)
        for key in attempt.keys:
            if key.startswith(("user-address", "device")):
                self.counters.clear(key)


def _user(username: str) -> str:
    return username.strip().lower()[:128]


_SEP = "\x1f"  # cannot come in a username or an address


def _key(kind: str, *parts: str) -> str:
    return _SEP.join((kind, *parts))


def _describe(key: str) -> str:
    """A key as a log line names it (``for 'olga' from 10.0.0.1``)."""
    kind, *parts = key.split(_SEP)
    if kind == "address":
        return f"any user from {parts[0]}"
    if kind == "account":
        return f"for {parts[0][:64]!r} from any address"
    if kind == "device":
        return f"for {parts[0][:64]!r} from one of their devices"
    return f"for {parts[0][:64]!r} from {parts[1]}"


class LoginBusyError(CtiError):
    """Too many logins wait for a password check: come back in a second."""

    status = 503
    error_id = "login-busy"

    def http_headers(self) -> dict[str, str]:
        return {"Retry-After": "1"}


class HashGate:
    """Bounds the password checks running at once (argon2id: 64 MiB and ~50 ms of a core
    each): a flood of logins cannot exhaust memory or starve the event loop's threads. At
    most ``concurrent`` run; up to ``waiting`` more wait their turn; past that a login is
    refused at once with 503 (no hash, no memory)."""

    def __init__(self, concurrent: int, waiting: int) -> None:
        self._slots = asyncio.Semaphore(concurrent)
        self.concurrent = concurrent
        self.max_waiting = waiting
        self.waiting = 0
        self.running = 0

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self._slots.locked() and self.waiting >= self.max_waiting:
            raise LoginBusyError("too many logins at once; try again in a second", details={})
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        self.running += 1
        try:
            yield
        finally:
            self.running -= 1
            self._slots.release()


class TrustedProxies:
    """The reverse proxies whose ``X-Forwarded-For`` is believed (``http.trusted_proxies``)."""

    def __init__(self, networks: tuple[str, ...] = ()) -> None:
        self.networks = [ipaddress.ip_network(n, strict=False) for n in networks]

    def contains(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.networks)


def client_address(peer: str | None, forwarded_for: str | None, trusted: TrustedProxies) -> str:
    """The client's address: the TCP peer, or, when the peer is a trusted proxy, the
    right-most address of ``X-Forwarded-For`` that is not a trusted proxy (what a client
    puts further left is its own claim, not believed)."""
    address = peer or "unknown"
    if not forwarded_for or not trusted.contains(address):
        return address
    for hop in reversed([h.strip() for h in forwarded_for.split(",")]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return address  # a malformed header: believe only the last good hop
        if not trusted.contains(hop):
            return hop
        address = hop
    return address
