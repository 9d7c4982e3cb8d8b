"""Survey results over many responses: ``SurveyReports.results`` and ``.csv`` for one script.

    .venv/bin/python bench/bench_survey_results.py [--responses 20000] [--postgres URL]

A temporary SQLite store (or the PostgreSQL database at ``--postgres``, which must be empty
and is left with the rows) gets ``--responses`` completed responses to the shipped NPS
survey, written in bulk (three answers each: consent, a 0–10 score, a 1–5 satisfaction), then
the results (every figure per question) and the raw-answer CSV are timed, wall clock,
in-process, each the best of three runs. The answers are seeded: every run sees the same data.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from cti.crm_store.models.surveys import SurveyAnswer, SurveyResponse, SurveyScript
from cti.crm_store.repos.surveys import ResponseFilter
from cti.crm_store.store import Store
from cti.crm_store.timeutil import utcnow
from cti.screenpop.scripts import ScriptBook
from cti.surveys.reports import SurveyReports


async def fill(store: Store, count: int) -> None:
    nps = ScriptBook.load().scripts["nps"]
    rng = random.Random(1)
    now = utcnow()
    async with store.sessions() as session:
        await session.execute(
            insert(SurveyScript).values(
                version=nps.version, name="nps", definition=nps.to_json(), created_at=now
            )
        )
        responses = [
            {
                "id": i + 1,
                "call_key": f"bench-{i}",
                "script_name": "nps",
                "script_version": nps.version,
                "mode": "keypad",
                "status": "complete",
                "started_at": now,
                "updated_at": now,
            }
            for i in range(count)
        ]
        await session.execute(insert(SurveyResponse), responses)
        answers = [
            {
                "response_id": i + 1,
                "question_id": q,
                "value": v,
                "answered_at": now,
                "updated_at": now,
            }
            for i in range(count)
            for q, v in (
                ("consent", True),
                ("recommend", rng.randint(0, 10)),
                ("satisfaction", rng.randint(1, 5)),
            )
        ]
        await session.execute(insert(SurveyAnswer), answers)
        await session.commit()


async def best_of(work: object, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        await work()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=20_000)
    parser.add_argument("--postgres", default=None, help="an empty PostgreSQL database URL")
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    url = args.postgres or f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
    store = await Store.open(url)
    try:
        await fill(store, args.responses)
        reports = SurveyReports(store)
        where = ResponseFilter(script_name="nps")
        results = await best_of(lambda: reports.results(where))
        csv = await best_of(lambda: reports.csv(where))
        backend = "PostgreSQL" if args.postgres else "SQLite"
        print(f"| {backend} | {args.responses:,} | {results:.2f} s | {csv:.2f} s |")
    finally:
        await store.close()


if __name__ == "__main__":
    asyncio.run(main())
