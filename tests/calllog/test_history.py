"""The call history on the real store (SQLite and PostgreSQL): every filter, periods in a
time zone, numbers in any format, keyset pages (all rows once, with rows written between
pages), cursors refused when altered or reused with other filters, the separate count, and
an operator's own calls only."""

from __future__ import annotations

import base64
import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from cti.ami.events import OriginateInfo
from cti.calllog.service import CallLog
from cti.crm_store.migrate import upgrade_database
from cti.crm_store.models.calls import Call, CallAgent
from cti.crm_store.schemas.calls import CallFilter, CallOut, CallQuery
from cti.crm_store.schemas.contacts import CompanyIn, ContactIn, PhoneIn
from cti.crm_store.services.contacts import CompanyService, ContactService
from cti.crm_store.store import Store
from cti.crm_store.timeutil import as_utc
from cti.errors import ValidationError
from tests.calllog.records import T0, call


async def all_pages(log: CallLog, query: CallQuery, exts: list[str] | None = None) -> list[int]:
    """Every id of the listing, page after page."""
    ids: list[int] = []
    cursor = None
    while True:
        page = await log.search(query.model_copy(update={"cursor": cursor}), extensions=exts)
        ids += [c.id for c in page.items]
        assert len(page.items) <= query.limit
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


@pytest.fixture
async def world(store: Store) -> dict[str, int]:
    """Eight calls that differ in one field each from the first (names → ids)."""
    company = await CompanyService(store).create(CompanyIn(name="Acme"))
    ivan = await ContactService(store).create(
        ContactIn(first_name="Ivan", company_id=company.id, phones=[PhoneIn(number="+74951234567")])
    )
    olga = await ContactService(store).create(
        ContactIn(first_name="Olga", phones=[PhoneIn(number="+74957654321")])
    )
    log = CallLog(store)
    minute = timedelta(minutes=1)
    spring = OriginateInfo("a1", {"CAMPAIGN": "spring"})
    records = {
        "base": call("h.base"),
        "out": call(
            "h.out",
            direction="outbound",
            from_number="101",
            to_number="8 (495) 765-43-21",
            started_at=T0 + minute,
            originate=spring,
        ),
        "missed": call("h.missed", status="missed", started_at=T0 + 2 * minute),
        "queue": call(
            "h.queue", queue="support", agents_rung=("101", "102"), agent="102",
            started_at=T0 + 3 * minute,
        ),
        "other_pbx": call("h.pbx", pbx="branch", started_at=T0 + 4 * minute),
        "agent103": call("h.103", agents_rung=("103",), agent="103", started_at=T0 + 5 * minute),
        # 23:30 in Moscow on 2 March is 20:30 UTC on 2 March; 00:30 on 3 March is 21:30 UTC
        "late": call("h.late", started_at=datetime(2026, 3, 2, 21, 30, tzinfo=UTC)),
        "internal": call(
            "h.int", direction="internal", from_number="101", to_number="102",
            started_at=T0 - minute,
        ),
    }  # fmt: skip
    for record in records.values():
        await log.record(record)
    page = await log.search(CallQuery(limit=500))
    ids = {name: next(c.id for c in page.items if c.linkedid == r.linkedid)
           for name, r in records.items()}  # fmt: skip
    await log.set_disposition(ids["base"], "sold")
    log.close()
    return ids | {"ivan": ivan.id, "olga": olga.id, "company": company.id}


async def _ids(store: Store, exts: list[str] | None = None, **filters: object) -> set[int]:
    log = CallLog(store)
    try:
        query = CallQuery.model_validate({**filters, "limit": 500})
        got = {c.id for c in (await log.search(query, extensions=exts)).items}
        assert await log.count(CallFilter.model_validate(filters), extensions=exts) == len(got)
        return got
    finally:
        log.close()


async def test_each_filter_selects_its_calls(store: Store, world: dict[str, int]) -> None:
    w = world
    assert await _ids(store, direction="outbound") == {w["out"]}
    assert await _ids(store, direction="internal") == {w["internal"]}
    assert await _ids(store, status="missed") == {w["missed"]}
    assert await _ids(store, agent="102") == {w["queue"]}
    assert await _ids(store, agent="101") >= {w["base"], w["queue"]}  # rang 101, too
    assert await _ids(store, queue="support") == {w["queue"]}
    assert await _ids(store, campaign="spring") == {w["out"]}
    assert await _ids(store, disposition="sold") == {w["base"]}
    assert await _ids(store, pbx="branch") == {w["other_pbx"]}
    assert await _ids(store, contact=str(w["olga"])) == {w["out"]}
    inbound = {w[n] for n in ("base", "missed", "queue", "other_pbx", "agent103", "late")}
    assert await _ids(store, contact=str(w["ivan"])) == inbound
    assert await _ids(store, company=str(w["company"])) == inbound
    assert await _ids(store, contact="999999") == set()
    combined = await _ids(store, direction="inbound", agent="101", status="answered")
    assert combined == {w["base"], w["queue"], w["other_pbx"], w["late"]}


