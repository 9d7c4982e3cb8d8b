"""``cti demo`` end to end: fresh SQLite store seeded, simulated traffic, pops, clean stop."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp

from cti.crm_store.services.contacts import ContactService
from cti.crm_store.store import Store
from cti.demo.run import DEMO_USERS, prepare_store, run_demo


def _status(line: str, text: str) -> bool:
    return "call records stored since start" in line and text in line


async def test_demo_pops_a_seeded_caller_to_a_demo_operator(tmp_path: Path) -> None:
    db = tmp_path / "cti.db"
    lines: list[str] = []
    saw_alice, saw_calls = asyncio.Event(), asyncio.Event()

    def out(line: str) -> None:
        lines.append(line)
        if _status(line, "logged in: alice"):
            saw_alice.set()
        if _status(line, " calls ended ("):
            saw_calls.set()

    stop = asyncio.Event()
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    demo = asyncio.create_task(
        run_demo(
            db=db, host="127.0.0.1", port=0, contacts=40, rate=0.1, out=out,
            stop=stop, on_ready=ready.set_result, time_scale=0.05, status_every=0.3,
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
                # a line a period says what the demo did, and who is logged in
                async with asyncio.timeout(30):
                    await saw_alice.wait()
                    await saw_calls.wait()
            # the demo campaign dials on its own: carol works it, sam watches it
            assert f"campaigns: {url}supervisor" in banner
            sam = await http.post(
                url + "api/login", json={"username": "sam", "password": "sam-demo"}
            )
            auth = {"Authorization": f"Bearer {(await sam.json())['token']}"}
            (campaign,) = (await (await http.get(url + "api/campaigns", headers=auth)).json())[
                "items"
            ]
            assert campaign["status"] == "running"
            figures: dict[str, object] = {}
            async with asyncio.timeout(30):
                while not figures.get("outcomes"):
                    await asyncio.sleep(0.3)
                    got = await http.get(
                        url + f"api/campaigns/{campaign['id']}/figures", headers=auth
                    )
                    figures = await got.json()
            assert figures["dialled_24h"] and [a["extension"] for a in figures["agents"]] == ["103"]
            # the IVR's callers take the NPS survey on the keypad, through the FastAGI server
            started = 0
            async with asyncio.timeout(60):
                while not started:
                    await asyncio.sleep(0.5)
                    got = await http.get(url + "api/survey-results?script=nps", headers=auth)
                    versions = (await got.json())["versions"]
                    started = sum(v["complete"] + v["partial"] for v in versions)
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


def test_status_line_reads_well() -> None:
    from collections import Counter
    from datetime import datetime

    from cti.demo.status import status_line

    now = datetime(2026, 12, 7, 13, 5)
    line = status_line(now, Counter({"missed": 1, "answered": 8}), 57, ["alice", "bob"])
    assert line == (
        "13:05 9 calls ended (8 answered, 1 missed) · 57 call records stored since start"
        " · logged in: alice, bob"
    )
    quiet = status_line(now, Counter(), None, [])
    assert "no calls ended" in quiet and "call log starting" in quiet and "nobody yet" in quiet
