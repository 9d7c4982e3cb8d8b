"""Tokens never reach the access log."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from cti.web.accesslog import TokenSafeAccessLogger, mask_tokens
from tests.web.conftest import Client, Login


def test_mask_tokens() -> None:
    assert mask_tokens("/ws?token=abc.def-1&x=1") == "/ws?token=***&x=1"
    assert mask_tokens("/api/me?x=1&TOKEN=zzz") == "/api/me?x=1&TOKEN=***"
    assert mask_tokens("/api/me?tokens=1") == "/api/me?tokens=1"


async def test_rest_refuses_a_query_token_and_the_access_log_masks_it(
    app: web.Application,
    operator: Login,
    aiohttp_client: Callable[..., Awaitable[Client]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = TestServer(app)
    await server.start_server(access_log_class=TokenSafeAccessLogger)
    client = await aiohttp_client(server)
    with caplog.at_level(logging.INFO, logger="aiohttp.access"):
        # REST takes no token from the URL (401), and even so the log never shows it
        resp = await client.get("/api/me", params={"token": operator.token})
        assert resp.status == 401
        ok = await client.get("/api/me", headers={"Authorization": f"Bearer {operator.token}"})
        assert ok.status == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert any("/api/me?token=***" in line for line in lines), lines
    assert not any(operator.token in line for line in lines)