async def test_a_number_matches_in_any_format(store: Store, world: dict[str, int]) -> None:
    olga = {world["out"]}  # the callee of the outbound call
    for spelling in ("+74957654321", "84957654321", "8 (495) 765-43-21", "+7 495 765 43 21"):
        assert await _ids(store, number=spelling) == olga, spelling
    assert len(await _ids(store, number="8-495-123-45-67")) == 6  # Ivan, the caller
    assert await _ids(store, number="+74950000000") == set()


async def test_periods_by_time_and_by_day_in_a_time_zone(
    store: Store, world: dict[str, int]
) -> None:
    w = world
    window = {"from": "2026-03-02T10:01:00Z", "to": "2026-03-02T13:03:00+03:00"}
    assert await _ids(store, **window) == {w["out"], w["missed"]}  # 'to' excluded
    # 2 March in UTC: everything; in Moscow the late call is already 3 March
    assert len(await _ids(store, day_from="2026-03-02", day_to="2026-03-02")) == 8
    moscow = {"day_from": "2026-03-02", "day_to": "2026-03-02", "tz": "Europe/Moscow"}
    assert w["late"] not in await _ids(store, **moscow)
    assert await _ids(store, day_from="2026-03-03", tz="Europe/Moscow") == {w["late"]}
    # in Los Angeles (UTC-8) 10:00 UTC on 2 March is 02:00 that day
    assert len(await _ids(store, day_to="2026-03-01", tz="America/Los_Angeles")) == 0
    assert len(await _ids(store, day_from="2026-03-02", tz="America/Los_Angeles")) == 8


def test_period_validation_names_its_fields() -> None:
    cases = [
        ({"from": "2026-03-02T10:00:00"}, "from"),  # no offset: whose ten o'clock?
        ({"tz": "Mars/Olympus"}, "tz"),
        ({"day_from": "2026-3-2"}, "day_from"),
        ({"day_from": "2026-03-02", "from": "2026-03-02T10:00:00Z"}, "not both"),
        ({"day_from": "2026-03-03", "day_to": "2026-03-02"}, "day_from"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"sort": "agent"}, "sort"),
        ({"contact": "x"}, "contact"),
    ]
    for data, field in cases:
        with pytest.raises(ValueError, match=field):
            CallQuery.model_validate(data)


async def test_an_operator_sees_only_calls_on_own_phones(
    store: Store, world: dict[str, int]
) -> None:
    w = world
    assert await _ids(store, ["102"]) == {w["queue"]}
    assert await _ids(store, ["103"], status="answered") == {w["agent103"]}
    assert await _ids(store, ["103"], agent="102") == set()
    assert await _ids(store, []) == set()
    log = CallLog(store)
    try:
        paged = await all_pages(log, CallQuery(limit=1), ["101"])
        assert len(paged) == len(set(paged)) and set(paged) == await _ids(store, ["101"])
        assert w["agent103"] not in paged and w["base"] in paged
    finally:
        log.close()


async def test_keyset_pages_cover_every_row_once_while_calls_are_written(store: Store) -> None:
    """Pages of 7 over 60 calls, 5 new calls written between two pages: every call that was
    there at the start comes exactly once, in order, and nothing repeats."""
    log = CallLog(store)
    rng = random.Random(7)
    try:
        # many share a start time: the id breaks the ties
        starts = [T0 + timedelta(seconds=rng.randrange(20)) for _ in range(60)]
        await log.record_many([call(f"k.{i}", started_at=s) for i, s in enumerate(starts)])
        before = [c.id for c in (await log.search(CallQuery(limit=500))).items]
        for sort in ("-started_at", "started_at", "-duration", "duration"):
            seen: list[CallOut] = []
            cursor = None
            written = 0
            while True:
                query = CallQuery(limit=7, sort=sort, cursor=cursor)
                page = await log.search(query)
                seen += page.items
                if written < 3:  # newer and older calls arrive between pages
                    new = [call(f"k.{sort}.{written}.{j}", started_at=T0 + timedelta(
                        seconds=rng.randrange(-30, 30)), talk_seconds=rng.choice([None, 5.0]))
                        for j in range(5)]  # fmt: skip
                    await log.record_many(new)
                    written += 1
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
            ids = [c.id for c in seen]
            assert len(ids) == len(set(ids)), f"{sort}: a call came twice"
            assert set(before) <= set(ids), f"{sort}: a call was skipped"
            key = _order(sort)
            assert [key(c) for c in seen] == sorted(key(c) for c in seen), sort
    finally:
        log.close()


