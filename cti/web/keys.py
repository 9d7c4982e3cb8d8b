"""Typed keys for what the aiohttp application holds (one owner each, see cti/daemon.py)."""

from __future__ import annotations

from aiohttp import web

from cti.ami.connection import AmiConnections
from cti.bus import EventBus
from cti.config import Settings
from cti.crm_store.store import Store
from cti.web.login_throttle import LoginThrottle

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", Store)
BUS = web.AppKey("bus", EventBus)
LOGIN_THROTTLE = web.AppKey("login_throttle", LoginThrottle)
#: the AMI connections by PBX name (owned by cti.daemon.build_app's cleanup_ctx)
AMI = web.AppKey("ami", AmiConnections)
