"""The app ``cti serve`` builds (every /api route), on a given store, dialling a fake PBX."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from cti.config import Settings
from cti.crm_store.store import Store
from cti.daemon import SETUP_HOOKS, build_app, load_hooks
from cti.screenpop.dial import ClickToDial
from cti.screenpop.service import DIALER
from cti.web.auth import USERS
from tests.web.conftest import FAST_HASHER
from tests.web.permission_cases import FakePbx


def daemon_app(store: Store, journal: Path | None = None) -> web.Application:
    """``journal``: the call log journal's folder (needed on PostgreSQL, which would keep it
    in ./cti-calls-journal; on SQLite it sits next to the database file)."""
    settings = Settings.model_validate({"calllog": {"journal_dir": str(journal or "")}})
    app = build_app(settings, store=store, extra_setup=load_hooks(SETUP_HOOKS))
    app[USERS].hasher = FAST_HASHER
    app[DIALER] = ClickToDial(lambda: {"lab": FakePbx()})
    return app
