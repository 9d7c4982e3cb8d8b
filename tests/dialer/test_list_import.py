"""Dial lists and do-not-call lists in the store, on SQLite and PostgreSQL: what an import
adds, skips and reports, recycling, and do-not-call closing leads."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from cti.config import PhoneConfig
from cti.crm_store.models.campaigns import Lead
from cti.crm_store.schemas.campaigns import CampaignOut
from cti.crm_store.schemas.contacts import ContactIn, PhoneIn
from cti.crm_store.services.contacts import ContactService
from cti.crm_store.store import Store
from cti.dialer.list_service import DncService, ListService
from cti.dialer.service import CampaignService
from cti.errors import ValidationError
from cti.screenpop.scripts import DEFAULT_CAMPAIGNS_DIR

NPS = DEFAULT_CAMPAIGNS_DIR / "nps-survey.yaml"
PHONE = PhoneConfig()


async def _campaign(store: Store, path: Path = NPS) -> CampaignOut:
    return (await CampaignService(store).load_file(path)).campaign


def _csv(tmp_path: Path, text: str, name: str = "q4.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


async def _leads(store: Store, campaign_id: int) -> dict[str, Lead]:
    async with store.sessions() as session:
        rows = await session.scalars(select(Lead).where(Lead.campaign_id == campaign_id))
        return {r.phone: r for r in rows}


async def test_import_matches_creates_skips_and_reports(store: Store, tmp_path: Path) -> None:
    campaign = await _campaign(store)
    await ContactService(store).create(
        ContactIn(
            first_name="Anna",
            last_name="Known",
            phones=[PhoneIn(number="+7 495 765-43-21")],
            time_zone="Europe/Samara",
        )
    )
    await DncService(store, PHONE).add(["+74951110000"], campaign_id=None)
    path = _csv(
        tmp_path,
        "Number,Full Name,E-mail\n"
        "+7 495 765-43-21,Anna Known,\n"  # 2: a known contact (her zone wins)
        "8 (423) 222-33-44,Ivan Vladivostok,ivan@example.com\n"  # 3: new, one zone
        "+7 916 123-45-67,,\n"  # 4: a mobile: all of Russia → campaign default
        "12,Bad Number,\n"  # 5: invalid
        "+74232223344,Ivan Again,\n"  # 6: duplicate of line 3
        "+7 495 111-00-00,Blocked,\n",  # 7: global do-not-call
    )
    result = await ListService(store, PHONE).import_file(campaign, path, priority=5)
    assert (result.rows, result.added, result.duplicates, result.invalid, result.dnc) == (
        6,
        3,
        1,
        1,
        1,
    )
    assert (result.contacts_matched, result.contacts_created) == (1, 2)
    assert result.zone_rules == {"contact": 1, "number": 1, "default": 1}
    assert [p[0] for p in result.problems] == [5, 6, 7]
    assert "is on the global do-not-call list" in result.problems[2][2]
    report = Path(result.report or "")
    assert (
        (await asyncio.to_thread(report.read_text))
        .splitlines()[1]
        .startswith("5,phone,'12' is not a valid")
    )
    leads = await _leads(store, campaign.id)
    assert leads["+74957654321"].zones == ["Europe/Samara"]
    assert leads["+74232223344"].zones == ["Asia/Vladivostok"]
    assert leads["+74232223344"].zone_rule == "number"
    assert leads["+79161234567"].zones == ["Europe/Moscow"]
    lists = await ListService(store, PHONE).leads.lists(campaign.id)
    assert [(x.name, x.priority, x.report["added"]) for x in lists] == [("q4", 5, 3)]
    # the same file again: nothing new, every row reported
    again = await ListService(store, PHONE).import_file(campaign, path)
    assert again.added == 0 and again.duplicates == 4


async def test_a_dry_run_predicts_and_writes_nothing(store: Store, tmp_path: Path) -> None:
    campaign = await _campaign(store)
    path = _csv(tmp_path, "phone,name\n+74232223344,Ivan\n+74232223355,Olga\nx,Bad\n")
    svc = ListService(store, PHONE)
    dry = await svc.import_file(campaign, path, dry_run=True)
    assert (dry.added, dry.invalid, dry.contacts_created, dry.dry_run) == (2, 1, 2, True)
    assert await svc.leads.count(campaign.id) == 0
    assert await svc.leads.lists(campaign.id) == []
    assert not (tmp_path / "q4.csv.report.csv").exists()
    real = await svc.import_file(campaign, path)
    assert real.model_dump(exclude={"dry_run", "report"}) == dry.model_dump(
        exclude={"dry_run", "report"}
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("name,email\nA,a@b.c\n", "the header needs a phone column"),
        ("phone,shoe size\n+74232223344,42\n", "column 2 'shoe size' is not a list field"),
    ],
)
async def test_a_bad_file_names_the_problem_and_adds_nothing(
    store: Store, tmp_path: Path, text: str, message: str
) -> None:
    campaign = await _campaign(store)
    svc = ListService(store, PHONE)
    with pytest.raises(ValidationError, match=message):
        await svc.import_file(campaign, _csv(tmp_path, text))
    assert await svc.leads.count(campaign.id) == 0


async def test_not_utf8_names_the_line_and_the_encodings(store: Store, tmp_path: Path) -> None:
    campaign = await _campaign(store)
    path = tmp_path / "cp.csv"
    path.write_bytes("phone,name\n+74232223344,Иван\n".encode("cp1251"))
    svc = ListService(store, PHONE)
    with pytest.raises(ValidationError, match=r"line 2 is not utf-8 text; pass --encoding"):
        await svc.import_file(campaign, path)
    done = await svc.import_file(campaign, path, encoding="cp1251")
    assert done.added == 1
    async with store.sessions() as session:
        lead = (await _leads(store, campaign.id))["+74232223344"]
        from cti.crm_store.models.contacts import Contact

        contact = await session.get(Contact, lead.contact_id)
        assert contact is not None and contact.first_name == "Иван"


async def test_nul_bytes_and_huge_lines_are_refused_with_their_line(
    store: Store, tmp_path: Path
) -> None:
    campaign = await _campaign(store)
    svc = ListService(store, PHONE)
    nul = await svc.import_file(
        campaign, _csv(tmp_path, "phone,name\n+74232223344,Iv\x00an\n+74232223355,Olga\n")
    )
    assert nul.added == 1 and nul.problems == [(2, "name", "contains a NUL byte")]
    huge = tmp_path / "huge.csv"
    huge.write_bytes(b"phone,name\n+74232223366," + b"x" * 200_000 + b"\n")
    with pytest.raises(ValidationError, match="line 2 is longer than 64 KiB"):
        await svc.import_file(campaign, huge)


async def test_do_not_call_closes_leads_and_blocks_imports(store: Store, tmp_path: Path) -> None:
    campaign = await _campaign(store)
    svc = ListService(store, PHONE)
    await svc.import_file(campaign, _csv(tmp_path, "phone\n+74232223344\n+74232223355\n"))
    dnc = DncService(store, PHONE)
    added, closed = await dnc.add(
        dnc.numbers([("cli", "8 423 222-33-44")]), campaign_id=campaign.id, reason="asked"
    )
    assert (added, closed) == (1, 1)
    leads = await _leads(store, campaign.id)
    assert (leads["+74232223344"].state, leads["+74232223344"].closed_reason) == ("done", "dnc")
    assert leads["+74232223355"].state == "ready"
    assert await dnc.repo.check("+74232223344", campaign.id) == "campaign"
    assert await dnc.repo.check("+74232223344", None) is None  # not on the global list
    assert (await dnc.add(["+74232223344"], campaign_id=campaign.id)) == (0, 0)
    entries = await dnc.entries(campaign_id=campaign.id)
    assert [(e.number, e.reason) for e in entries] == [("+74232223344", "asked")]
    assert await dnc.remove(["+74232223344"], campaign_id=campaign.id) == 1
    # leads it closed stay closed until recycled
    assert (await _leads(store, campaign.id))["+74232223344"].state == "done"
    with pytest.raises(ValidationError, match="'12' is not a valid phone number"):
        dnc.numbers([("number 1", "12")])


async def test_dnc_file_import_rejects_the_whole_file_on_a_bad_number(
    store: Store, tmp_path: Path
) -> None:
    dnc = DncService(store, PHONE)
    good = _csv(tmp_path, "number,reason\n+74232223344,x\n84232223355,y\n", "dnc.csv")
    assert await dnc.add(dnc.read_file(good), campaign_id=None) == (2, 0)
    bad = _csv(tmp_path, "+74232223366\nnot a number\n", "bad.csv")
    with pytest.raises(ValidationError, match=r"bad.csv: line 2: 'not a number' is not"):
        dnc.read_file(bad)


async def test_recycle_resets_chosen_outcomes_never_dnc(store: Store, tmp_path: Path) -> None:
    campaign = await _campaign(store)
    svc = ListService(store, PHONE)
    await svc.import_file(campaign, _csv(tmp_path, "phone\n+74232223344\n+74232223355\n"))
    async with store.sessions() as session, session.begin():
        for lead in await session.scalars(select(Lead)):
            lead.state, lead.attempts = "done", 4
            lead.last_outcome = "no-answer"
            lead.closed_reason = "max-attempts" if lead.phone.endswith("44") else "dnc"
    assert await svc.recycle(campaign, outcomes=["no-answer"], dispositions=["dnc"]) == 1
    leads = await _leads(store, campaign.id)
    assert (leads["+74232223344"].state, leads["+74232223344"].attempts) == ("ready", 0)
    assert leads["+74232223355"].state == "done"
    with pytest.raises(ValidationError, match="'answered' cannot be recycled"):
        await svc.recycle(campaign, outcomes=["answered"], dispositions=[])
