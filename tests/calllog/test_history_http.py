"""The call history over HTTP on both backends: the page and count contract, one call in
full, recordings (served inside the folder only), exports through single-use download
links (CSV formula-safe, XLSX), and contact/company timelines."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import tempfile
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from cti.ami.events import CallEnded
from cti.ami.parser import parse_bytes
from cti.ami.tracker import CallTracker
from cti.calllog import http as calllog_http
from cti.calllog.downloads import Downloads
from cti.calllog.service import CallLog
from cti.config import Settings
from cti.crm_store.schemas.calls import CallQuery, ExportIn
from cti.crm_store.schemas.contacts import CompanyIn, ContactIn, PhoneIn
from cti.crm_store.schemas.deals import DealIn
from cti.crm_store.schemas.tasks import NoteIn, TaskIn
from cti.crm_store.schemas.tickets import TicketIn
from cti.crm_store.schemas.users import UserIn, UserPatch
from cti.crm_store.services.contacts import CompanyService, ContactService
from cti.crm_store.services.deals import DealService
from cti.crm_store.services.tasks import NoteService, TaskService
from cti.crm_store.services.tickets import TicketService
from cti.crm_store.store import Store
from cti.crm_store.timeutil import utcnow
from cti.errors import NotFoundError
from cti.surveys.script import Script
from cti.surveys.service import SurveyService
from cti.web.app import create_app
from cti.web.auth import USERS
from cti.web.keys import SETTINGS
from tests.calllog.records import T0, call
from tests.needs import TRACES
from tests.web.conftest import FAST_HASHER

Client = TestClient[web.Request, web.Application]
Headers = dict[str, str]


@pytest.fixture
def recordings(tmp_path: Path) -> Path:
    folder = tmp_path / "recordings"
    (folder / "2026" / "03").mkdir(parents=True)
    (folder / "2026" / "03" / "in-1.wav").write_bytes(b"RIFF-recorded-audio")
    (tmp_path / "secret.txt").write_text("not a recording")
    (folder / "escape.wav").symlink_to(tmp_path / "secret.txt")
    return folder


@pytest.fixture
async def client(
    store: Store,
    recordings: Path,
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
) -> Client:
    settings = Settings.model_validate({"recordings": {"dir": str(recordings)}})
    app = create_app(settings, store=store, password_hasher=FAST_HASHER)
    calllog_http.setup(app)
    return await aiohttp_client(app)


@pytest.fixture
async def calls(store: Store) -> dict[str, int]:
    """Calls on 101 (olga's) and 102 (boris's), by linkedid → id."""
    company = await CompanyService(store).create(CompanyIn(name="Acme"))
    contact = await ContactService(store).create(
        ContactIn(first_name="Ivan", company_id=company.id, phones=[PhoneIn(number="+74951234567")])
    )
    log = CallLog(store)
    minute = timedelta(minutes=1)
    await log.record_many([
        call("r.1", recording="/var/spool/asterisk/monitor/2026/03/in-1.wav"),
        call("r.2", recording="../secret.txt", started_at=T0 + minute),
        call("r.3", recording="escape.wav", started_at=T0 + 2 * minute),
        call("r.4", recording="2026/03/missing.wav", started_at=T0 + 3 * minute),
        call("b.1", agents_rung=("102",), agent="102", from_name="=HYPERLINK(\"http://x\")",
             recording="2026/03/in-1.wav", started_at=T0 + 4 * minute),
        call("r.5", from_name="-2+3", started_at=T0 + 5 * minute),
    ])  # fmt: skip
    page = await log.search(CallQuery(limit=100))
    log.close()
    return {c.linkedid: c.id for c in page.items} | {
        "contact": contact.id,
        "company": company.id,
    }


async def login(client: Client, name: str, role: str, *exts: str) -> Headers:
    assert client.app is not None
    users = client.app[USERS]
    data = {"username": name, "password": "pw-123456789", "role": role, "extensions": list(exts)}
    user = await users.create(UserIn.model_validate(data))
    return {"Authorization": f"Bearer {(await users.issue_token(user.id)).token}"}


async def get_json(client: Client, path: str, headers: Headers, status: int = 200) -> Any:
    resp = await client.get(path, headers=headers)
    assert resp.status == status, await resp.text()
    return await resp.json()


async def test_pages_and_count_follow_the_contract(client: Client, calls: dict[str, int]) -> None:
    sup = await login(client, "sue", "supervisor")
    olga = await login(client, "olga", "operator", "101")
    first = await get_json(client, "/api/calls?limit=4", sup)
    assert set(first) == {"items", "next_cursor"} and len(first["items"]) == 4
    rest = await get_json(client, f"/api/calls?limit=4&cursor={first['next_cursor']}", sup)
    assert rest["next_cursor"] is None
    linkedids = [c["linkedid"] for c in first["items"] + rest["items"]]
    assert linkedids == ["r.5", "b.1", "r.4", "r.3", "r.2", "r.1"]
    assert await get_json(client, "/api/calls/count", sup) == {"count": 6}
    assert await get_json(client, "/api/calls/count", olga) == {"count": 5}
    assert await get_json(client, "/api/calls/count?agent=102", olga) == {"count": 0}
    day = "day_from=2026-03-02&day_to=2026-03-02&tz=Asia/Tokyo"
    assert await get_json(client, f"/api/calls/count?{day}", sup) == {"count": 6}
    tampered = first["next_cursor"][:-3] + "AAA"
    refused = await get_json(client, f"/api/calls?limit=4&cursor={tampered}", sup, 422)
    assert "cursor" in refused["details"]["fields"]
    other = f"/api/calls?limit=4&status=missed&cursor={first['next_cursor']}"
    assert "cursor" in (await get_json(client, other, sup, 422))["details"]["fields"]
    limits = [await get_json(client, f"/api/calls?limit={n}", sup, 422) for n in (0, 501)]
    assert all("limit" in bad["details"]["fields"] for bad in limits)
    naive = await get_json(client, "/api/calls/count?from=2026-03-02T10:00:00", sup, 422)
    assert "from" in naive["details"]["fields"]
    assert "limit" in (await get_json(client, "/api/calls/count?limit=5", sup, 422))["message"]


async def test_one_call_in_full(client: Client, store: Store, calls: dict[str, int]) -> None:
    olga = await login(client, "olga", "operator", "101")
    await NoteService(store).create(NoteIn(body="wants a quote", call_id=calls["r.1"]))
    got = await get_json(client, f"/api/calls/{calls['r.1']}", olga)
    assert [n["body"] for n in got["notes"]] == ["wants a quote"]
    assert got["contact"] == {
        "id": calls["contact"], "name": "Ivan", "company_id": calls["company"],
        "company_name": "Acme",
    }  # fmt: skip
    assert got["recording_url"] == f"/api/calls/{calls['r.1']}/recording"
    assert got["rings"] == [] and got["talks"] == [] and got["survey_answers"] == []
    for key in ("ivr_seconds", "queue_wait_seconds", "ring_seconds", "talk_seconds"):
        assert key in got
    no_file = await get_json(client, f"/api/calls/{calls['r.4']}", olga)
    assert no_file["recording_url"] is None
    # a survey on the call (here on the keypad, finished as partial) shows with its answers
    script = Script.model_validate(
        {"name": "quick", "questions": [
            {"id": "ok", "text": "OK?", "kind": "yesno", "prompt": ["q-ok"]},
            {"id": "score", "text": "0–10?", "kind": "scale", "min": 0, "max": 10},
        ]}
    )  # fmt: skip
    surveys = SurveyService(store)
    rid = await surveys.start(call_key="r.1", script=script, mode="keypad")
    await surveys.answer(rid, "ok", "yes", raw="1", by="keypad")
    await surveys.finish(rid, "partial")
    (taken,) = (await get_json(client, f"/api/calls/{calls['r.1']}", olga))["survey_answers"]
    assert (taken["script"], taken["mode"], taken["status"]) == ("quick", "keypad", "partial")
    assert [(a["question_id"], a["value"], a["raw"]) for a in taken["answers"]] == [
        ("ok", True, "1")
    ]
    await get_json(client, f"/api/calls/{calls['b.1']}", olga, 403)


async def test_recordings_are_served_from_inside_the_folder_only(
    client: Client, calls: dict[str, int]
) -> None:
    olga = await login(client, "olga", "operator", "101")
    sup = await login(client, "sue", "supervisor")
    resp = await client.get(f"/api/calls/{calls['r.1']}/recording", headers=olga)
    assert resp.status == 200 and await resp.read() == b"RIFF-recorded-audio"
    assert f'filename="call-{calls["r.1"]}.wav"' in resp.headers["Content-Disposition"]
    for outside in ("r.2", "r.3", "r.4"):  # ../, a symlink out, a missing file
        body = await get_json(client, f"/api/calls/{calls[outside]}/recording", sup, 404)
        assert body["error_id"] == "not-found"
    await get_json(client, f"/api/calls/{calls['b.1']}/recording", olga, 403)
    assert (await client.get(f"/api/calls/{calls['b.1']}/recording", headers=sup)).status == 200
    assert (await client.get(f"/api/calls/{calls['r.1']}/recording")).status == 401


async def test_without_a_recordings_folder_nothing_is_served(
    store: Store,
    calls: dict[str, int],
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
) -> None:
    app = create_app(Settings(), store=store, password_hasher=FAST_HASHER)
    calllog_http.setup(app)
    client = await aiohttp_client(app)
    sup = await login(client, "sue", "supervisor")
    assert (await get_json(client, f"/api/calls/{calls['r.1']}", sup))["recording_url"] is None
    await get_json(client, f"/api/calls/{calls['r.1']}/recording", sup, 404)


async def export(client: Client, headers: Headers, body: dict[str, Any]) -> str:
    resp = await client.post("/api/exports", json=body, headers=headers)
    assert resp.status == 201, await resp.text()
    link = await resp.json()
    assert link["url"].startswith("/api/downloads/") and link["expires_at"]
    return str(link["url"])


async def test_a_csv_export_is_formula_safe_and_its_link_works_once(
    client: Client, calls: dict[str, int]
) -> None:
    sup = await login(client, "sue", "supervisor")
    url = await export(client, sup, {"format": "csv", "filters": {"tz": "Europe/Moscow"}})
    assert "token" not in url and sup["Authorization"].split()[1] not in url
    resp = await client.get(url)  # no Authorization header: the browser's download
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/csv")
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="calls-')
    rows = list(csv.DictReader(io.StringIO((await resp.read()).decode("utf-8-sig"))))
    assert [r["linkedid"] for r in rows] == ["r.5", "b.1", "r.4", "r.3", "r.2", "r.1"]
    by_id = {r["linkedid"]: r for r in rows}
    assert by_id["b.1"]["from_name"] == '\'=HYPERLINK("http://x")'
    assert by_id["r.5"]["from_name"] == "'-2+3"
    assert by_id["r.1"]["started_at"] == "2026-03-02T13:00:00+03:00"  # in the filter's zone
    assert all(not cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r.values())
    again = await client.get(url)
    assert again.status == 404 and (await again.json())["error_id"] == "not-found"


async def test_a_link_exports_what_its_maker_may_see_and_dies_with_the_session(
    client: Client, calls: dict[str, int]
) -> None:
    olga = await login(client, "olga", "operator", "101")
    url = await export(client, olga, {"format": "csv", "filters": {}})
    rows = list(csv.DictReader(io.StringIO((await (await client.get(url)).read()).decode())))
    assert "b.1" not in {r["linkedid"] for r in rows} and len(rows) == 5
    # logged out: the links made in that session die
    url = await export(client, olga, {"format": "csv"})
    assert (await client.post("/api/logout", headers=olga)).status == 204
    assert (await client.get(url)).status == 404
    # a disabled account: the same
    assert client.app is not None
    boris = await login(client, "boris", "operator", "102")
    url = await export(client, boris, {"format": "xlsx"})
    users = client.app[USERS]
    found = await users.by_username("boris")
    assert found is not None
    await users.update(found.id, UserPatch(active=False))
    assert (await client.get(url)).status == 404
    bad = await client.post("/api/exports", json={"format": "pdf"}, headers=olga)
    assert bad.status in (401, 422)  # olga logged out above: 401 comes first


async def test_expired_and_unknown_links(
    store: Store, client: Client, calls: dict[str, int]
) -> None:
    assert client.app is not None
    users = client.app[USERS]
    data = {"username": "max", "password": "pw-123456789", "role": "manager"}
    user = await users.create(UserIn.model_validate(data))
    session = (await users.issue_token(user.id)).token
    downloads = Downloads(store, users, client.app[SETTINGS].exports.link_seconds)
    old = await downloads.create(user.id, session, ExportIn(), now=utcnow() - timedelta(seconds=61))
    assert (await client.get(old.url)).status == 404
    fresh = await downloads.create(user.id, session, ExportIn())
    assert (await client.get(fresh.url + "x")).status == 404
    assert (await client.get("/api/downloads/short")).status == 404
    served = await client.get(fresh.url)
    assert served.status == 200 and (await served.read()).startswith(b"\xef\xbb\xbfid,")


async def test_an_xlsx_export_streams_a_workbook(
    client: Client, calls: dict[str, int], tmp_path: Path
) -> None:
    sup = await login(client, "sue", "supervisor")
    url = await export(client, sup, {"format": "xlsx", "sort": "started_at"})
    resp = await client.get(url)
    assert resp.status == 200 and resp.headers["Content-Disposition"].endswith('.xlsx"')
    path = tmp_path / "out.xlsx"
    path.write_bytes(await resp.read())
    book = openpyxl.load_workbook(path, read_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert rows[0][0] == "id"
    assert [r[-1] for r in rows[1:]] == ["r.1", "r.2", "r.3", "r.4", "b.1", "r.5"]
    names = {r[-1]: r for r in rows[1:]}
    assert names["b.1"][7] == '=HYPERLINK("http://x")'  # a string cell, never a formula
    book.close()
    leftovers = [n for n in os.listdir(tempfile.gettempdir()) if n.startswith("cti-export-")]
    assert leftovers == []


async def test_timelines_newest_first_in_pages(
    client: Client, store: Store, calls: dict[str, int]
) -> None:
    assert client.app is not None
    crm = client.app[SETTINGS].crm
    contact, company = calls["contact"], calls["company"]
    await NoteService(store).create(NoteIn(body="n1", contact_id=contact))
    on_his_call = NoteIn(body="on boris's call", call_id=calls["b.1"], contact_id=contact)
    await NoteService(store).create(on_his_call)
    await TicketService(store, crm).create(TicketIn(subject="t1", contact_id=contact))
    await TicketService(store, crm).create(TicketIn(subject="company's", company_id=company))
    await DealService(store, crm).create(DealIn(title="d1", contact_id=contact))
    sup = await login(client, "sue", "supervisor")
    olga = await login(client, "olga", "operator", "101")
    users = client.app[USERS]
    sue = await users.by_username("sue")
    assert sue is not None
    await TaskService(store).create(TaskIn(title="sue's", contact_id=contact, assignee_id=sue.id))

    async def everything(path: str, headers: Headers) -> list[tuple[str, int]]:
        seen: list[tuple[str, int]] = []
        cursor = ""
        while True:
            page = await get_json(client, f"{path}?limit=2{cursor}", headers)
            assert len(page["items"]) <= 2
            seen += [(i["kind"], i["id"]) for i in page["items"]]
            for item in page["items"]:
                assert item[item["kind"]]["id"] == item["id"]
            if page["next_cursor"] is None:
                return seen
            cursor = f"&cursor={page['next_cursor']}"

    full = await everything(f"/api/contacts/{contact}/timeline", sup)
    kinds = [k for k, _ in full]
    assert kinds.count("call") == 6 and kinds.count("note") == 2
    assert kinds.count("ticket") == 1 and kinds.count("deal") == 1 and kinds.count("task") == 1
    assert len(set(full)) == len(full)
    first = await get_json(client, f"/api/contacts/{contact}/timeline?limit=50", sup)
    times = [i["at"] for i in first["items"]]
    assert times == sorted(times, reverse=True)
    mine = await everything(f"/api/contacts/{contact}/timeline", olga)
    assert ("call", calls["b.1"]) not in mine and ("call", calls["r.1"]) in mine
    assert [k for k, _ in mine].count("note") == 1  # not the note on boris's call
    assert "task" not in [k for k, _ in mine]  # sue's task is not olga's
    firm = await everything(f"/api/companies/{company}/timeline", sup)
    assert [k for k, _ in firm].count("ticket") == 2 and [k for k, _ in firm].count("call") == 6
    await get_json(client, "/api/contacts/999999/timeline", sup, 404)
    bad = await get_json(client, f"/api/companies/{company}/timeline?cursor=abc", sup, 422)
    assert "cursor" in bad["details"]["fields"]


async def test_a_link_raced_by_two_requests_is_served_once(
    store: Store, client: Client, calls: dict[str, int]
) -> None:
    """Two daemons (two services over the one store) claim the same link at once."""
    assert client.app is not None
    users = client.app[USERS]
    data = {"username": "sam", "password": "pw-123456789", "role": "supervisor"}
    user = await users.create(UserIn.model_validate(data))
    session = (await users.issue_token(user.id)).token
    one, two = (Downloads(store, users, 60) for _ in range(2))
    for _ in range(5):
        link = await one.create(user.id, session, ExportIn())
        token = link.url.rsplit("/", 1)[1]
        results = await asyncio.gather(one.claim(token), two.claim(token), return_exceptions=True)
        won = [r for r in results if not isinstance(r, BaseException)]
        lost = [r for r in results if isinstance(r, NotFoundError)]
        assert len(won) == 1 and len(lost) == 1, results
        assert won[0].user.id == user.id and won[0].extensions is None


@pytest.mark.traces
async def test_a_recording_named_on_the_pbx_is_served_end_to_end(
    client: Client, store: Store, recordings: Path
) -> None:
    """A recorded inbound call with the ``VarSet`` MixMonitor sends: the tracker's record,
    the call log's row, the file under ``[recordings] dir`` by the PBX's own path."""
    messages = parse_bytes((TRACES / "asterisk22" / "inbound-answered.ami").read_bytes())
    bridged = next(i for i, m in enumerate(messages) if m.get("Event") == "BridgeEnter")
    spool = "/var/spool/asterisk/monitor/2026/03/in-1.wav"
    varset = {
        "Event": "VarSet",
        "Channel": messages[bridged]["Channel"],
        "Uniqueid": messages[bridged]["Uniqueid"],
        "Linkedid": messages[bridged]["Linkedid"],
        "Variable": "MIXMONITOR_FILENAME",
        "Value": spool,
    }
    tracker = CallTracker()
    ended = [
        event.record
        for msg in [*messages[: bridged + 1], varset, *messages[bridged + 1 :]]
        for event in tracker.feed(msg)
        if isinstance(event, CallEnded)
    ]
    assert [r.recording for r in ended] == [spool]
    log = CallLog(store)
    try:
        await log.record(ended[0])
        (stored,) = (await log.search(CallQuery())).items
    finally:
        log.close()
    sup = await login(client, "sue", "supervisor")
    got = await get_json(client, f"/api/calls/{stored.id}", sup)
    assert got["recording"] == spool and got["recording_url"].endswith("/recording")
    resp = await client.get(got["recording_url"], headers=sup)
    assert resp.status == 200 and await resp.read() == b"RIFF-recorded-audio"
