"""The live AMI connection: login, ping, reconnect with backoff, resync, events → tracker.

Why not panoramisk's ``Manager`` (read in ``.venv/.../panoramisk/manager.py`` and
``ami_protocol.py``, version 1.4)? Four of its behaviours break our contracts:

* **Different parser.** ``AMIProtocol.data_received`` decodes with ``errors='ignore'`` and
  builds ``Message`` objects with its own splitter; the live path must use the same
  :class:`~cti.ami.parser.AmiParser` + :class:`~cti.ami.tracker.CallTracker` as ``cti replay``.
* **Events swallowed by actions.** ``handle_message`` routes *any* message whose ActionID
  matches a pending action into that action's response list, so an ``OriginateResponse``
  of an async ``Originate`` (the dialer outcome) never reaches the event callbacks.
* **Reconnect policy and task ownership.** It reconnects after a fixed ``reconnect_timeout``
  with ``loop.call_later`` (no backoff, no jitter, a log line per attempt, spins on wrong
  credentials) and ``dispatch`` runs coroutine callbacks with fire-and-forget
  ``ensure_future`` — against the GUIDE's "own every long-lived task".
* **Secrets.** ``AMIProtocol.close`` logs ``str(action)`` of re-queued actions at INFO.

So this module speaks AMI itself over ``asyncio`` streams: one task per PBX
(:meth:`AmiConnection.run`) owns the socket, a reader, and a control task (login, resync,
ping). panoramisk stays the baseline of the parsing benchmark.

What AMI can tell us after a reconnect: ``CoreShowChannels`` lists the channels that are up
*now* (with their Linkedid). A call that was live before the loss and is gone now ended
while we were away (the tracker ends it, marked partial); a call that is up now but unknown
to us started while we were away (tracked from here on, marked partial). A call that both
started *and* ended during the outage leaves no trace in AMI (only in the CDR backend), so
we do not invent it. Events that arrive while the resync runs are held back and fed after
it, except ``FullyBooted`` (sent on every login): the tracker compares its ``Uptime`` to tell
a restarted Asterisk (its calls are gone) from a mere reconnect, before the resync.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cti.ami.actions import (
    ActionValue,
    AmiActionError,
    AmiAuthError,
    PbxUnavailableError,
    encode_action,
)
from cti.ami.events import CallEvent
from cti.ami.filters import filter_actions
from cti.ami.parser import AmiParser
from cti.ami.tracker import CallTracker
from cti.config import PbxConfig
from cti.errors import CtiError

log = logging.getLogger(__name__)

_CONNECT_TIMEOUT = 10.0
_ACTION_TIMEOUT = 10.0
#: bytes parsed before their events are dispatched: ~40 events, ~0.3 ms (a 64 KiB burst
#: would hold a DialBegin at its end ~1 ms before its pop could go out)
_READ_SIZE = 1 << 14


@dataclass(slots=True)
class _Pending:
    future: asyncio.Future[tuple[dict[str, str], list[dict[str, str]]]]
    is_list: bool
    response: dict[str, str] | None = None
    items: list[dict[str, str]] = field(default_factory=list)


class AmiConnection:
    """One PBX: a supervised AMI session feeding its own :class:`CallTracker`.

    ``publish`` receives every domain event (normally ``EventBus.publish``). Run
    :meth:`run` as a task owned by the caller; cancel it to stop.
    """

    def __init__(
        self,
        name: str,
        config: PbxConfig,
        publish: Callable[[CallEvent], None],
        *,
        tracker: CallTracker | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.name = name
        self.config = config
        self.tracker = tracker if tracker is not None else CallTracker(name, config)
        self._publish = publish
        self._rng = rng or random.Random()
        self._writer: asyncio.StreamWriter | None = None
        self._pending: dict[str, _Pending] = {}
        self._ids = itertools.count(1)
        self._ready = asyncio.Event()
        self._resyncing = False
        self._held: list[tuple[dict[str, str], float]] = []
        #: completed logins (1 after the first connect, +1 per reconnect)
        self.sessions = 0
        #: completed resyncs (one per session)
        self.resyncs = 0
        #: failed connection attempts since the last good session
        self.failures = 0
        self.last_error: str | None = None
        #: seconds :meth:`run` waits before the next attempt (after a failure)
        self.next_delay = 0.0
        self._changed = asyncio.Condition()
        self._was_good = False
        self._auth_error: AmiAuthError | None = None
        self._login_id = ""
        #: the session's events were narrowed with the Filter action (see ``_filter``)
        self.filtered = False
        self._filter_refusal_said = False

    # ---- public ---------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Logged in and resynced: actions can be sent."""
        return self._ready.is_set()

    async def wait_connected(self) -> None:
        await self._ready.wait()

    async def until(self, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate()`` holds; checked after each login, resync and failure."""
        async with self._changed:
            await self._changed.wait_for(predicate)

    async def send_action(
        self, action: Mapping[str, ActionValue], *, answer_within: float = _ACTION_TIMEOUT
    ) -> dict[str, str]:
        """Send an action and return its ``Response`` (raises :class:`AmiActionError` on Error)."""
        if not self.connected:
            raise PbxUnavailableError(f"PBX {self.name!r} is not connected", details=self._who())
        response, _ = await self._request(action, is_list=False, answer_within=answer_within)
        return response

    async def send_list_action(
        self, action: Mapping[str, ActionValue], *, answer_within: float = _ACTION_TIMEOUT
    ) -> list[dict[str, str]]:
        """Send an action answered by an event list; return the list items (not *Complete)."""
        if not self.connected:
            raise PbxUnavailableError(f"PBX {self.name!r} is not connected", details=self._who())
        _, items = await self._request(action, is_list=True, answer_within=answer_within)
        return items

    async def run(self) -> None:
        """Connect and stay connected until cancelled (reconnect with capped backoff).

        Each outage is logged once (and again only when its reason changes); every attempt
        gets one DEBUG line. Wrong credentials log one ERROR and retry every ~reconnect_max.
        """
        attempt = 0
        reported: str | None = None
        while True:
            self._auth_error = None
            try:
                await self._session()
                error: Exception = PbxUnavailableError("connection closed by the PBX")
            except Exception as exc:
                error = exc
            if self._auth_error is not None:
                error = self._auth_error
            if self._was_good:  # a session that got ready resets the backoff
                attempt = 0
                reported = None
                self._was_good = False
            self.failures += 1
            self.last_error = _describe(error)
            if isinstance(error, AmiAuthError):
                delay = self.config.reconnect_max * self._rng.uniform(1.0, 1.25)
                if reported != self.last_error:
                    log.error("%s; retrying every ~%g s", error.message, self.config.reconnect_max)
            else:
                delay = self._backoff(attempt)
                expected = isinstance(error, OSError | TimeoutError | CtiError)
                if reported != self.last_error and not expected:
                    log.error(
                        "PBX %r: unexpected error in the AMI session", self.name, exc_info=error
                    )
                elif reported != self.last_error:
                    log.warning(
                        "PBX %r (%s:%d): %s; reconnecting with backoff (max %g s): check "
                        "that Asterisk runs with AMI on (manager.conf) and pbx.%s.host/port",
                        self.name,
                        self.config.host,
                        self.config.port,
                        self.last_error,
                        self.config.reconnect_max,
                        self.name,
                    )
            reported = self.last_error
            attempt += 1
            self.next_delay = delay
            log.debug("PBX %r: reconnect attempt %d in %.2f s", self.name, attempt, delay)
            await self._notify()
            await asyncio.sleep(delay)

    # ---- session --------------------------------------------------------------------------

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter above ``reconnect_min``, capped."""
        low = self.config.reconnect_min
        cap = min(self.config.reconnect_max, low * (2.0 ** min(attempt, 30)))
        return low + self._rng.uniform(0.0, max(0.0, cap - low))

    async def _session(self) -> None:
        cfg = self.config
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(cfg.host, cfg.port), _CONNECT_TIMEOUT
        )
        self._writer = writer
        parser = AmiParser(self.tracker.events, self.tracker.prefilters)
        read_task = asyncio.create_task(self._read_loop(reader, parser), name=f"ami-{self.name}-r")
        ctl_task = asyncio.create_task(self._control(), name=f"ami-{self.name}-ctl")
        try:
            await asyncio.wait({read_task, ctl_task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._ready.clear()
            self._resyncing = False
            self._held.clear()
            for task in (ctl_task, read_task):
                task.cancel()
            await asyncio.gather(read_task, ctl_task, return_exceptions=True)
            self._fail_pending(PbxUnavailableError(f"PBX {self.name!r}: connection lost"))
            self._writer = None
            writer.transport.abort()
        if self._auth_error is not None:
            raise self._auth_error
        for task in (ctl_task, read_task):
            if not task.cancelled() and (exc := task.exception()) is not None:
                raise exc

    async def _read_loop(self, reader: asyncio.StreamReader, parser: AmiParser) -> None:
        """Messages are stamped with the wall-clock time of the read that brought them:
        the tracker uses it where the PBX sends no ``Timestamp:`` (Asterisk's default)."""
        while True:
            data = await reader.read(_READ_SIZE)
            if not data:
                return
            received = time.time()
            for msg in parser.feed(data):
                self._dispatch(msg, received)

    async def _control(self) -> None:
        await self._login()
        self.sessions += 1
        if self.config.event_filter:
            await self._filter()
        await self._resync()
        self._was_good = True
        if self.failures:
            log.info("PBX %r: reconnected after %d failed attempt(s)", self.name, self.failures)
        else:
            log.info("PBX %r: connected to %s:%d", self.name, self.config.host, self.config.port)
        self.failures = 0
        self.last_error = None
        self._ready.set()
        await self._notify()
        interval = self.config.ping_interval
        while True:
            await asyncio.sleep(interval)
            try:
                await self._request({"Action": "Ping"}, is_list=False, answer_within=interval)
            except TimeoutError:
                raise PbxUnavailableError(f"no answer to Ping within {interval:g} s") from None

    async def _login(self) -> None:
        cfg = self.config
        action = {
            "Action": "Login",
            "Username": cfg.username,
            "Secret": cfg.secret.get_secret_value(),
            "Events": "on",
        }
        self._login_id = f"cti-login-{next(self._ids)}"
        try:
            await self._request({**action, "ActionID": self._login_id}, is_list=False)
        except TimeoutError:
            msg = f"no answer to Login within {_ACTION_TIMEOUT:g} s (is {cfg.port} an AMI port?)"
            raise PbxUnavailableError(msg, details=self._who()) from None
        except AmiActionError:
            if self._auth_error is not None:
                raise self._auth_error from None
            raise

    async def _filter(self) -> None:
        """Ask the PBX to send only the events cti uses (see :mod:`cti.ami.filters`).

        Needs ``write = system``; without it (the least-privilege user) the PBX refuses and
        the filters are expected in manager.conf: said once, then the session goes on."""
        actions = filter_actions()
        answers = await asyncio.gather(
            *(self._request(action, is_list=False) for action in actions),
            return_exceptions=True,
        )
        refused = [a for a in answers if isinstance(a, BaseException)]
        self.filtered = not refused
        if refused and not self._filter_refusal_said:
            self._filter_refusal_said = True
            log.info(
                "PBX %r: the AMI user may not set event filters (%s); all events are "
                "received. Least privilege: put the eventfilter lines of "
                "`cti ami manager-conf` in manager.conf (or set pbx.%s.event_filter = false)",
                self.name,
                _describe(refused[0]),
                self.name,
            )

    async def _resync(self) -> None:
        """Rebuild live calls from ``CoreShowChannels``; events meanwhile are held back."""
        self._resyncing = True
        try:
            items = (await self._request({"Action": "CoreShowChannels"}, is_list=True))[1]
            try:
                events = self.tracker.resync(items, time.time())
            except Exception:  # a tracker bug must not keep the PBX disconnected
                log.exception("PBX %r: tracker resync failed; continuing live", self.name)
                events = []
            for event in events:
                self._emit(event)
        finally:
            self._resyncing = False
        held, self._held = self._held, []
        for msg, received in held:
            self._feed(msg, received)
        self.resyncs += 1
        log.debug("PBX %r: resynced, %d channel(s) up", self.name, len(items))

    # ---- plumbing -------------------------------------------------------------------------

    async def _request(
        self,
        action: Mapping[str, ActionValue],
        *,
        is_list: bool,
        answer_within: float = _ACTION_TIMEOUT,
    ) -> tuple[dict[str, str], list[dict[str, str]]]:
        writer = self._writer
        if writer is None:
            raise PbxUnavailableError(f"PBX {self.name!r} is not connected", details=self._who())
        given = action.get("ActionID")
        action_id = given if isinstance(given, str) and given else f"cti-{next(self._ids)}"
        if action_id in self._pending:
            raise ValueError(f"PBX {self.name!r}: ActionID {action_id!r} already in flight")
        data = encode_action({**action, "ActionID": action_id})
        future = asyncio.get_running_loop().create_future()
        pending = _Pending(future, is_list)
        self._pending[action_id] = pending
        try:
            try:
                writer.write(data)
                await writer.drain()
            except OSError as exc:
                raise PbxUnavailableError(
                    f"PBX {self.name!r}: {exc}", details=self._who()
                ) from None
            return await asyncio.wait_for(future, answer_within)
        finally:
            if self._pending.get(action_id) is pending:
                del self._pending[action_id]
            if not future.done():
                future.cancel()

    def _dispatch(self, msg: dict[str, str], received: float) -> None:
        action_id = msg.get("ActionID", "")
        if "Response" in msg and "Event" not in msg:  # OriginateResponse has a Response field
            pending = self._pending.get(action_id)
            if pending is not None:
                self._on_response(pending, msg)
            return
        if "Event" not in msg:
            return
        pending = self._pending.get(action_id) if action_id else None
        if pending is not None and pending.is_list:
            if msg.get("EventList", "").lower() == "complete" or msg["Event"].endswith("Complete"):
                if not pending.future.done():
                    pending.future.set_result((pending.response or {}, pending.items))
            else:
                pending.items.append(msg)
            return
        if self._resyncing and msg["Event"] != "FullyBooted":
            self._held.append((msg, received))
            return
        self._feed(msg, received)

    def _on_response(self, pending: _Pending, msg: dict[str, str]) -> None:
        if pending.future.done():
            return
        if msg.get("Response", "").lower() in {"error", "failure", "fail"}:
            text = msg.get("Message", "error")
            if msg.get("ActionID") == self._login_id:
                # kept here too: Asterisk hangs up right after, maybe before _login resumes
                self._auth_error = AmiAuthError(
                    f"AMI login to PBX {self.name!r} as user {self.config.username!r} failed "
                    f"({text}); check pbx.{self.name}.username/secret",
                    details=self._who(),
                )
            pending.future.set_exception(AmiActionError(text, details=self._who()))
        elif pending.is_list:
            pending.response = msg
        else:
            pending.future.set_result((msg, []))

    def _feed(self, msg: dict[str, str], received: float) -> None:
        try:
            events = self.tracker.feed(msg, received)
        except Exception:  # one bad message never stops the PBX's event stream
            log.exception("PBX %r: tracker failed on %s", self.name, msg.get("Event"))
            return
        for event in events:
            self._emit(event)

    def _emit(self, event: CallEvent) -> None:
        self._publish(event)

    def _fail_pending(self, exc: Exception) -> None:
        pending, self._pending = self._pending, {}
        for item in pending.values():
            if not item.future.done():
                item.future.set_exception(exc)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _who(self) -> dict[str, str]:
        return {"pbx": self.name}


def _describe(exc: BaseException) -> str:
    if isinstance(exc, CtiError):
        return exc.message
    if isinstance(exc, TimeoutError):
        return "timed out connecting"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class AmiConnections(dict[str, AmiConnection]):
    """The daemon's connections by PBX name (``app[AMI]``); actions pick theirs here."""

    def pick(self, name: str | None = None) -> AmiConnection:
        """The named PBX, or the only one when ``name`` is None; 503 when unknown/down."""
        if name is None and len(self) == 1:
            return next(iter(self.values()))
        conn = self.get(name or "default")
        if conn is None:
            raise PbxUnavailableError(
                f"no PBX named {name or 'default'!r} (configured: {', '.join(self) or 'none'})",
                details={"pbx": name or "default"},
            )
        return conn
