"""Logs at DEBUG hold no secret and no personal data (issue 12): the daemon in-process with the
simulator as its PBX, through a login, a call with its pop, the call log and a CSV import;
the captured log never shows the password or its hash, the token or its hash, the AMI
secret, or the names, e-mails and phones of the contacts involved. SQL parameters appear
only when ``[log] sql_parameters`` asks for them."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher
from pydantic import SecretStr
from sqlalchemy import select, text

from cti.config import PbxConfig, Settings, load_settings
from cti.crm_store.db import create_engine, log_sql_parameters
from cti.crm_store.importers.contacts_csv import ContactImporter
from cti.crm_store.models.users import User
from cti.crm_store.schemas.contacts import ContactIn
from cti.crm_store.schemas.users import UserIn
from cti.crm_store.services.contacts import ContactService
from cti.crm_store.services.users import UserService, hash_token
from cti.crm_store.store import Store
from cti.daemon import CONSUMER, _configure_logging, build_app
from cti.pbxsim.calls import InboundCall
from cti.pbxsim.server import PbxSimulator
from cti.screenpop.service import setup as screenpop_setup
from cti.web.accesslog import TokenSafeAccessLogger
from cti.web.keys import AMI

AMI_SECRET = "ami-Secret-7Qz"
PASSWORD = "pw-Horse-Battery-91"
IVAN = "+74951234567"
CSV_PERSON = ("Marfa", "Kuznetsova", "+79031234567", "marfa.k@example.org")


@pytest.fixture
async def sim() -> AsyncIterator[PbxSimulator]:
    simulator = PbxSimulator(users={"cti": AMI_SECRET}, agents=["101"], time_scale=0.001)
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


def logged(caplog: pytest.LogCaptureFixture) -> str:
    lines = []
    for record in caplog.records:
        lines.append(record.getMessage())
        if record.exc_info:
            lines.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(lines)


async def test_debug_logs_hold_no_secret_and_no_personal_data(
    sim: PbxSimulator, sqlite_store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _configure_logging("DEBUG")
    caplog.set_level(logging.DEBUG)
    # as an operator chasing a database problem would: SQLAlchemy's statements too
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")
    store = sqlite_store
    users = UserService(store, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    olga = await users.create(
        UserIn(username="olga", password=SecretStr(PASSWORD), extensions=["101"])
    )
    ivan = await ContactService(store).create(
        ContactIn.model_validate(
            {
                "first_name": "Ivan",
                "last_name": "Petrovsky",
                "emails": ["ivan.petrovsky@example.org"],
                "phones": [{"number": IVAN, "kind": "work"}],
            }
        )
    )
    pbx = PbxConfig(port=sim.port, username="cti", secret=SecretStr(AMI_SECRET))
    app = build_app(
        Settings(pbx={"lab": pbx}, database_url=SecretStr(store.url)),
        store=store,
        extra_setup=[lambda a: screenpop_setup(a, budget=5.0, card_budget=5.0)],
    )
    # the access log ``cti serve`` uses (a ``?token=`` never reaches it)
    server = TestServer(app)
    await server.start_server(access_log_class=TokenSafeAccessLogger)
    client: TestClient[web.Request, web.Application] = TestClient(server)
    await client.start_server()
    try:
        resp = await client.post("/api/login", json={"username": "olga", "password": PASSWORD})
        assert resp.status == 200, await resp.text()
        token = (await resp.json())["token"]
        await app[AMI]["lab"].wait_connected()
        ws = await client.ws_connect(f"/ws?token={token}")
        handle = await sim.place_call(
            InboundCall(caller=IVAN, caller_name="Ivan Petrovsky", to="101")
        )
        await handle
        async with asyncio.timeout(10):
            while True:  # the pop, with the contact's card in it
                frame = json.loads((await ws.receive()).data)
                pop = frame.get("pop")
                if frame["type"] in ("call.ringing", "pop.update") and pop and pop["complete"]:
                    break
        assert [c["id"] for c in pop["match"]["contacts"]] == [ivan.id]
        await ws.close()
        consumer = app[CONSUMER]
        await consumer.until(lambda: consumer.stored >= 1)
    finally:
        await client.close()
    csv_file = tmp_path / "people.csv"
    first, last, phone, email = CSV_PERSON
    csv_file.write_text(f"first_name,last_name,phone,email\n{first},{last},{phone},{email}\n")
    assert (await ContactImporter(store).run(csv_file)).imported == 1

    async with store.sessions() as session:
        password_hash = await session.scalar(select(User.password_hash).where(User.id == olga.id))
    assert password_hash
    text_ = logged(caplog)
    assert "SELECT" in text_ and "INSERT INTO calls" in text_  # statements are logged …
    secrets = {
        "password": PASSWORD,
        "password hash": password_hash,
        "token": token,
        "token hash": hash_token(token),
        "AMI secret": AMI_SECRET,
        "contact name": "Petrovsky",
        "contact e-mail": "ivan.petrovsky@example.org",
        "contact phone": IVAN[-10:],
        "imported name": last,
        "imported phone": phone[-10:],
        "imported e-mail": email,
    }
    leaked = [what for what, value in secrets.items() if value in text_]
    assert leaked == []  # … without their parameters or rows


async def test_sql_parameters_are_logged_only_when_the_setting_asks(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert load_settings(environ={"CTI_LOG_SQL_PARAMETERS": "true"}).log.sql_parameters
    caplog.set_level(logging.DEBUG)
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    for show in (False, True):
        log_sql_parameters(show)
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT :who"), {"who": f"Zhukova-{show}"})
        finally:
            await engine.dispose()
    log_sql_parameters(False)
    assert "Zhukova-False" not in logged(caplog)
    assert "Zhukova-True" in logged(caplog)
