"""The daemon owns the FastAGI server: started with the app when ``[agi] enabled``, fed the
survey flows a setup hook plugs in (``AGI_FLOWS``), stopped with the app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from cti.agi import AGI_FLOWS, AGI_SERVER
from cti.config import AgiConfig, Settings
from cti.crm_store.store import Store
from cti.daemon import build_app
from cti.errors import ListenError
from cti.pbxsim.agi import AgiTarget, AsteriskAgi, ChannelInfo
from cti.pbxsim.respondents import Press, ScriptedRespondent
from tests.agi.flows import NPS, YES_NO, Flows, RecordingFlow

Client = TestClient[web.Request, web.Application]


def settings(agi: AgiConfig) -> Settings:
    return Settings(database_url=SecretStr("sqlite+aiosqlite:///unused.db"), agi=agi)


async def test_the_daemon_serves_keypad_surveys_when_enabled(
    sqlite_store: Store, aiohttp_client: Callable[[web.Application], Awaitable[Client]]
) -> None:
    flows = Flows({"nps": lambda: RecordingFlow([YES_NO, NPS])})

    def plug(app: web.Application) -> None:
        app[AGI_FLOWS] = flows

    app = build_app(
        settings(AgiConfig(enabled=True, port=0)), store=sqlite_store, extra_setup=[plug]
    )
    client = await aiohttp_client(app)
    server = app[AGI_SERVER]
    info = ChannelInfo("Local/h1@customer-phone-00000001;1", "1795421600.7", "+74951234567")
    target = AgiTarget(port=server.port, script="nps", args=("spring", "en"))
    caller = ScriptedRespondent([Press("1"), Press("10")])
    await AsteriskAgi(target, info, caller, time_scale=0).run()
    (flow,) = flows.made
    assert flow.answers == {"recommend": ("yes", "1"), "nps": (10, "10")}
    assert flow.env is not None and flow.env.campaign == "spring"
    assert server.results["1795421600.7"].status == "complete"
    await client.close()
    assert server.active == 0
    session = await AsteriskAgi(target, info, caller, time_scale=0).run()
    assert session.failed  # nothing listens any more


async def test_disabled_means_no_server_and_a_taken_port_is_named(
    sqlite_store: Store, aiohttp_client: Callable[[web.Application], Awaitable[Client]]
) -> None:
    app = build_app(settings(AgiConfig()), store=sqlite_store)
    await aiohttp_client(app)
    assert AGI_SERVER not in app
    first = build_app(settings(AgiConfig(enabled=True, port=0)), store=sqlite_store)
    await aiohttp_client(first)
    taken = first[AGI_SERVER].port
    second = build_app(settings(AgiConfig(enabled=True, port=taken)), store=sqlite_store)
    runner = web.AppRunner(second)
    with pytest.raises(ListenError, match=r"agi\.port"):
        await runner.setup()
    await runner.cleanup()
