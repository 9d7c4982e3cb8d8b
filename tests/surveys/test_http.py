"""An operator's survey end to end on the daemon's app: the call rings on their phone, they
start the NPS survey, answer, go back and change an answer, the caller hangs up, they finish
after it; supervisors see each answer on /ws; a reload and a daemon restart resume it; the
call keeps its disposition; results and the CSV follow."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from cti.ami.events import AgentRinging, CallAnswered, CallEnded, CallInfo, CallStarted
from cti.calllog.service import CallLog
from cti.config import Settings
from cti.crm_store.schemas.contacts import ContactIn
from cti.crm_store.schemas.users import UserIn
from cti.crm_store.services.contacts import ContactService
from cti.crm_store.store import Store
from cti.daemon import SETUP_HOOKS, build_app, load_hooks
from cti.web.auth import USERS
from cti.web.keys import BUS
from tests.calllog.records import call
from tests.screenpop.conftest import Ws
from tests.web.conftest import PASSWORD

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[[web.Application], Awaitable[Client]]
PEOPLE = {"olga": ("operator", "101"), "oleg": ("operator", "102"), "sue": ("supervisor", "201")}
KEY = "1733580000.42"


@dataclass
class Desk:
    client: Client
    headers: dict[str, dict[str, str]]
    tokens: dict[str, str]

    async def call(self, method: str, path: str, who: str, body: Any = None) -> tuple[int, Any]:
        res = await self.client.request(method, path, json=body, headers=self.headers[who])
        data = await res.json() if res.content_type == "application/json" else await res.text()
        return res.status, data


def daemon_app(store: Store) -> web.Application:
    app = build_app(Settings(), store=store, extra_setup=load_hooks(SETUP_HOOKS))
    return app


@pytest.fixture
async def desk(sqlite_store: Store, aiohttp_client: MakeClient) -> AsyncIterator[Desk]:
    app = daemon_app(sqlite_store)
    client = await aiohttp_client(app)
    users = app[USERS]
    tokens = {}
    for name, (role, ext) in PEOPLE.items():
        data = {"username": name, "password": PASSWORD, "role": role, "extensions": [ext]}
        user = await users.create(UserIn.model_validate(data))
        tokens[name] = (await users.issue_token(user.id)).token
    headers = {n: {"Authorization": f"Bearer {t}"} for n, t in tokens.items()}
    yield Desk(client, headers, tokens)


def ring(app: web.Application, key: str, agent: str) -> CallInfo:
    info = CallInfo(
        pbx="lab",
        call_id=key,
        direction="inbound",
        from_number="+74951234567",
        from_name="Anna",
        to_number="101",
    )
    for event in (
        CallStarted(info, None),
        AgentRinging(info, agent, None),
        CallAnswered(info, agent, None),
    ):
        app[BUS].publish(event)
    return info


async def supervisor_ws(desk: Desk) -> Ws:
    ws = Ws(await desk.client.ws_connect(f"/ws?token={desk.tokens['sue']}"))
    assert (await ws.recv())["type"] == "hello"
    await ws.ws.send_json({"type": "subscribe", "scope": "all"})
    await ws.until("subscribed")
    return ws


def answered(view: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(a["question_id"], a["value"]) for a in view["answers"]]


async def test_an_operator_survey_end_to_end(
    desk: Desk, sqlite_store: Store, aiohttp_client: MakeClient
) -> None:
    app = desk.client.app
    anna = await ContactService(sqlite_store).create(ContactIn(first_name="Anna"))
    sue = await supervisor_ws(desk)
    info = ring(app, KEY, "101")
    start = {"call_key": KEY, "pbx": "lab", "script": "nps", "contact_id": anna.id}
    status, refused = await desk.call("POST", "/api/surveys", "oleg", start)
    assert status == 403, refused  # not his call
    status, view = await desk.call("POST", "/api/surveys", "olga", start)
    assert status == 200, view
    rid = view["response"]["id"]
    assert view["next"]["id"] == "consent" and view["intro"].startswith("Hello Anna,")
    assert (view["response"]["agent"], view["response"]["status"]) == ("101", "in_progress")
    started = await sue.until("survey.started")
    assert started["survey"]["id"] == rid and started["survey"]["agent"] == "101"

    async def answer(qid: str, value: Any, who: str = "olga") -> dict[str, Any]:
        status, body = await desk.call(
            "POST", f"/api/surveys/{rid}/answers", who, {"question_id": qid, "value": value}
        )
        assert status == 200, body
        return body  # type: ignore[no-any-return]

    await answer("consent", True)
    frame = await sue.until("survey.answer")
    assert frame["survey"]["answers"] == [
        {"question_id": "consent", "text": view["script"]["questions"][0]["text"], "value": True}
    ]
    assert (await answer("recommend", 3))["next"]["id"] == "improve"
    await answer("improve", "price")
    status, bad = await desk.call(
        "POST", f"/api/surveys/{rid}/answers", "olga", {"question_id": "recommend", "value": 11}
    )
    assert status == 422 and bad["details"]["question"] == "recommend"
    status, _ = await desk.call(
        "POST", f"/api/surveys/{rid}/answers", "oleg", {"question_id": "recommend", "value": 1}
    )
    assert status == 403
    # back: the customer meant 9; the detractor's question is gone, the promoter's comes
    changed = await answer("recommend", 9)
    assert answered(changed) == [("consent", True), ("recommend", 9)]
    assert changed["next"]["id"] == "liked"
    # a reload: the page finds the call's survey where it was
    status, found = await desk.call("GET", f"/api/surveys?call_key={KEY}", "olga")
    assert status == 200 and [answered(v) for v in found["items"]] == [answered(changed)]
    status, none = await desk.call("GET", f"/api/surveys?call_key={KEY}", "oleg")
    assert none["items"] == []
    # the caller hangs up; the call log stores the record; the operator goes on answering
    record = call(KEY, pbx="lab", agent="101", agents_rung=("101",))
    app[BUS].publish(CallEnded(info, record, None))
    await CallLog(sqlite_store).record(record)
    await answer("liked", ["quality"])
    last = await answer("satisfaction", 5)
    assert last["done"] is True and last["next"] is None
    status, done = await desk.call(
        "POST", f"/api/surveys/{rid}/finish", "olga", {"status": "complete"}
    )
    assert status == 200, done
    assert done["response"]["status"] == "complete"
    call_id = done["response"]["call_id"]
    assert call_id is not None
    finished = await sue.until("survey.finished")
    assert finished["survey"]["status"] == "complete"
    # the call closes with the disposition the call record already has
    status, _ = await desk.call(
        "PATCH", f"/api/calls/{call_id}", "olga", {"disposition": "completed"}
    )
    assert status == 200
    # results: supervisors only
    status, _ = await desk.call("GET", "/api/survey-results?script=nps", "olga")
    assert status == 403
    status, results = await desk.call("GET", "/api/survey-results?script=nps", "sue")
    assert status == 200, results
    (version,) = results["versions"]
    by_id = {q["id"]: q for q in version["questions"]}
    assert (version["started"], version["complete"]) == (1, 1)
    assert by_id["recommend"]["nps"] == {
        "promoters": 1,
        "passives": 0,
        "detractors": 0,
        "score": 100.0,
    }
    assert by_id["satisfaction"]["csat"]["percent"] == 100.0
    assert by_id["improve"]["answered"] == 0  # changed away: not counted
    res = await desk.client.get("/api/survey-results/csv?script=nps", headers=desk.headers["sue"])
    assert res.status == 200 and res.content_type == "text/csv"
    (row,) = list(csv.DictReader(io.StringIO(await res.text())))
    assert (row["disposition"], row["recommend"], row["liked"], row["improve"]) == (
        "completed",
        "9",
        "quality",
        "",
    )
    await sue.close()

    # the daemon restarts: a new app on the same store resumes the same response
    again = await aiohttp_client(daemon_app(sqlite_store))
    res = await again.post("/api/surveys", json=start, headers=desk.headers["olga"])
    body = await res.json()
    assert res.status == 200, body
    assert body["response"]["id"] == rid and body["response"]["status"] == "complete"
    assert answered(body) == answered(done)


async def test_an_operator_cannot_start_on_an_unknown_call(desk: Desk) -> None:
    body = {"call_key": "nowhere.1", "script": "nps"}
    status, _ = await desk.call("POST", "/api/surveys", "olga", body)
    assert status == 404
    status, view = await desk.call("POST", "/api/surveys", "sue", body)
    assert status == 200 and view["response"]["agent"] is None
    status, err = await desk.call(
        "POST", "/api/surveys", "sue", {"call_key": "x.1", "script": "none"}
    )
    assert status == 404 and err["message"] == "no script 'none'"
    status, err = await desk.call("POST", "/api/surveys", "sue", {"call_key": "x.1"})
    assert status == 422 and "give script or campaign_id" in str(err)


async def test_a_call_answered_by_a_colleague_is_not_mine(desk: Desk) -> None:
    app = desk.client.app
    info = CallInfo(
        pbx="lab",
        call_id="q.1",
        direction="inbound",
        from_number="+74951234567",
        from_name=None,
        to_number="600",
    )
    # a queue call rings 101 and 102; 102 answers
    for event in (
        CallStarted(info, None),
        AgentRinging(info, "101", None),
        AgentRinging(info, "102", None),
    ):
        app[BUS].publish(event)
    body = {"call_key": "q.1", "pbx": "lab", "script": "nps"}
    app[BUS].publish(CallAnswered(info, "102", None))
    status, _ = await desk.call("POST", "/api/surveys", "olga", body)
    assert status == 403
    status, view = await desk.call("POST", "/api/surveys", "oleg", body)
    assert status == 200 and view["response"]["agent"] == "102"


async def test_results_filters(desk: Desk) -> None:
    ring(desk.client.app, "f.1", "101")
    status, view = await desk.call(
        "POST", "/api/surveys", "olga", {"call_key": "f.1", "pbx": "lab", "script": "nps"}
    )
    rid = view["response"]["id"]
    await desk.call(
        "POST", f"/api/surveys/{rid}/answers", "olga", {"question_id": "consent", "value": False}
    )
    await desk.call("POST", f"/api/surveys/{rid}/finish", "olga", {"status": "complete"})

    async def started(query: str) -> int:
        status, body = await desk.call("GET", f"/api/survey-results?script=nps{query}", "sue")
        assert status == 200, body
        return sum(v["started"] for v in body["versions"])

    assert await started("") == 1
    assert await started("&from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z") == 1
    assert await started("&from=2100-01-01T00:00:00Z") == 0
    assert await started("&agent=101") == 1
    assert await started("&agent=102") == 0
    status, _ = await desk.call("GET", "/api/survey-results", "sue")
    assert status == 422  # neither a campaign nor a script