def _order(sort: str):  # type: ignore[no-untyped-def]
    """The listing's order as a Python sort key: valued rows first, then the rest by id."""
    desc = sort.startswith("-")
    field = "started_at" if sort.endswith("started_at") else "talk_seconds"

    def key(c: CallOut) -> tuple[int, float, int]:
        value = getattr(c, field)
        if value is None:
            return (1, 0.0, -c.id if desc else c.id)
        number = value.timestamp() if isinstance(value, datetime) else float(value)
        return (0, -number if desc else number, -c.id if desc else c.id)

    return key


async def test_a_tampered_or_foreign_cursor_is_refused_naming_cursor(store: Store) -> None:
    log = CallLog(store)
    try:
        for i in range(3):
            await log.record(call(f"t.{i}", started_at=T0 + timedelta(minutes=i)))
        cursor = (await log.search(CallQuery(limit=1))).next_cursor
        assert cursor is not None
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        raw[3] += 1  # another id, the same check
        forged = base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")
        bad = [forged, cursor[:-2], "x" * 20, "!!", cursor + "A"]
        for text in bad:
            with pytest.raises(ValidationError) as caught:
                await log.search(CallQuery(limit=1, cursor=text))
            assert "cursor" in caught.value.details["fields"]
        # the same cursor with other filters or another sort is another listing's
        for other in (CallQuery(limit=1, status="missed"), CallQuery(limit=1, sort="started_at")):
            with pytest.raises(ValidationError, match="cursor"):
                await log.search(other.model_copy(update={"cursor": cursor}))
        second = await log.search(CallQuery(limit=1, cursor=cursor))
        assert [c.linkedid for c in second.items] == ["t.1"]
    finally:
        log.close()


async def test_count_is_its_own_request_and_agrees_with_the_pages(store: Store) -> None:
    log = CallLog(store)
    try:
        await log.record_many(
            [call(f"c.{i}", status="missed" if i % 3 else "answered") for i in range(25)]
        )
        assert await log.count(CallFilter()) == 25
        missed = CallQuery(status="missed", limit=4)
        assert await log.count(missed) == len(await all_pages(log, missed)) == 16
    finally:
        log.close()


async def test_an_agents_and_an_operators_period_is_their_calls_of_that_period(
    store: Store, world: dict[str, int]
) -> None:
    """The period narrows the agent's calls through their own index (``call_agents`` keeps
    each call's start): the same calls as the period and the agent apart."""
    for window in (
        {"from": "2026-03-02T10:01:00Z", "to": "2026-03-02T10:04:00Z"},
        {"day_from": "2026-03-03", "tz": "Europe/Moscow"},
        {"to": "2026-03-02T10:02:30Z"},
    ):
        period = await _ids(store, **window)
        for agent in ("101", "102", "103"):
            assert await _ids(store, agent=agent, **window) == (
                await _ids(store, agent=agent) & period
            ), (agent, window)
            assert await _ids(store, [agent], **window) == await _ids(store, [agent]) & period


async def test_revision_0011_gives_the_stored_agents_rows_their_calls_start(db_url: str) -> None:
    store = await Store.open(db_url, upgrade=False)
    try:
        log = CallLog(store)
        for n in range(6):
            start = T0 + timedelta(hours=n)
            await log.record(call(f"m.{n}", agents_rung=("101", "102"), started_at=start))
        log.close()
        async with store.engine.begin() as conn:  # the table as revision 0010 left it
            await conn.execute(text("DROP INDEX ix_call_agents_extension_started"))
            await conn.execute(text("ALTER TABLE call_agents DROP COLUMN started_at"))
            await conn.execute(text("UPDATE alembic_version SET version_num = '0010'"))
    finally:
        await store.close()
    await upgrade_database(db_url)
    store = await Store.open(db_url, upgrade=False)
    try:
        async with store.engine.connect() as conn:
            rows = await conn.execute(
                select(CallAgent.extension, CallAgent.started_at, Call.started_at).join(
                    Call, Call.id == CallAgent.call_id
                )
            )
            got = [(ext, as_utc(own), as_utc(start)) for ext, own, start in rows]
        assert len(got) == 12 and all(own == start for _, own, start in got)
        window = {
            "from": (T0 + timedelta(hours=2)).isoformat(),
            "to": (T0 + timedelta(hours=4)).isoformat(),
        }
        assert len(await _ids(store, agent="102", **window)) == 2
    finally:
        await store.close()
