"""The call log on the real store (SQLite and PostgreSQL): idempotent writes, replays applied
twice, partial → complete, contact and agent matching, callbacks opened and closed; batches
(``record_many``) with the same outcome as writing their records one by one."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import delete, event, func, select
from sqlalchemy.exc import IntegrityError

from cti.ami.events import CallRecord, OriginateInfo
from cti.ami.replay import replay_bytes
from cti.calllog.service import CallLog
from cti.crm_store.models.calls import Call, CallAgent
from cti.crm_store.models.tasks import Task
from cti.crm_store.models.users import User
from cti.crm_store.schemas.calls import CallFilter, CallQuery
from cti.crm_store.schemas.contacts import ContactIn, PhoneIn
from cti.crm_store.schemas.users import UserIn, UserPatch
from cti.crm_store.services.contacts import ContactService
from cti.crm_store.services.users import UserService
from cti.crm_store.store import Store
from tests import needs
from tests.calllog.records import IVAN, T0, call

TRACES = needs.TRACES / "asterisk22"
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


async def count(store: Store, model: type[Call] | type[Task]) -> int:
    async with store.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def callbacks(store: Store) -> list[Task]:
    async with store.sessions() as session:
        rows = await session.scalars(select(Task).where(Task.kind == "callback").order_by(Task.id))
        return list(rows)


async def user(store: Store, name: str, *exts: str) -> int:
    created = await UserService(store, hasher=FAST).create(
        UserIn.model_validate(
            {"username": name, "password": "pw-123456789", "extensions": list(exts)}
        )
    )
    return created.id


@pytest.fixture(scope="module")
def trace_records() -> list[CallRecord]:
    """Every recorded Asterisk 22 call, through the same parser + tracker as the live path."""
    records: list[CallRecord] = []
    for path in sorted(TRACES.glob("*.ami")):
        if path.name != "login.ami":
            records += replay_bytes(path.read_bytes(), pbx="lab")
    return records


@pytest.mark.traces
async def test_a_replayed_trace_applied_twice_stores_each_call_once(
    store: Store, trace_records: list[CallRecord]
) -> None:
    log = CallLog(store)
    records = trace_records
    assert len(records) >= 7
    first = [await log.record(r) for r in records]
    second = [await log.record(r) for r in records]
    assert all(first) and not any(second)
    assert await count(store, Call) == len({r.linkedid for r in records})
    assert await log.count(CallQuery(campaign="spring-promo")) == 3
    outbound = (await log.search(CallQuery(campaign="spring-promo", number="79161110001"))).items
    assert len(outbound) == 1
    assert outbound[0].external_number == "+79161110001"
    assert outbound[0].originate_variables and outbound[0].originate_variables["LEAD_ID"] == "7741"


async def test_complete_record_replaces_a_partial_one_but_not_the_reverse(store: Store) -> None:
    log = CallLog(store)
    partial = call("1.1", status="missed", partial=True, agent=None)
    assert await log.record(partial)
    assert await log.record(call("1.1"))  # the full trace arrived later: it wins
    assert not await log.record(partial)  # a partial never overwrites a complete one
    rows = (await log.search(CallQuery())).items
    assert [(r.linkedid, r.status, r.partial) for r in rows] == [("1.1", "answered", False)]


async def test_external_number_contact_agent_and_campaign_are_filled(store: Store) -> None:
    contact = await ContactService(store).create(
        ContactIn(
            first_name="Ivan", last_name="Petrov", phones=[PhoneIn(number="+7 495 123-45-67")]
        )
    )
    agent_id = await user(store, "anna", "101")
    log = CallLog(store)
    orig = OriginateInfo("cti-orig-1", {"CAMPAIGN": "spring"}, "acc-7")
    await log.record(call("2.1", originate=orig))
    (row,) = (await log.search(CallQuery())).items
    assert row.external_number == IVAN
    assert row.contact_id == contact.id
    assert row.agent_user_id == agent_id
    assert (row.campaign, row.account, row.originate_action_id) == ("spring", "acc-7", "cti-orig-1")
    assert [c.linkedid for c in await log.recent_calls("8 (495) 123-45-67")] == ["2.1"]
    assert await log.recent_calls("+74950000000") == []


async def test_missed_call_opens_a_callback_for_the_single_rung_agent(store: Store) -> None:
    agent_id = await user(store, "anna", "101")
    log = CallLog(store)
    await log.record(call("3.1", status="missed"))
    (task,) = await callbacks(store)
    assert task.assignee_id == agent_id and task.phone == IVAN and not task.done
    assert task.phone_tail == IVAN[-7:]
    assert "Ivan Petrov" in task.title
    # a second miss notes itself on the open callback instead of adding another
    await log.record(call("3.2", status="missed", started_at=T0 + timedelta(minutes=5)))
    (task,) = await callbacks(store)
    assert "3.2" in task.description


async def test_abandoned_queue_call_goes_to_the_queue(store: Store) -> None:
    await user(store, "anna", "201")
    await user(store, "boris", "202")
    log = CallLog(store)
    await log.record(call("4.1", status="abandoned", queue="support", agents_rung=("201", "202")))
    (task,) = await callbacks(store)
    assert task.assignee_id is None and task.queue == "support"
    assert "201, 202" in task.description


async def test_answered_call_closes_open_callbacks(store: Store) -> None:
    log = CallLog(store)
    await log.record(call("5.1", status="missed"))
    outbound_back = call(
        "5.2",
        direction="outbound",
        from_number="101",
        to_number=IVAN,
        started_at=T0 + timedelta(hours=1),
    )
    await log.record(outbound_back)
    (task,) = await callbacks(store)
    assert task.done and task.done_at is not None
    assert task.done_reason == "answered outbound call lab/5.2"


async def test_no_callback_when_a_later_answered_call_already_happened(store: Store) -> None:
    log = CallLog(store)
    await log.record(call("6.2", started_at=T0 + timedelta(hours=1)))  # replayed first
    await log.record(call("6.1", status="missed"))
    assert await callbacks(store) == []


async def test_an_earlier_answered_call_does_not_close_a_later_miss(store: Store) -> None:
    log = CallLog(store)
    await log.record(call("7.2", status="missed", started_at=T0 + timedelta(hours=1)))
    await log.record(call("7.1"))  # answered, but before the miss
    (task,) = await callbacks(store)
    assert not task.done


async def test_internal_and_outbound_misses_open_no_callback(store: Store) -> None:
    log = CallLog(store)
    await log.record(call("8.1", status="missed", direction="internal", from_number="102"))
    await log.record(call("8.2", status="no-answer", direction="outbound", to_number=IVAN))
    assert await callbacks(store) == []


async def test_search_filters_and_pagination(store: Store) -> None:
    log = CallLog(store)
    for i in range(5):
        await log.record(
            call(
                f"9.{i}",
                started_at=T0 + timedelta(minutes=i),
                agents_rung=(f"10{i % 2}",),
                agent=f"10{i % 2}",
            )
        )
    await log.record(call("9.9", status="missed", from_number="+79160000000"))
    first = await log.search(CallQuery(limit=2))
    page = await log.search(CallQuery(limit=2, cursor=first.next_cursor))
    assert await log.count(CallQuery()) == 6 and [c.linkedid for c in page.items] == ["9.2", "9.1"]
    assert await log.count(CallQuery(status="missed")) == 1
    assert await log.count(CallQuery(number="89160000000")) == 1
    assert await log.count(CallQuery(agent="101")) == 3  # 9.1, 9.3 and the miss 9.9
    since = T0 + timedelta(minutes=3)
    assert {
        c.linkedid for c in (await log.search(CallQuery.model_validate({"from": since}))).items
    } == {"9.3", "9.4"}
    mine = await log.search(CallQuery(), extensions=["100"])
    assert {c.linkedid for c in mine.items} == {"9.0", "9.2", "9.4"}
    assert await log.count(CallQuery(), extensions=[]) == 0


async def test_my_calls_are_those_that_rang_or_were_answered_on_my_extensions(
    store: Store,
) -> None:
    log = CallLog(store)
    await log.record(call("30.1", agents_rung=("101", "102"), agent="102"))
    await log.record(call("30.2", agents_rung=("1010",), agent="1010"))  # not 101's
    await log.record(call("30.3", agents_rung=(), agent='1"0%_'))  # JSON and LIKE specials
    await log.record_many([call("30.4", agents_rung=("103",), agent=None, status="missed")])
    # a partial record rewritten by the complete one: the complete one's extensions count
    await log.record(call("30.5", agents_rung=("105",), agent=None, partial=True))
    await log.record(call("30.5", agents_rung=("106",), agent="106"))

    async def mine(*exts: str) -> list[str]:
        page = await log.search(CallQuery(), extensions=list(exts))
        return sorted(c.linkedid for c in page.items)

    assert await mine("101") == ["30.1"]
    assert await mine("102", "103") == ["30.1", "30.4"]
    assert await mine('1"0%_') == ["30.3"]
    assert await mine("10") == [] and await mine("105") == []
    assert await mine("106") == ["30.5"]
    assert await log.count(CallQuery(agent="1010")) == 1
    async with store.sessions() as session:  # one row per call and extension
        rows = await session.execute(select(CallAgent.call_id, CallAgent.extension))
        assert len(rows.all()) == 6
        await session.execute(delete(Call).where(Call.linkedid == "30.1"))
        await session.commit()
    assert await mine("101", "102") == []  # gone with its call


def test_filter_validation_names_the_field() -> None:
    with pytest.raises(ValueError, match="number"):
        CallFilter.model_validate({"number": "abc"})
    with pytest.raises(ValueError, match="after 'to'"):
        CallFilter.model_validate({"from": "2026-03-02T10:00:00Z", "to": "2026-03-01T10:00:00Z"})
    with pytest.raises(ValueError, match="status"):
        CallFilter.model_validate({"status": "lost"})


async def test_oversized_caller_id_is_cut_to_fit(store: Store) -> None:
    log = CallLog(store)
    assert await log.record(call("10.1", from_name="N" * 500, from_number="9" * 100))
    (row,) = (await log.search(CallQuery())).items
    assert row.from_name == "N" * 200 and row.from_number == "9" * 64


async def test_agent_owner_cache_sees_new_users_and_is_dropped_on_demand(store: Store) -> None:
    log = CallLog(store)
    anna = await user(store, "anna", "101")
    await log.record(call("9.1"))  # reads the map of all owners once
    boris = await user(store, "boris", "102")  # not in the map: checked on its own
    await log.record(call("9.2", agents_rung=("102",), agent="102"))
    await log.record(call("9.3", agents_rung=("103",), agent="103"))  # nobody's
    rows = {c.linkedid: c.agent_user_id for c in (await log.search(CallQuery())).items}
    assert rows == {"9.1": anna, "9.2": boris, "9.3": None}
    assert await UserService(store).extension_owners() == {"101": anna, "102": boris}
    log.forget_users()
    await UserService(store).update(boris, UserPatch(active=False))
    await log.record(call("9.4", agents_rung=("102",), agent="102"))
    assert (await log.search(CallQuery(agent="102"))).items[0].agent_user_id is None
    log.close()


# ---- batches ---------------------------------------------------------------------------------


async def test_a_batch_reports_each_record_and_stores_each_call_once(store: Store) -> None:
    log = CallLog(store)
    assert await log.record(call("20.0"))
    batch = [call("20.1"), call("20.0"), call("20.2"), call("20.1")]
    assert await log.record_many(batch) == [True, False, True, False]
    assert await log.record_many(batch) == [False] * 4
    assert await log.record_many([]) == []
    assert await count(store, Call) == 3


async def test_partial_then_complete_of_one_call_in_one_batch(store: Store) -> None:
    log = CallLog(store)
    partial = call("21.1", status="missed", partial=True, agent=None)
    assert await log.record_many([partial, call("21.1"), partial]) == [True, True, False]
    assert await log.record_many([call("21.2"), call("21.2", partial=True)]) == [True, False]
    rows = (await log.search(CallQuery())).items
    assert sorted((r.linkedid, r.status, r.partial) for r in rows) == [
        ("21.1", "answered", False),
        ("21.2", "answered", False),
    ]
    # the partial miss opened a callback; its own complete (answered) record closed it
    (task,) = await callbacks(store)
    assert task.done and task.done_reason == "answered inbound call lab/21.1"


async def test_missed_then_answered_in_one_batch_closes_the_callback(store: Store) -> None:
    log = CallLog(store)
    back = call("22.2", direction="outbound", to_number=IVAN, started_at=T0 + timedelta(hours=1))
    assert await log.record_many([call("22.1", status="missed"), back]) == [True, True]
    (task,) = await callbacks(store)
    assert task.done and task.done_reason == "answered outbound call lab/22.2"
    ids = {c.linkedid: c.id for c in (await log.search(CallQuery())).items}
    assert task.call_id == ids["22.1"] and task.phone == IVAN


async def test_answered_later_then_missed_in_one_batch_opens_no_callback(store: Store) -> None:
    log = CallLog(store)
    later = call("23.2", started_at=T0 + timedelta(hours=1))
    await log.record_many([later, call("23.1", status="missed")])  # replayed out of order
    assert await callbacks(store) == []
    # an answer *before* the miss closes nothing, in one batch as one by one
    await log.record_many(
        [
            call("23.3", status="missed", started_at=T0 + timedelta(hours=2)),
            call("23.4", started_at=T0 + timedelta(minutes=90)),
        ]
    )
    (task,) = await callbacks(store)
    assert not task.done and "23.3" in task.description


async def test_two_misses_of_one_number_in_a_batch_give_one_callback(store: Store) -> None:
    agent_id = await user(store, "anna", "101")
    log = CallLog(store)
    await log.record_many(
        [
            call("24.1", status="missed"),
            call("24.2", status="missed", started_at=T0 + timedelta(minutes=5)),
        ]
    )
    (task,) = await callbacks(store)
    assert task.assignee_id == agent_id and not task.done
    assert "24.1" in task.description and "again: missed call lab/24.2" in task.description
    # a third miss in a later batch notes itself on the same task
    await log.record_many([call("24.3", status="missed", started_at=T0 + timedelta(minutes=9))])
    (task,) = await callbacks(store)
    assert "again: missed call lab/24.3" in task.description


async def test_a_batch_costs_a_few_statements_not_a_few_per_call(store: Store) -> None:
    log = CallLog(store)
    await log.record(call("25.0", status="missed"))  # warms the owner map; opens a callback
    batch = [
        call(
            f"25.{i}",
            status="missed" if i % 3 else "answered",
            started_at=T0 + timedelta(minutes=i),
            from_number=f"+7916000{i % 4:04d}",
        )
        for i in range(1, 31)
    ]
    statements: list[str] = []

    def seen(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(store.engine.sync_engine, "before_cursor_execute", seen)
    try:
        assert all(await log.record_many(batch))
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", seen)
    # one-by-one: ~5 per call (150 here); batched: reads, INSERTs and UPDATEs, COMMIT
    assert len(statements) <= 10, statements
    assert await count(store, Call) == 31


async def test_a_refused_batch_is_rolled_back_whole_and_then_written(store: Store) -> None:
    await user(store, "anna", "101")
    log = CallLog(store)
    await log.record(call("26.0"))  # the owner map now says 101 is anna's
    async with store.sessions() as session:  # anna leaves behind the cache's back
        await session.execute(delete(User))
        await session.commit()
    batch = [
        call("26.1", status="missed", from_number="+79160000001", agents_rung=("102",)),
        call("26.2"),  # answered by 101: the cached owner no longer exists
        call("26.3", status="missed", agents_rung=("102",), agent=None),
    ]
    with pytest.raises(IntegrityError):
        await log.record_many(batch)
    assert await count(store, Call) == 1 and await count(store, Task) == 0  # nothing half-written
    assert await log.record_many(batch) == [True, True, True]  # the owners are read again
    rows = {c.linkedid: c.agent_user_id for c in (await log.search(CallQuery())).items}
    assert rows == {"26.0": None, "26.1": None, "26.2": None, "26.3": None}
    assert len(await callbacks(store)) == 2


LAB = Path(__file__).resolve().parents[1] / "traces" / "asterisk22"


def lab_record(name: str) -> CallRecord:
    """A call from cti's own Asterisk 22 recordings (always in the repository)."""
    path = LAB / f"{name}.ami"
    [record] = replay_bytes(path.read_bytes(), pbx="lab")
    return record


