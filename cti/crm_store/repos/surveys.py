"""Every SQL statement of surveys: script versions, responses, answers, the results' read.

Each answer is its own short transaction, committed before the call returns (a reload, a
lost connection or a daemon restart loses nothing). Starting is idempotent per call key and
script (a unique pair: a second start, on any node, finds the first one's row).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, select, update
from sqlalchemy.exc import IntegrityError

from cti.crm_store.models import Call, Company, Contact, DialAttempt, Lead
from cti.crm_store.models.surveys import SurveyAnswer, SurveyResponse, SurveyScript
from cti.crm_store.repos.base import get_or_404
from cti.crm_store.schemas.surveys import AnswerOut, ResponseOut
from cti.crm_store.store import Store
from cti.crm_store.timeutil import utcnow

#: how far back an unlinked response still looks for its call record
LINK_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class ResponseFilter:
    """Which responses the results read (None: no limit on that field)."""

    campaign_id: int | None = None
    script_name: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    list_id: int | None = None
    agent: str | None = None


@dataclass(frozen=True)
class ResponseRow:
    response: ResponseOut
    #: question id → the stored value (None: skipped)
    answers: dict[str, Any]
    #: the call record's disposition, once the record exists
    disposition: str | None = None


class SurveyRepo:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def save_script(self, version: str, name: str, definition: dict[str, Any]) -> None:
        """Keep one script version's definition (once: a version never changes)."""
        async with self.store.sessions() as session:
            if await session.get(SurveyScript, version) is not None:
                return
            session.add(SurveyScript(version=version, name=name, definition=definition))
            try:
                await session.commit()
            except IntegrityError:  # another start stored it first: the same content
                await session.rollback()

    async def script(self, version: str) -> dict[str, Any] | None:
        async with self.store.sessions() as session:
            row = await session.get(SurveyScript, version)
            return None if row is None else dict(row.definition)

    async def scripts(self, versions: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not versions:
            return {}
        async with self.store.sessions() as session:
            rows = await session.scalars(
                select(SurveyScript).where(SurveyScript.version.in_(set(versions)))
            )
            return {r.version: dict(r.definition) for r in rows}

    async def start(self, values: dict[str, Any]) -> tuple[ResponseOut, bool]:
        """The response of ``values['call_key']`` and script, made if there is none yet;
        (response, made now). An attempt fills in its lead's list and contact."""
        key, name = values["call_key"], values["script_name"]
        found = await self._by_call(key, name)
        if found is not None:
            return found, False
        async with self.store.sessions() as session:
            attempt_id = values.get("attempt_id")
            if attempt_id is not None:
                lead = await session.scalar(
                    select(Lead)
                    .join(DialAttempt, DialAttempt.lead_id == Lead.id)
                    .where(DialAttempt.id == attempt_id)
                )
                if lead is not None:
                    values = {"list_id": lead.list_id, **values}
                    if values.get("contact_id") is None:
                        values["contact_id"] = lead.contact_id
            row = SurveyResponse(**values, status="in_progress", started_at=utcnow())
            session.add(row)
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()
                again = await self._by_call(key, name)
                if again is None:
                    raise
                return again, False
            return ResponseOut.model_validate(row), True

    async def _by_call(self, call_key: str, script_name: str) -> ResponseOut | None:
        async with self.store.sessions() as session:
            row = await session.scalar(
                select(SurveyResponse).where(
                    SurveyResponse.call_key == call_key,
                    SurveyResponse.script_name == script_name,
                )
            )
            return None if row is None else ResponseOut.model_validate(row)

    async def of_call(self, call_key: str) -> list[ResponseOut]:
        async with self.store.sessions() as session:
            rows = await session.scalars(
                select(SurveyResponse)
                .where(SurveyResponse.call_key == call_key)
                .order_by(SurveyResponse.id)
            )
            return [ResponseOut.model_validate(r) for r in rows]

    async def get(self, response_id: int) -> ResponseOut:
        async with self.store.sessions() as session:
            row = await get_or_404(session, SurveyResponse, response_id, "survey response")
            return ResponseOut.model_validate(row)

    async def answers(self, response_id: int) -> dict[str, AnswerOut]:
        async with self.store.sessions() as session:
            rows = await session.scalars(
                select(SurveyAnswer)
                .where(SurveyAnswer.response_id == response_id)
                .order_by(SurveyAnswer.id)
            )
            return {r.question_id: AnswerOut.model_validate(r) for r in rows}

    async def save_answer(
        self,
        response_id: int,
        question_id: str,
        value: Any,
        *,
        raw: str | None,
        by: str | None,
    ) -> AnswerOut:
        """Insert the answer, or update it in place (one row per question), and commit."""
        now = utcnow()
        for _ in range(2):  # a concurrent first answer: the second try updates its row
            async with self.store.sessions() as session:
                await session.execute(
                    update(SurveyResponse)
                    .where(SurveyResponse.id == response_id)
                    .values(updated_at=now)
                )
                row = await session.scalar(
                    select(SurveyAnswer).where(
                        SurveyAnswer.response_id == response_id,
                        SurveyAnswer.question_id == question_id,
                    )
                )
                if row is None:
                    row = SurveyAnswer(
                        response_id=response_id,
                        question_id=question_id,
                        answered_at=now,
                        updated_at=now,
                    )
                    session.add(row)
                row.value, row.raw, row.answered_by = value, raw, by
                row.updated_at = now
                try:
                    await session.commit()
                except IntegrityError:
                    await session.rollback()
                    continue
                return AnswerOut.model_validate(row)
        msg = f"answer {question_id!r} of response {response_id}: kept conflicting"
        raise RuntimeError(msg)

    async def keep_only(self, response_id: int, question_ids: Sequence[str]) -> int:
        """Delete the answers left off the path by a changed answer; how many."""
        async with self.store.sessions() as session:
            result = await session.execute(
                delete(SurveyAnswer).where(
                    SurveyAnswer.response_id == response_id,
                    SurveyAnswer.question_id.not_in(list(question_ids)),
                )
            )
            await session.commit()
            return int(getattr(result, "rowcount", 0) or 0)

    async def finish(self, response_id: int, status: str, stopped_at: str | None) -> ResponseOut:
        async with self.store.sessions() as session:
            row = await get_or_404(session, SurveyResponse, response_id, "survey response")
            row.status, row.ended_at, row.stopped_at = status, utcnow(), stopped_at
            await session.commit()
            return ResponseOut.model_validate(row)

    async def link_calls(self) -> int:
        """Give responses of the last :data:`LINK_WINDOW` without a ``call_id`` the id of
        their call record, now that the call log has stored it (by Linkedid, and PBX when
        known); the number linked. Read paths call it, so a link never waits for a job."""
        call = (
            select(Call.id)
            .where(
                Call.linkedid == SurveyResponse.call_key,
                (SurveyResponse.pbx.is_(None)) | (Call.pbx == SurveyResponse.pbx),
            )
            .order_by(Call.id)
            .limit(1)
            .scalar_subquery()
        )
        async with self.store.sessions() as session:
            result = await session.execute(
                update(SurveyResponse)
                .where(
                    SurveyResponse.call_id.is_(None),
                    SurveyResponse.started_at >= utcnow() - LINK_WINDOW,
                    exists().where(Call.linkedid == SurveyResponse.call_key),
                )
                .values(call_id=call)
                .execution_options(synchronize_session=False)
            )
            await session.commit()
            return int(getattr(result, "rowcount", 0) or 0)

    async def call_parties(
        self, call_key: str, pbx: str | None
    ) -> list[tuple[str | None, list[str]]]:
        """The stored call records of ``call_key``: (answering agent, extensions rung) each
        (an operator's own calls: :func:`cti.crm_store.rules.visibility.may_see_call`)."""
        stmt = select(Call.agent, Call.agents_rung).where(Call.linkedid == call_key)
        if pbx is not None:
            stmt = stmt.where(Call.pbx == pbx)
        async with self.store.sessions() as session:
            return [
                (agent, list(rung or [])) for agent, rung in (await session.execute(stmt)).all()
            ]

    async def contact_fields(self, contact_id: int | None) -> dict[str, Any]:
        """The contact's fields a script may use (``{first_name}``, a condition on
        ``city``): names, company, time zone, tags and the imported extra columns."""
        if contact_id is None:
            return {}
        async with self.store.sessions() as session:
            contact = await session.get(Contact, contact_id)
            if contact is None:
                return {}
            company = await session.get(Company, contact.company_id) if contact.company_id else None
            extra = {
                k: v
                for k, v in (contact.extra or {}).items()
                if isinstance(v, str | int | float | bool)
            }
            name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
            return {
                **extra,
                "first_name": contact.first_name,
                "last_name": contact.last_name,
                "name": name,
                "company": company.name if company is not None else "",
                "time_zone": contact.time_zone or "",
                "tags": ",".join(contact.tags or []),
            }

    async def rows(self, where: ResponseFilter) -> list[ResponseRow]:
        """The responses ``where`` selects, each with its answers' values and its call's
        disposition (oldest first). Two plain-column reads, whatever the count: reading ORM
        rows made the results of 20,000 responses take 7.6 s, this about 1.1 s
        (``bench/bench_survey_results.py``, docs/benchmarks.md)."""
        chosen = select(SurveyResponse.id)
        columns = [
            (where.campaign_id, SurveyResponse.campaign_id.__eq__),
            (where.script_name, SurveyResponse.script_name.__eq__),
            (where.since, SurveyResponse.started_at.__ge__),
            (where.until, SurveyResponse.started_at.__lt__),
            (where.list_id, SurveyResponse.list_id.__eq__),
            (where.agent, SurveyResponse.agent.__eq__),
        ]
        for value, test in columns:
            if value is not None:
                chosen = chosen.where(test(value))
        fields = [c for c in SurveyResponse.__table__.c if c.name in ResponseOut.model_fields]
        stmt = (
            select(*fields, Call.disposition)
            .outerjoin(Call, Call.id == SurveyResponse.call_id)
            .where(SurveyResponse.id.in_(chosen))
            .order_by(SurveyResponse.id)
        )
        values = select(
            SurveyAnswer.response_id, SurveyAnswer.question_id, SurveyAnswer.value
        ).where(SurveyAnswer.response_id.in_(chosen))
        async with self.store.sessions() as session:
            found = (await session.execute(stmt)).mappings().all()
            answers: dict[int, dict[str, Any]] = {r["id"]: {} for r in found}
            for response_id, question_id, value in (await session.execute(values)).all():
                if response_id in answers:
                    answers[response_id][question_id] = value
        return [
            ResponseRow(
                ResponseOut.model_validate({k: v for k, v in r.items() if k != "disposition"}),
                answers[r["id"]],
                r["disposition"],
            )
            for r in found
        ]
