"""``/api/reports/…`` (validation, operators' own figures) and ``cti report``; revision
0007 turns an existing campaign state log into page sessions."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp import web
from aiohttp.test_utils import TestClient

from cti.calllog.service import CallLog
from cti.config import Settings
from cti.crm_store.db import create_engine
from cti.crm_store.migrate import schema_diff, upgrade_database
from cti.crm_store.schemas.users import UserIn
from cti.crm_store.store import Store
from cti.reports.http import setup as reports_setup
from cti.web.app import create_app
from cti.web.auth import USERS
from tests.clihelp import run_cti
from tests.reports.callset import callset
from tests.web.conftest import FAST_HASHER, PASSWORD, Login, MakeUser

Client = TestClient[web.Request, web.Application]
PERIOD = "from=2026-03-27&to=2026-03-31&tz=Europe/Moscow"


async def _calls(store: Store) -> None:
    log = CallLog(store)
    try:
        await log.record_many(callset(5, 120))
    finally:
        log.close()


@pytest.fixture
def app(sqlite_store: Store) -> web.Application:
    app = create_app(Settings(), store=sqlite_store, password_hasher=FAST_HASHER)
    reports_setup(app)
    return app


@pytest.fixture
def make_user(app: web.Application) -> MakeUser:
    async def make(username: str, role: str, extensions: tuple[str, ...] = ()) -> Login:
        users = app[USERS]
        data = {"username": username, "password": PASSWORD, "role": role}
        user = await users.create(UserIn.model_validate({**data, "extensions": list(extensions)}))
        return Login(user, (await users.issue_token(user.id)).token)

    return make


async def _client(aiohttp_client: Any, app: web.Application) -> Client:
    client: Client = await aiohttp_client(app)
    return client


async def test_reports_over_rest(
    aiohttp_client: Any, app: web.Application, sqlite_store: Store, make_user: MakeUser
) -> None:
    await _calls(sqlite_store)
    client = await _client(aiohttp_client, app)
    sue: Login = await make_user("sue", "supervisor")
    olga: Login = await make_user("olga", "operator", ("101",))
    for name in ("agents", "queues", "callbacks", "heatmap", "campaigns", "sla"):
        res = await client.get(f"/api/reports/{name}?{PERIOD}", headers=sue.headers)
        assert res.status == 200, name
        body = await res.json()
        assert body["report"] == name and body["definition"]
        assert body["period"]["from"] == "2026-03-27" and body["period"]["tz"] == "Europe/Moscow"
    everyone = await (await client.get(f"/api/reports/agents?{PERIOD}", headers=sue.headers)).json()
    assert {a["agent"] for a in everyone["agents"]} == {"101", "102", "103", "104"}
    assert everyone["days"] == []  # per day only when asked
    by_day = await client.get(f"/api/reports/agents?{PERIOD}&days=true", headers=sue.headers)
    days = (await by_day.json())["days"]
    assert {d["day"] for d in days} <= {f"2026-03-{n}" for n in range(27, 32)}
    assert sum(d["offered"] for d in days if d["agent"] == "101") == next(
        a["offered"] for a in everyone["agents"] if a["agent"] == "101"
    )
    own = await (await client.get(f"/api/reports/agents?{PERIOD}", headers=olga.headers)).json()
    assert [a["agent"] for a in own["agents"]] == ["101"]
    assert own["agents"][0] == next(a for a in everyone["agents"] if a["agent"] == "101")
    res = await client.get(f"/api/reports/queues?{PERIOD}", headers=olga.headers)
    assert res.status == 403


async def test_a_bad_period_is_a_422_naming_the_field(
    aiohttp_client: Any, app: web.Application, make_user: MakeUser
) -> None:
    client = await _client(aiohttp_client, app)
    sue = await make_user("sue", "supervisor")
    for query, field in (
        ("from=2026-03-27&to=2026-03-26", None),
        ("from=2026-03-27&to=2026-03-28&tz=Mars/Base", "tz"),
        ("from=27.03.2026&to=2026-03-28", "from"),
        ("to=2026-03-28", "from"),
        ("from=2020-01-01&to=2026-03-28", None),
    ):
        res = await client.get(f"/api/reports/heatmap?{query}", headers=sue.headers)
        assert res.status == 422, query
        if field:
            assert field in json.dumps(await res.json()), query


def test_cti_report_prints_a_table_csv_and_json(cli_db: str, capsys: Any) -> None:
    async def fill() -> None:
        store = await Store.open(cli_db)
        try:
            await _calls(store)
        finally:
            await store.close()

    asyncio.run(fill())
    args = ("report", "queues", "--from", "2026-03-27", "--to", "2026-03-31", "--tz", "UTC")
    status, out, err = run_cti(capsys, *args)
    assert status == 0, err
    assert out.startswith("queues 2026-03-27 … 2026-03-31 (UTC)")
    assert "service level offered-no-short" in out
    status, out, _ = run_cti(capsys, *args, "--csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["queue"] for r in rows] == ["sales", "support", "all"]
    assert int(rows[2]["offered"]) == int(rows[0]["offered"]) + int(rows[1]["offered"])
    status, out, _ = run_cti(capsys, *args, "--json")
    assert json.loads(out)["total"]["offered"] == int(rows[2]["offered"])
    status, out, err = run_cti(
        capsys, "report", "nonsense", "--from", "2026-03-27", "--to", "2026-03-27"
    )
    assert status != 0 and "nonsense" in err
    status, out, err = run_cti(capsys, *args[:-1], "Nowhere/Else")
    assert status != 0 and "--tz" in err


async def test_revision_0007_copies_the_state_log_into_page_sessions(empty_db_url: str) -> None:
    await upgrade_database(empty_db_url, "0004")
    t0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    minute = timedelta(minutes=1)
    engine = create_engine(empty_db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO users (id, username, full_name, password_hash, role, active, "
                    "created_at, updated_at) VALUES (1, 'olga', '', 'x', 'operator', true, :t, :t)"
                ),
                {"t": t0},
            )
            rows = [
                ("free", None, 0, 10),
                ("paused", "lunch", 10, 40),
                ("free", None, 40, 50),
                ("wrap-up", None, 50, 52),
                ("free", None, 52, 60),  # then left
                ("free", None, 90, None),  # joined again, still in
            ]
            for state, reason, start, end in rows:
                await conn.execute(
                    sa.text(
                        "INSERT INTO agent_state_log (user_id, extension, state, reason, "
                        "started_at, ended_at) VALUES (1, '101', :s, :r, :a, :b)"
                    ),
                    {
                        "s": state,
                        "r": reason,
                        "a": t0 + start * minute,
                        "b": None if end is None else t0 + end * minute,
                    },
                )
        await upgrade_database(empty_db_url)
        async with engine.connect() as conn:
            got = (
                await conn.execute(
                    sa.text(
                        "SELECT kind, reason, started_at, ended_at, source, queue "
                        "FROM agent_sessions "
                        "ORDER BY started_at, kind"
                    )
                )
            ).all()
    finally:
        await engine.dispose()

    def at(value: Any) -> datetime | None:
        if value is None:
            return None
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment

    sessions = [(k, r, at(a), at(b), s, q) for k, r, a, b, s, q in got]
    assert sessions == [
        ("login", None, t0, t0 + 60 * minute, "page", "campaign"),
        ("pause", "lunch", t0 + 10 * minute, t0 + 40 * minute, "page", "campaign"),
        ("wrap-up", None, t0 + 50 * minute, t0 + 52 * minute, "page", "campaign"),
        ("login", None, t0 + 90 * minute, None, "page", "campaign"),
    ]
    assert await schema_diff(empty_db_url) == []