async def test_rings_talk_parts_and_figures_are_stored_and_read_back(store: Store) -> None:
    """A blonde transfer: 104 answers and hands over to 106; both parts, their hold, the
    clock and the IVR/queue/hold figures are kept; 106 sees the call as theirs."""
    log = CallLog(store)
    record = lab_record("blonde-transfer")
    assert await log.record(record)
    page = await log.search(CallQuery(), extensions=("106",))
    [stored] = page.items
    detail = await log.detail(stored.id)
    assert (detail.clock, detail.answered_by) == ("pbx", "agent")
    assert detail.hold_seconds == pytest.approx(record.hold_seconds)
    assert detail.ivr_seconds == pytest.approx(record.ivr_seconds)
    assert detail.queue_wait_seconds == 0.0
    assert [(r.agent, r.answered) for r in detail.rings] == [("104", True)]
    assert [(t.agent, t.hold_seconds) for t in detail.talks] == [
        ("104", pytest.approx(record.talks[0].hold_seconds)),
        ("106", 0.0),
    ]
    assert detail.talks[1].seconds == pytest.approx(record.talks[1].seconds)
    assert detail.talks[0].started_at == record.talks[0].started_at
    log.close()


async def test_a_complete_record_replaces_the_partial_ones_parts(store: Store) -> None:
    log = CallLog(store)
    full = lab_record("ivr-then-queue")
    guess = replace(full, partial=True, rings=full.rings[:1], talks=())
    assert await log.record(guess)
    assert await log.record(full)
    [stored] = (await log.search(CallQuery())).items
    detail = await log.detail(stored.id)
    assert [(r.agent, r.answered) for r in detail.rings] == [("201", True), ("202", False)]
    assert [t.agent for t in detail.talks] == ["201"]
    log.close()


