"""Does the daemon's memory come back after many WebSocket clients come and go?

    .venv/bin/python bench/bench_ws_memory.py [--clients 1000] [--rounds 6] [--hold 3]

A real ``cti serve`` (a child process, its own SQLite store, no PBX) and, in this process,
``--clients`` WebSocket clients of as many operators (fresh tokens, the ``cti.bearer``
subprotocol as the page uses): each round connects them all, holds them ``--hold`` seconds,
closes them, and waits for the daemon to settle. The daemon's resident memory (``VmRSS``)
is read before the first round and after each round's connections and closes. Memory that
comes back shows as an "after close" that stays flat round after round; a leak, or garbage
left for a far-off collection, shows as one that climbs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from argon2 import PasswordHasher
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cti.crm_store.schemas.users import UserIn
from cti.crm_store.services.users import UserService
from cti.crm_store.store import Store


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def tokens(url: str, n: int) -> list[str]:
    store = await Store.open(url)
    users = UserService(store, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    out = []
    try:
        for i in range(n):
            user = await users.create(
                UserIn(
                    username=f"op{i}",
                    password=SecretStr("bench-password"),
                    extensions=[str(3000 + i)],
                )
            )
            out.append((await users.issue_token(user.id)).token)
    finally:
        await store.close()
    return out


def start_daemon(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "cti", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
    )


async def one_round(port: int, toks: list[str], hold: float) -> int:
    """Connect every client (each reads its hello), hold, close all; returns how many did."""
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=0)  # every client holds its connection
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:

        async def client(token: str) -> aiohttp.ClientWebSocketResponse:
            ws = await session.ws_connect(
                f"http://127.0.0.1:{port}/ws", protocols=("cti.bearer", token), heartbeat=None
            )
            await ws.receive_json()  # hello
            return ws

        sockets = []
        for i in range(0, len(toks), 100):  # in waves: a burst of 1,000 handshakes at once
            sockets += await asyncio.gather(*(client(t) for t in toks[i : i + 100]))
        await asyncio.sleep(hold)
        await asyncio.gather(*(ws.close() for ws in sockets))
        return len(sockets)


async def run(args: argparse.Namespace) -> list[str]:
    work = Path(tempfile.mkdtemp(prefix="cti-ws-mem-"))
    url = f"sqlite+aiosqlite:///{work / 'cti.db'}"
    toks = await tokens(url, args.clients)
    port = free_port()
    env = {
        **os.environ,
        "CTI_DATABASE_URL": url,
        "CTI_LOG_LEVEL": "WARNING",
        "CTI_CALLLOG_JOURNAL_DIR": str(work / "journal"),
    }
    daemon = start_daemon(port, env)
    try:
        async with asyncio.timeout(30):
            while True:
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.close()
                    break
                except OSError:
                    await asyncio.sleep(0.2)
        await asyncio.sleep(2)
        rows = [f"| start | {rss_mib(daemon.pid):.1f} | |"]
        for n in range(1, args.rounds + 1):
            started = time.perf_counter()
            connected = await one_round(port, toks, args.hold)
            peak = rss_mib(daemon.pid)
            await asyncio.sleep(args.settle)
            after = rss_mib(daemon.pid)
            took = time.perf_counter() - started
            rows.append(
                f"| round {n} ({connected:,} clients, {took:.0f} s) | {after:.1f} | {peak:.1f} |"
            )
    finally:
        daemon.terminate()
        daemon.wait(30)
    return [
        f"WebSocket clients coming and going: {args.clients:,} operators' clients per round, "
        f"held {args.hold:g} s, then closed; the daemon's VmRSS after {args.settle:g} s",
        "",
        "| when | RSS after close (MiB) | RSS while connected (MiB) |",
        "|---|---:|---:|",
        *rows,
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--hold", type=float, default=3.0)
    parser.add_argument("--settle", type=float, default=5.0)
    args = parser.parse_args()
    lines = asyncio.run(run(args))
    cpu = platform.processor() or platform.machine()
    print(
        "\n".join(
            [
                *lines,
                "",
                f"Machine: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}",
            ]
        )
    )


if __name__ == "__main__":
    main()
