"""Revision 0005 on a database with data (both backends): the calls and a campaign stored
with a script in the first format stay as they were, that script is read in the new format,
and a survey started under it links to the call written before the upgrade."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert

from cti.calllog.service import CallLog
from cti.crm_store.migrate import current_revision, upgrade_database
from cti.crm_store.models.campaigns import Campaign
from cti.crm_store.store import Store
from cti.crm_store.timeutil import utcnow
from cti.surveys.script import Script
from cti.surveys.service import SurveyService
from tests.calllog.records import call

OLD_SCRIPT: dict[str, Any] = {
    "name": "nps",
    "title": "NPS",
    "questions": [
        {
            "id": "recommend",
            "text": "0 to 10?",
            "kind": "choice",
            "options": [str(i) for i in range(11)],
        },
        {"id": "reason", "text": "Why?", "kind": "text", "options": []},
    ],
}


async def test_0005_keeps_the_data_and_reads_old_scripts(empty_db_url: str) -> None:
    await upgrade_database(empty_db_url, target="0004")
    store = await Store.open(empty_db_url, upgrade=False)
    try:
        async with store.sessions() as session:
            now = utcnow()
            # the table as revision 0004 has it (the model has columns of later revisions)
            campaign_id = (
                await session.execute(
                    insert(Campaign.__table__)
                    .values(
                        name="q3", title="Q3", status="stopped", version=1, spec={},
                        script=OLD_SCRIPT, pacing_ratio=1.0, created_at=now, updated_at=now,
                    )
                    .returning(Campaign.__table__.c.id)
                )
            ).scalar_one()  # fmt: skip
            await session.commit()
    finally:
        await store.close()

    await upgrade_database(empty_db_url, target="0005")
    assert await current_revision(empty_db_url) == "0005"
    await upgrade_database(empty_db_url)  # and on to the head, for today's models
    store = await Store.open(empty_db_url, upgrade=False)
    try:
        async with store.sessions() as session:
            stored = await session.get(Campaign, campaign_id)
            assert stored is not None and stored.script == OLD_SCRIPT  # untouched
        script = Script.model_validate(OLD_SCRIPT)
        assert [q.kind for q in script.questions] == ["single", "text"]
        # the call is written by today's call log (it keeps today's rollups too)
        await CallLog(store).record(call("1700000500.1", pbx="lab"))
        svc = SurveyService(store)
        rid = await svc.start(
            call_key="1700000500.1", script=script, mode="operator", campaign_id=campaign_id
        )
        await svc.answer(rid, "recommend", "9")
        await svc.answer(rid, "reason", "fast")
        done = await svc.finish(rid, "complete")
        assert done.response.call_id is not None
        assert [(a.question_id, a.value) for a in done.answers] == [
            ("recommend", "9"),
            ("reason", "fast"),
        ]
    finally:
        await store.close()
