"""docs/api.md: its curl session runs as written (bash and curl against a real daemon), its
paths are in the OpenAPI document, and the error it shows is the API's answer."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from cti.config import Settings
from cti.crm_store.schemas.users import UserIn
from cti.crm_store.store import Store
from cti.daemon import SETUP_HOOKS, build_app, load_hooks
from cti.web.auth import USERS
from cti.web.openapi import build_openapi
from tests.docs.markdown import blocks, blocks_in, section
from tests.web.conftest import FAST_HASHER, PASSWORD, Client

DOC = "api.md"
_CURL = re.compile(r"curl\b(?P<args>(?:[^\n\\]|\\[^\n]|\\\n)*)")


@pytest.fixture
async def daemon(sqlite_store: Store) -> AsyncIterator[Client]:
    """``cti serve``'s app on a test server, with the user the session logs in as."""
    app = build_app(Settings(), store=sqlite_store, extra_setup=load_hooks(SETUP_HOOKS))
    app[USERS].hasher = FAST_HASHER
    await app[USERS].create(UserIn.model_validate({"username": "olga", "password": PASSWORD}))
    client: TestClient[web.Request, web.Application] = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


def _session() -> str:
    [script] = [b.text for b in blocks(DOC, "bash")]
    return script


def _calls(script: str) -> list[tuple[str, str]]:
    """(method, path) of each curl in the script."""
    out = []
    commands = re.sub(r"(?m)(?:^|\s)#.*$", "", script)
    for m in _CURL.finditer(commands):
        args = m.group("args")
        url = re.search(r'"\$CTI(/[^"?]*)', args)
        assert url is not None, f"curl without $CTI URL: {args}"
        method = re.search(r"-X (\w+)", args)
        posts = " -d " in args
        out.append(((method.group(1) if method else "POST" if posts else "GET"), url.group(1)))
    return out


def _template(path: str, templates: set[str]) -> str | None:
    for template in templates:
        if re.fullmatch(re.sub(r"\{\w+\}", r"[^/]+", template), path):
            return template
    return None


def test_every_path_of_the_session_is_in_the_openapi_document() -> None:
    spec = build_openapi(build_app(Settings(), extra_setup=load_hooks(SETUP_HOOKS)))
    calls = _calls(_session())
    assert len(calls) >= 8
    for method, path in calls:
        template = _template(path, set(spec["paths"]))
        assert template is not None, f"docs/{DOC}: {path} is no API path"
        assert method.lower() in spec["paths"][template], f"docs/{DOC}: {method} {path}"


@pytest.mark.tools("curl", "jq")
async def test_the_curl_session_runs_against_a_real_daemon(daemon: Client) -> None:
    base = str(daemon.make_url("/")).rstrip("/")
    proc = await asyncio.create_subprocess_exec(
        "bash",
        "-euo",
        "pipefail",
        "-c",
        _session(),
        env={"CTI": base, "PATH": "/usr/bin:/bin"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    text, answers = out.decode(), list[Any]()
    decoder, at = json.JSONDecoder(), 0
    while text[at:].startswith("{"):  # curl prints the answers back to back
        answer, at = decoder.raw_decode(text, at)
        answers.append(answer)
    me, contact, found, lookup, task, error = answers
    assert me["username"] == "olga"
    assert contact["phones"][0]["e164"] == "+74951234567"
    assert found["total"] == 1 and found["items"][0]["id"] == contact["id"]
    assert lookup["status"] == "exact"
    assert lookup["candidates"][0]["contact_id"] == contact["id"]
    assert task["due_at"] == "2030-01-15T09:30:00Z" and task["assignee_id"] == me["id"]
    [shown] = [json.loads(b.text) for b in blocks_in(section(DOC, "Conventions"), "json")]
    assert error == shown, f"docs/{DOC}: the error example should be {error}"
    assert text[at:] == "401\n"  # logged out: the token is gone
