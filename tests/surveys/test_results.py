"""Results against counts this test makes itself from a generated set of responses (seeded
random), on both backends; the CSV is one row per response and formula-safe."""

from __future__ import annotations

import csv
import io
import random
from collections import Counter
from typing import Any

from cti.crm_store.repos.surveys import ResponseFilter
from cti.crm_store.store import Store
from cti.screenpop.scripts import DEFAULT_CAMPAIGNS_DIR, ScriptBook
from cti.surveys import flow
from cti.surveys.reports import SurveyReports
from cti.surveys.results import safe
from cti.surveys.service import SurveyService

NPS = ScriptBook.load(DEFAULT_CAMPAIGNS_DIR).scripts["nps"]


def random_answer(rng: random.Random, qid: str) -> Any:
    q = NPS.by_id[qid]
    if q.kind == "yesno":
        return rng.random() < 0.8
    if q.kind == "scale":
        return rng.randint(int(q.min or 0), int(q.max or 0))
    if q.kind == "single":
        return rng.choice(q.options)
    if q.kind == "multi":
        return rng.sample(q.options, rng.randint(1, 2))
    if q.kind == "date":
        return "2026-12-1" + str(rng.randint(0, 9))
    return rng.choice(['=HYPERLINK("x")', "fine", "+1 more", "@SUM(A1)", "-2", "\tx"])


async def generate(store: Store, count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` surveys: each answers a random number of questions along its path, then
    finishes complete, partial (stopped) or stays in progress. What was stored, per survey."""
    rng = random.Random(seed)
    svc = SurveyService(store)
    made: list[dict[str, Any]] = []
    for i in range(count):
        agent = rng.choice(["101", "102"])
        rid = await svc.start(call_key=f"gen-{seed}-{i}", script=NPS, mode="operator", agent=agent)
        answers: dict[str, Any] = {}
        stop_after = rng.choice([1, 2, 3, 99, 99, 99])
        while (q := flow.next_question(NPS, answers, {})) is not None and len(answers) < stop_after:
            value = random_answer(rng, q.id)
            answers[q.id] = flow.check_answer(q, value)
            await svc.answer(rid, q.id, value)
        done = flow.next_question(NPS, answers, {}) is None
        status = "complete" if done else rng.choice(["partial", "partial", "in_progress"])
        if status != "in_progress":
            await svc.finish(rid, status)  # type: ignore[arg-type]
        stopped = None if done else flow.next_question(NPS, answers, {})
        made.append(
            {
                "answers": answers,
                "status": status,
                "agent": agent,
                "stopped": stopped.id if stopped and status == "partial" else None,
            }
        )
    return made


async def test_results_match_counts_made_independently(store: Store) -> None:
    made = await generate(store, 60, seed=7)
    results = await SurveyReports(store).results(ResponseFilter(script_name="nps"))
    (version,) = results.versions
    assert version.version == NPS.version
    statuses = Counter(m["status"] for m in made)
    assert (version.started, version.complete, version.partial, version.in_progress) == (
        60,
        statuses["complete"],
        statuses["partial"],
        statuses["in_progress"],
    )
    assert version.completion_percent == round(100 * statuses["complete"] / 60, 1)
    by_id = {q.id: q for q in version.questions}
    scores = [m["answers"]["recommend"] for m in made if "recommend" in m["answers"]]
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    assert by_id["recommend"].nps is not None
    assert by_id["recommend"].nps.score == round(100 * (promoters - detractors) / len(scores), 1)
    assert by_id["recommend"].average == round(sum(scores) / len(scores), 2)
    sat = [m["answers"]["satisfaction"] for m in made if "satisfaction" in m["answers"]]
    assert by_id["satisfaction"].csat is not None
    assert by_id["satisfaction"].csat.percent == round(100 * sum(s >= 4 for s in sat) / len(sat), 1)
    for qid, q in by_id.items():
        answered = sum(1 for m in made if m["answers"].get(qid, None) is not None)
        dropped = sum(1 for m in made if m["stopped"] == qid)
        assert (q.answered, q.dropped) == (answered, dropped), qid
    improve = {f.key: f.count for f in by_id["improve"].distribution}
    assert improve == {
        o: sum(1 for m in made if m["answers"].get("improve") == o)
        for o in NPS.by_id["improve"].options
    }
    liked = {f.key: f.count for f in by_id["liked"].distribution}
    assert liked["price"] == sum(1 for m in made if "price" in (m["answers"].get("liked") or []))
    # the agent filter
    only = await SurveyReports(store).results(ResponseFilter(script_name="nps", agent="101"))
    assert only.versions[0].started == sum(1 for m in made if m["agent"] == "101")


async def test_csv_one_row_per_response_and_formula_safe(store: Store) -> None:
    made = await generate(store, 25, seed=11)
    text = await SurveyReports(store).csv(ResponseFilter(script_name="nps"))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 25
    assert [q.id for q in NPS.questions if q.id in rows[0]] == [q.id for q in NPS.questions]
    for row, m in zip(rows, made, strict=True):
        assert row["status"] == m["status"]
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
        if "missing" in m["answers"] and m["answers"]["missing"]:
            assert row["missing"] == safe(m["answers"]["missing"])
    assert safe("=1+2") == "'=1+2" and safe("\r1") == "'\r1" and safe("ok") == "ok"