async def test_one_open_callback_per_number_and_queue(store: Store) -> None:
    """Misses of one number in two queues open one callback each; a second miss in the
    same queue is noted on its open one; the store itself refuses a duplicate."""
    log = CallLog(store)
    for linkedid, queue in [("q.1", "support"), ("q.2", "sales"), ("q.3", "support")]:
        await log.record(call(linkedid, "abandoned", queue=queue, agents_rung=()))
    tasks = await callbacks(store)
    assert [(t.queue, t.done) for t in tasks] == [("support", False), ("sales", False)]
    assert "again: abandoned call lab/q.3" in tasks[0].description
    async with store.sessions() as session:
        session.add(
            Task(title="dup", kind="callback", phone=tasks[0].phone, queue="support", done=False)
        )
        with pytest.raises(IntegrityError):
            await session.commit()
    log.close()


async def test_a_batch_that_closes_a_callback_and_misses_again_opens_the_next_one(
    store: Store,
) -> None:
    """Found by the benchmark: the stored callback must be closed before the batch's new one
    for the same number and queue is inserted (the unique index would refuse it)."""
    log = CallLog(store)
    await log.record(call("c.1", "abandoned", queue="support", agents_rung=()))
    later = T0 + timedelta(minutes=5)
    answered = call("c.2", queue="support", started_at=later, ended_at=later)
    again = call(
        "c.3", "abandoned", queue="support", agents_rung=(), started_at=later + timedelta(1)
    )
    assert await log.record_many([answered, again]) == [True, True]
    tasks = await callbacks(store)
    assert [(t.done, t.queue) for t in tasks] == [(True, "support"), (False, "support")]
    log.close()
