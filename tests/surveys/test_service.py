"""SurveyService on both backends: start is idempotent, each answer is saved at once and
validated, a change updates the one row, finishing marks complete or partial, a restart
resumes, and the call record is linked once the call log has it."""

from __future__ import annotations

from typing import Any

import pytest

from cti.calllog.service import CallLog
from cti.crm_store.schemas.contacts import ContactIn
from cti.crm_store.services.contacts import ContactService
from cti.crm_store.store import Store
from cti.errors import ConflictError, NotFoundError, ValidationError
from cti.screenpop.scripts import DEFAULT_CAMPAIGNS_DIR, ScriptBook
from cti.surveys.script import parse_script
from cti.surveys.service import SurveyService, SurveyState
from tests.calllog.records import call

NPS = ScriptBook.load(DEFAULT_CAMPAIGNS_DIR).scripts["nps"]


async def test_start_is_idempotent_and_a_restart_resumes(store: Store) -> None:
    seen: list[tuple[str, SurveyState]] = []
    svc = SurveyService(store, on_change=lambda kind, state: seen.append((kind, state)))
    rid = await svc.start(call_key="1700000000.1", script=NPS, mode="operator", agent="101")
    assert await svc.start(call_key="1700000000.1", script=NPS, mode="operator") == rid
    await svc.answer(rid, "consent", "yes", by="olga")
    state = await svc.answer(rid, "recommend", 9, by="olga")
    assert state.next_question is not None and state.next_question.id == "liked"
    assert [kind for kind, _ in seen] == ["survey.started", "survey.answer", "survey.answer"]
    # the daemon restarts: a new service on the same store continues where it was
    again = SurveyService(store)
    assert await again.start(call_key="1700000000.1", script=NPS, mode="operator") == rid
    now = await again.current(rid)
    assert [(a.question_id, a.value) for a in now.answers] == [("consent", True), ("recommend", 9)]
    assert now.next_question is not None and now.next_question.id == "liked"
    assert now.response.script_version == NPS.version
    # another script on the same call is another response
    other = parse_script({"name": "other", "questions": [{"id": "x", "text": "X?"}]}, "t")
    assert await svc.start(call_key="1700000000.1", script=other, mode="operator") != rid


async def test_answers_are_checked_changed_in_place_and_must_be_on_the_path(store: Store) -> None:
    svc = SurveyService(store)
    rid = await svc.start(call_key="k-2", script=NPS, mode="keypad")
    with pytest.raises(ValidationError) as bad:
        await svc.answer(rid, "consent", "perhaps")
    assert bad.value.details["question"] == "consent"
    with pytest.raises(ConflictError, match="not on this survey's path"):
        await svc.answer(rid, "satisfaction", 4)
    with pytest.raises(NotFoundError):
        await svc.answer(rid, "nope", 1)
    await svc.answer(rid, "consent", True, raw="1", by="keypad")
    await svc.answer(rid, "recommend", 10, raw="10", by="keypad")
    first = (await svc.repo.answers(rid))["recommend"]
    state = await svc.answer(rid, "recommend", 4, raw="4", by="keypad")  # changed
    stored = await svc.repo.answers(rid)
    assert len(stored) == 2
    assert (stored["recommend"].value, stored["recommend"].raw) == (4, "4")
    assert stored["recommend"].answered_at == first.answered_at
    assert stored["recommend"].updated_at >= first.updated_at
    assert state.next_question is not None and state.next_question.id == "improve"


async def test_finish_complete_needs_the_end_partial_is_kept_and_marked(store: Store) -> None:
    svc = SurveyService(store)
    rid = await svc.start(call_key="k-3", script=NPS, mode="keypad")
    await svc.answer(rid, "consent", "yes")
    with pytest.raises(ConflictError, match="'recommend' is still to be answered"):
        await svc.finish(rid, "complete")
    state = await svc.finish(rid, "partial")  # the caller hung up
    assert state.response.status == "partial" and state.response.ended_at is not None
    assert (await svc.finish(rid, "partial")).response.status == "partial"  # a retry
    with pytest.raises(ConflictError):
        await svc.answer(rid, "recommend", 5)
    rid2 = await svc.start(call_key="k-4", script=NPS, mode="operator")
    await svc.answer(rid2, "consent", "no")
    done = await svc.finish(rid2, "complete")
    assert done.response.status == "complete" and done.done


async def test_an_answer_after_hangup_lands_on_the_call_record(store: Store) -> None:
    contact = await ContactService(store).create(ContactIn(first_name="Anna"))
    svc = SurveyService(store)
    rid = await svc.start(
        call_key="1700000099.7", pbx="lab", script=NPS, mode="operator", contact_id=contact.id
    )
    state = await svc.answer(rid, "consent", "yes", by="olga")
    assert "Hello Anna," in state.to_json()["intro"]
    log = CallLog(store)
    await log.record(call("1700000099.7"))  # the call ends and the call log stores it
    await log.record(call("1700000099.8"))
    state = await svc.answer(rid, "recommend", 7, by="olga")  # after hang-up
    assert state.response.call_id is None  # not linked yet: linked on finish / read
    await svc.answer(rid, "missing", "faster delivery", by="olga")
    await svc.answer(rid, "satisfaction", 4, by="olga")
    done = await svc.finish(rid, "complete")
    assert done.response.call_id is not None
    linked = await log.detail(done.response.call_id, extensions=None)
    assert linked.linkedid == "1700000099.7"
    assert [a.question_id for a in done.answers] == [
        "consent",
        "recommend",
        "missing",
        "satisfaction",
    ]


async def test_the_call_key_is_checked(store: Store) -> None:
    svc = SurveyService(store)
    with pytest.raises(ValidationError):
        await svc.start(call_key="", script=NPS, mode="operator")
    bad: Any = "neither"
    rid = await svc.start(call_key="k-9", script=NPS, mode="operator")
    with pytest.raises(ValidationError):
        await svc.finish(rid, bad)


async def test_concurrent_starts_and_first_answers_make_one_row_each(store: Store) -> None:
    import asyncio

    svc, other = SurveyService(store), SurveyService(store)
    ids = await asyncio.gather(
        *(s.start(call_key="race.1", script=NPS, mode="keypad") for s in (svc, other, svc))
    )
    assert len(set(ids)) == 1
    await asyncio.gather(
        svc.answer(ids[0], "consent", True), other.answer(ids[0], "consent", False)
    )
    stored = await svc.repo.answers(ids[0])
    assert list(stored) == ["consent"]


async def test_a_changed_answer_drops_the_answers_off_the_new_path(store: Store) -> None:
    svc = SurveyService(store)
    rid = await svc.start(call_key="k-10", script=NPS, mode="operator")
    for qid, value in (
        ("consent", True),
        ("recommend", 2),
        ("improve", "price"),
        ("satisfaction", 1),
    ):
        await svc.answer(rid, qid, value)
    assert list(await svc.repo.answers(rid)) == ["consent", "recommend", "improve", "satisfaction"]
    state = await svc.answer(rid, "recommend", 10)
    assert [a.question_id for a in state.answers] == ["consent", "recommend"]
    assert sorted(await svc.repo.answers(rid)) == ["consent", "recommend"]
    assert state.next_question is not None and state.next_question.id == "liked"
