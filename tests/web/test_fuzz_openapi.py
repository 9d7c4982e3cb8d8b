"""A seeded fuzz run of the OpenAPI document against the real daemon app (issue 12).

schemathesis generates requests for every operation of ``GET /api/openapi.json``, valid
ones and deliberately invalid ones, and sends them, as a manager, to the app ``cti serve``
builds on a real SQLite store (served on a thread of its own: schemathesis speaks
synchronous HTTP). Every answer must be documented: no 5xx, a status code the document
lists for the operation, the content type and body schema it declares; an invalid request
must be refused. Generation is derandomized, so a run is the same run every time.

``CTI_FUZZ_EXAMPLES`` sets the examples per operation and mode (default 6, for CI); the
larger run in docs/security.md ("Hostile input") sets it to 2000. ``CTI_FUZZ_ONLY="POST
/api/tasks"`` fuzzes only the operations whose method and path contain that text.
"""

from __future__ import annotations

import asyncio
import copy
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, Phase, given, settings
from jsonschema import Draft202012Validator
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from cti.crm_store.schemas.users import UserIn
from cti.crm_store.store import Store
from cti.web.auth import USERS
from cti.web.openapi import build_openapi
from tests.web.conftest import PASSWORD
from tests.web.daemon import daemon_app

EXAMPLES = int(os.environ.get("CTI_FUZZ_EXAMPLES", "6"))
#: fuzz only the operations whose "METHOD /path" contains this text (to chase one failure)
ONLY = os.environ.get("CTI_FUZZ_ONLY", "")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
#: operations that would end the fuzzing session itself
SKIP = {("POST", "/api/logout")}


@dataclass
class Live:
    base_url: str
    headers: dict[str, str]
    me: int
    spec: dict[str, Any]


class _Server:
    """The daemon app on 127.0.0.1 (a free port), its own event loop on its own thread."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runner: web.AppRunner | None = None
        self.store: Store | None = None

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    async def _start(self) -> Live:
        self.store = await Store.open(f"sqlite+aiosqlite:///{self.db}", upgrade=False)
        app = daemon_app(self.store)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        users = app[USERS]
        for name, role in (("oleg", "operator"), ("sue", "supervisor")):
            data = {"username": name, "password": PASSWORD, "role": role}
            await users.create(UserIn.model_validate(data))
        data = {"username": "fuzz", "password": PASSWORD, "role": "manager"}
        me = await users.create(UserIn.model_validate(data))
        token = (await users.issue_token(me.id)).token
        live = Live(
            f"http://127.0.0.1:{port}",
            {"Authorization": f"Bearer {token}"},
            me.id,
            build_openapi(app),
        )
        return live

    def start(self) -> Live:
        self.thread.start()
        live: Live = self.run(self._start())
        return live

    async def _stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
        if self.store is not None:
            await self.store.close()

    def stop(self) -> None:
        self.run(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(scope="module")
def live(_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    db = tmp_path_factory.mktemp("fuzz") / "cti.db"
    shutil.copyfile(_sqlite_template, db)
    server = _Server(db)
    live = server.start()
    try:
        _seed(live)
        yield live
    finally:
        server.stop()


def _seed(live: Live) -> None:
    """A few records of each kind, so that ids the fuzzer picks often exist."""
    with requests.Session() as http:
        http.headers.update(live.headers)
        for n in range(3):
            for path, body in (
                ("/api/companies", {"name": f"Co {n}"}),
                ("/api/contacts", {"first_name": f"C{n}", "phones": [{"number": "+74951234567"}]}),
                ("/api/deals", {"title": f"D{n}"}),
                ("/api/tickets", {"subject": f"T{n}"}),
                ("/api/tasks", {"title": f"T{n}"}),
                ("/api/notes", {"body": "n", "contact_id": 1}),
                ("/api/tickets/1/comments", {"body": "c"}),
            ):
                resp = http.post(live.base_url + path, json=body, timeout=10)
                assert resp.status_code == 201, f"{path}: {resp.text}"


def _operations(spec: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted(
        (method.upper(), path)
        for path, ops in spec["paths"].items()
        for method in ops
        if (method.upper(), path) not in SKIP and ONLY in f"{method.upper()} {path}"
    )


def _without_security(spec: dict[str, Any]) -> dict[str, Any]:
    """The document minus its security requirements: every request carries the fuzzing
    manager's token, so a "missing Authorization" negative case would be a valid request
    (what tokens are refused is tested in test_auth and test_permissions)."""
    spec = copy.deepcopy(spec)
    spec.pop("security", None)
    for ops in spec["paths"].values():
        for op in ops.values():
            op.pop("security", None)
    return spec


def _stripped(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dict):
        return {k: _stripped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stripped(v) for v in value]
    return value


def _refuses_invalid_data(spec: dict[str, Any]) -> Any:
    """schemathesis' ``negative_data_rejection``, knowing what the document cannot say: input
    strings are stripped before their length is checked, so ``" " + 200 letters`` is a valid
    200-letter name."""

    def check(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
        try:
            return negative_data_rejection(ctx, response, case)  # type: ignore[no-any-return]
        except AcceptedNegativeData:
            op = spec["paths"][case.operation.path][case.method.lower()]
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body is None or not isinstance(case.body, dict | list):
                raise
            document = {**body["schema"], "components": spec["components"]}
            if not Draft202012Validator(document).is_valid(_stripped(case.body)):
                raise
            return None

    return check


def _fuzz(live: Live, method: str, path: str, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_dict(_without_security(live.spec))
    operation = schema[path][method]
    checks = CHECKS
    if mode is GenerationMode.NEGATIVE:
        checks = [*CHECKS, _refuses_invalid_data(live.spec)]
    session = requests.Session()

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case) -> None:
        if (case.path_parameters or {}).get("id") == live.me and path.startswith("/api/users"):
            case.path_parameters = {"id": live.me + 1}  # not the fuzzing account itself
        response = case.call(base_url=live.base_url, session=session, headers=live.headers)
        case.validate_response(response, checks=checks, headers=live.headers)

    try:
        run()
    finally:
        session.close()


def test_the_document_lists_operations_to_fuzz(live: Live) -> None:
    assert len(_operations(live.spec)) > (35 if not ONLY else 0)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_fuzzed_requests_get_documented_answers_and_never_a_5xx(
    live: Live, mode: GenerationMode
) -> None:
    failures = []
    for method, path in _operations(live.spec):
        op = live.spec["paths"][path][method.lower()]
        if mode is GenerationMode.NEGATIVE and not (op.get("parameters") or "requestBody" in op):
            continue  # nothing a client sends that could be wrong
        try:
            _fuzz(live, method, path, mode)
        except Exception as exc:  # every operation is fuzzed; all failures are reported
            failures.append(f"{method} {path}: {exc}")
    assert not failures, "\n\n".join(failures)
