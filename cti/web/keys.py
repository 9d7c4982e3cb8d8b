"""Typed keys for what the aiohttp application holds (one owner each, see cti/daemon.py)."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from cti.ami.connection import AmiConnections
from cti.bus import EventBus
from cti.config import Settings
from cti.crm_store.schemas.tasks import TaskOut
from cti.crm_store.store import Store
from cti.runtime import GcPolicy
from cti.web.login_throttle import HashGate, LoginThrottle, TrustedProxies
from cti.web.sessions import SessionEvents

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", Store)
BUS = web.AppKey("bus", EventBus)
LOGIN_THROTTLE = web.AppKey("login_throttle", LoginThrottle)
HASH_GATE = web.AppKey("hash_gate", HashGate)
TRUSTED_PROXIES = web.AppKey("trusted_proxies", TrustedProxies)
#: ended sessions (logout, user disabled, password changed): who must close live sockets
SESSION_EVENTS = web.AppKey("session_events", SessionEvents)
#: the daemon's garbage-collector policy (``cti serve``; absent in tests and with it off)
GC_POLICY = web.AppKey("gc_policy", GcPolicy)
#: the AMI connections by PBX name (owned by cti.daemon.build_app's cleanup_ctx)
AMI = web.AppKey("ami", AmiConnections)


class TaskEvents:
    """Who hears that the API created, changed or deleted a task (the screens' due lists):
    the REST layer calls :meth:`changed`, a feature subscribes; no import either way."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[TaskOut], None]] = []

    def subscribe(self, listener: Callable[[TaskOut], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def changed(self, task: TaskOut) -> None:
        for listener in list(self._listeners):
            listener(task)


TASK_EVENTS = web.AppKey("task_events", TaskEvents)
