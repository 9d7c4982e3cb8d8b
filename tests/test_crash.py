"""``kill -9`` of a real ``cti serve`` while its store is locked: no finished call is lost,
and after the restart each one is stored exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from cti.calllog.journal import CallJournal
from cti.pbxsim.calls import InboundCall
from cti.pbxsim.server import PbxSimulator

SECRET = "crash-secret"
CALLS = 12


def _daemon(db: Path, journal: Path, sim: PbxSimulator) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CTI_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
        "CTI_AMI_URL": f"ami://cti:{SECRET}@127.0.0.1:{sim.port}",
        "CTI_CALLLOG_JOURNAL_DIR": str(journal),
        "CTI_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "cti", "serve", "--host", "127.0.0.1", "--port", "0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def _until(test: Callable[[], bool], what: str, within: float = 90.0) -> None:
    """Poll ``test`` (the daemon is another process: there is nothing to await)."""
    try:
        async with asyncio.timeout(within):
            while not test():  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"not within {within} s: {what}") from None


def _journaled(journal: Path) -> int:
    return sum(p.read_bytes().count(b"\n") for p in journal.glob("*.jsonl"))


def _stored(db: Path) -> list[str]:
    with sqlite3.connect(db, timeout=5) as conn:
        return [row[0] for row in conn.execute("SELECT linkedid FROM calls")]


async def test_kill_9_with_the_store_locked_loses_no_call(tmp_path: Path) -> None:
    db, journal = tmp_path / "cti.db", tmp_path / "journal"
    sim = PbxSimulator(users={"cti": SECRET}, agents=["101"], time_scale=0.001)
    await sim.start()
    first = second = None
    lock = None
    try:
        first = _daemon(db, journal, sim)
        await _until(lambda: sim.listeners > 0, "the daemon connects to the PBX")
        lock = sqlite3.connect(db, timeout=5, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")  # the store is "down": every write gets SQLITE_BUSY
        placed = []
        for _ in range(CALLS):
            handle = await sim.place_call(InboundCall(caller="+74951234567", to="101"))
            await handle
            placed.append(handle.linkedid)
        await _until(lambda: _journaled(journal) >= CALLS, "every finished call is journaled")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        lock.execute("ROLLBACK")
        lock.close()
        lock = None
        assert _stored(db) == []  # nothing reached the store before the kill
        second = _daemon(db, journal, sim)
        await _until(lambda: len(_stored(db)) >= CALLS, "the restart stores the journal")
        second.send_signal(signal.SIGTERM)
        assert second.wait(60) == 0
        stored = _stored(db)
        assert sorted(stored) == sorted(placed)  # each call once, none lost
        left = CallJournal(journal)
        assert not left.has_pending()  # the cursor moved past every stored call
        left.close()
    finally:
        if lock is not None:
            lock.close()
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)
            if proc is not None and proc.stderr is not None:
                proc.stderr.close()
        await sim.stop()
