"""Survey results: per script version and per question, from the stored responses (pure).

Definitions (``../shared/references/contact-center.md``, docs/surveys.md):

* **started**: responses; **completion** = complete / started, in %. A partial response
  (hung up or stopped before the end) is counted as partial, never as complete; one still
  in progress is neither.
* per question: **answered** (a value), **skipped** (an optional question passed over),
  **dropped** (partial responses that stopped at this question), **reached** = answered +
  skipped + dropped; **drop-off** = dropped / reached, in %.
* **NPS** (``measure: nps``, 0–10) = % promoters (9–10) − % detractors (0–6); passives
  (7–8) count only in the denominator; −100…+100.
* **CSAT** (``measure: csat``, 1–5) = % of answers that are 4 or 5.
* **average**: mean of a scale's or a number's answers.

Stored answers are the path each survey took (the service deletes answers a change left
off it), so nothing here walks the script again.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from cti.crm_store.repos.surveys import ResponseRow
from cti.surveys.script import Question, Script

#: a cell beginning with one of these is read as a formula by spreadsheets
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Figure(BaseModel):
    key: str
    count: int


class NpsFigures(BaseModel):
    promoters: int
    passives: int
    detractors: int
    score: float | None


class CsatFigures(BaseModel):
    satisfied: int
    total: int
    percent: float | None


class QuestionResult(BaseModel):
    id: str
    text: str
    kind: str
    measure: str | None
    reached: int
    answered: int
    skipped: int
    dropped: int
    drop_off_percent: float | None
    distribution: list[Figure]
    average: float | None
    nps: NpsFigures | None = None
    csat: CsatFigures | None = None


class VersionResult(BaseModel):
    script_name: str
    version: str
    title: str
    started: int
    complete: int
    partial: int
    in_progress: int
    completion_percent: float | None
    questions: list[QuestionResult]


class Results(BaseModel):
    """Every script version the selected responses were given under."""

    versions: list[VersionResult]


def percent(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100.0 * part / whole, 1)


def nps(scores: Iterable[int]) -> NpsFigures:
    counted = Counter(
        "promoter" if s >= 9 else "passive" if s >= 7 else "detractor" for s in scores
    )
    total = sum(counted.values())
    score = (
        None
        if total == 0
        else round(100.0 * (counted["promoter"] - counted["detractor"]) / total, 1)
    )
    return NpsFigures(
        promoters=counted["promoter"],
        passives=counted["passive"],
        detractors=counted["detractor"],
        score=score,
    )


def csat(scores: Iterable[int]) -> CsatFigures:
    values = list(scores)
    satisfied = sum(1 for s in values if s >= 4)
    return CsatFigures(
        satisfied=satisfied, total=len(values), percent=percent(satisfied, len(values))
    )


@dataclass
class _Tally:
    answered: int = 0
    skipped: int = 0
    dropped: int = 0
    values: list[Any] = field(default_factory=list)


def aggregate(script: Script, rows: Sequence[ResponseRow]) -> VersionResult:
    """The figures of ``rows``, all given under ``script``'s version."""
    tallies = {q.id: _Tally() for q in script.questions}
    statuses = Counter(r.response.status for r in rows)
    for row in rows:
        for qid, value in row.answers.items():
            tally = tallies.get(qid)
            if tally is None:
                continue
            if value is None:
                tally.skipped += 1
            else:
                tally.answered += 1
                tally.values.append(value)
        stopped = row.response.stopped_at
        if row.response.status == "partial" and stopped in tallies:
            tallies[stopped].dropped += 1
    return VersionResult(
        script_name=script.name,
        version=script.version,
        title=script.title or script.name,
        started=len(rows),
        complete=statuses["complete"],
        partial=statuses["partial"],
        in_progress=statuses["in_progress"],
        completion_percent=percent(statuses["complete"], len(rows)),
        questions=[_question(q, tallies[q.id]) for q in script.questions],
    )


def _question(q: Question, t: _Tally) -> QuestionResult:
    reached = t.answered + t.skipped + t.dropped
    numbers = [v for v in t.values if isinstance(v, int | float) and not isinstance(v, bool)]
    average = (
        round(sum(numbers) / len(numbers), 2) if q.kind in ("scale", "number") and numbers else None
    )
    return QuestionResult(
        id=q.id,
        text=q.text,
        kind=q.kind,
        measure=q.measure,
        reached=reached,
        answered=t.answered,
        skipped=t.skipped,
        dropped=t.dropped,
        drop_off_percent=percent(t.dropped, reached),
        distribution=distribution(q, t.values),
        average=average,
        nps=nps(int(v) for v in numbers) if q.measure == "nps" else None,
        csat=csat(int(v) for v in numbers) if q.measure == "csat" else None,
    )


def distribution(q: Question, values: Sequence[Any]) -> list[Figure]:
    """Counts per answer: every option or scale point (zeros too, in order); a multi
    question counts each option picked; numbers by value; dates and text: none."""
    counted: Counter[str] = Counter()
    for value in values:
        for item in value if isinstance(value, list) else [value]:
            counted[cell(item)] += 1
    if q.kind == "yesno":
        keys = ["yes", "no"]
    elif q.kind in ("single", "multi"):
        keys = list(q.options)
    elif q.kind == "scale" and q.min is not None and q.max is not None:
        keys = [str(i) for i in range(int(q.min), int(q.max) + 1)]
    elif q.kind == "number":
        keys = sorted(counted, key=lambda k: float(k))
    else:
        return []
    return [Figure(key=k, count=counted[k]) for k in keys]


def cell(value: Any) -> str:
    """An answer as text: yes/no, ``a; b`` for several, numbers as written."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return "; ".join(cell(v) for v in value)
    return str(value)


def safe(text: str) -> str:
    """A CSV cell a spreadsheet shows as text: one that would start a formula gets a
    leading apostrophe (OWASP's CSV-injection rule)."""
    return "'" + text if text.startswith(FORMULA_START) else text


META = (
    "response_id",
    "call_key",
    "call_id",
    "campaign_id",
    "list_id",
    "contact_id",
    "agent",
    "mode",
    "status",
    "stopped_at",
    "started_at",
    "ended_at",
    "disposition",
    "script",
    "script_version",
)


def csv_text(scripts: dict[str, Script], rows: Sequence[ResponseRow]) -> str:
    """Raw answers: one row per response, one column per question (the questions of every
    version, in script order), every cell formula-safe."""
    columns: list[str] = []
    for row in rows:
        script = scripts.get(row.response.script_version)
        for q in script.questions if script is not None else ():
            if q.id not in columns:
                columns.append(q.id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*META, *columns])
    for row in rows:
        r = row.response
        meta = [
            r.id,
            r.call_key,
            r.call_id,
            r.campaign_id,
            r.list_id,
            r.contact_id,
            r.agent,
            r.mode,
            r.status,
            r.stopped_at,
            r.started_at.isoformat(),
            r.ended_at.isoformat() if r.ended_at else None,
            row.disposition,
            r.script_name,
            r.script_version,
        ]
        answers = [cell(row.answers.get(c)) for c in columns]
        writer.writerow([safe(cell(v)) for v in meta] + [safe(a) for a in answers])
    return out.getvalue()
