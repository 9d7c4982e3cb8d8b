"""``cti demo`` end to end: fresh SQLite store seeded, simulated traffic, pops, clean stop."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp

from cti.crm_store.services.contacts import ContactService
from cti.crm_store.store import Store
from cti.demo.run import DEMO_USERS, prepare_store, run_demo


async def test_demo_pops_a_seeded_caller_to_a_demo_operator(tmp_path: Path) -> None:
    db = tmp_path / "cti.db"
    lines: list[str] = []
    stop = asyncio.Event()
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    demo = asyncio.create_task(
        run_demo(
            db=db, host="127.0.0.1", port=0, contacts=40, rate=0.1, out=lines.append,
            stop=stop, on_ready=ready.set_result, time_scale=0.05,
        )
    )  # fmt: skip
    try:
        async with asyncio.timeout(60):
            url = await asyncio.shield(ready)
        banner = "\n".join(lines)
        assert f"open {url}" in banner
        for user in DEMO_USERS:
            assert f"{user.username:<6} / {user.password}" in banner
        async with aiohttp.ClientSession() as http:
            page = await http.get(url)
            assert page.status == 200 and "Operator login" in await page.text()
            login = await http.post(
                url + "api/login", json={"username": "alice", "password": "alice-demo"}
            )
            token = (await login.json())["token"]
            async with http.ws_connect(
                url.replace("http", "ws") + "ws", protocols=("cti.bearer", token)
            ) as ws:
                async with asyncio.timeout(30):
                    while True:
                        msg = json.loads((await ws.receive()).data)
                        if msg["type"] != "call.ringing":
                            continue
                        pop = msg["pop"]
                        while not pop["complete"]:
                            update = json.loads((await ws.receive()).data)
                            if update["type"] == "pop.update":
                                pop = update["pop"]
                        # callers are contacts of the store: the pop names one of them
                        if msg["call"]["direction"] == "inbound":
                            assert pop["match"]["status"] in ("exact", "multiple")
                            assert pop["match"]["contacts"][0]["name"]
                            break
    finally:
        stop.set()
        async with asyncio.timeout(30):
            await demo  # a clean stop: daemon shut down, simulator stopped
    assert lines[-1] == "cti demo stopped"
    # a second start finds the store seeded and does not seed again
    url = f"sqlite+aiosqlite:///{db}"
    store = await Store.open(url)
    try:
        before = len(await ContactService(store).numbers_sample(10_000))
    finally:
        await store.close()
    again: list[str] = []
    await prepare_store(url, 40, again.append)
    assert not any("seeding" in line for line in again)
    store = await Store.open(url)
    try:
        assert len(await ContactService(store).numbers_sample(10_000)) == before > 0
    finally:
        await store.close()
