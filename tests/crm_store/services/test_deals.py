"""DealService on both backends: pipeline stages, won/lost rules, search."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from cti.config import CrmConfig, load_settings
from cti.crm_store.schemas.contacts import CompanyIn, ContactIn
from cti.crm_store.schemas.deals import DealIn, DealPatch, DealQuery
from cti.crm_store.services.contacts import CompanyService, ContactService
from cti.crm_store.services.deals import DealService
from cti.crm_store.store import Store
from cti.errors import ConfigError, NotFoundError, ValidationError

CRM = CrmConfig(pipeline=("lead", "demo", "offer"))


async def _contact(store: Store, phone: str = "+74951234567") -> int:
    contact = await ContactService(store).create(
        ContactIn.model_validate(
            {"first_name": "Anna", "last_name": "Petrova", "phones": [{"number": phone}]}
        )
    )
    return contact.id


async def test_create_defaults_to_first_stage_and_round_trips(store: Store) -> None:
    deals = DealService(store, CRM)
    contact_id = await _contact(store)
    deal = await deals.create(
        DealIn(title="Fleet of 40 phones", contact_id=contact_id, amount=Decimal("1250.50"))
    )
    assert deal.stage == "lead" and deal.status == "open" and deal.closed_at is None
    again = await deals.get(deal.id)
    assert again.amount == Decimal("1250.50") and again.currency == "USD"
    assert again.contact_id == contact_id


async def test_unknown_stage_and_dangling_reference_name_the_field(store: Store) -> None:
    deals = DealService(store, CRM)
    with pytest.raises(ValidationError) as err:
        await deals.create(DealIn(title="x", stage="negotiation"))
    assert err.value.details["fields"] == {"stage": err.value.details["fields"]["stage"]}
    with pytest.raises(ValidationError) as err:
        await deals.create(DealIn(title="x", contact_id=9999))
    assert "contact_id" in err.value.details["fields"]
    deal = await deals.create(DealIn(title="x"))
    with pytest.raises(ValidationError) as err:
        await deals.update(deal.id, DealPatch(stage="nope"))
    assert "stage" in err.value.details["fields"]
    with pytest.raises(ValidationError) as err:
        await deals.update(deal.id, DealPatch.model_validate({"title": None}))
    assert "title" in err.value.details["fields"]


async def test_won_lost_and_reopen(store: Store) -> None:
    deals = DealService(store, CRM)
    deal = await deals.create(DealIn(title="Renewal", stage="offer"))
    with pytest.raises(ValidationError) as err:
        await deals.update(deal.id, DealPatch(status="lost"))
    assert "lost_reason" in err.value.details["fields"]
    lost = await deals.update(deal.id, DealPatch(status="lost", lost_reason="price"))
    assert lost.closed_at is not None and lost.lost_reason == "price" and lost.stage == "offer"
    reopened = await deals.update(deal.id, DealPatch(status="open"))
    assert reopened.closed_at is None and reopened.lost_reason is None
    won = await deals.update(deal.id, DealPatch(status="won"))
    assert won.closed_at is not None and won.status == "won"
    cleared = await deals.update(deal.id, DealPatch.model_validate({"amount": None}))
    assert cleared.amount is None and cleared.status == "won"


async def test_search_filters_and_pages(store: Store) -> None:
    deals = DealService(store, CRM)
    contact_id = await _contact(store, "+74951234567")
    company = await CompanyService(store).create(
        CompanyIn.model_validate({"name": "Acme", "phones": [{"number": "+74959876543"}]})
    )
    for i in range(5):
        await deals.create(DealIn(title=f"Phones batch {i}", contact_id=contact_id))
    await deals.create(DealIn(title="Headsets", company_id=company.id, stage="demo"))
    await deals.create(DealIn(title="Unrelated", stage="demo"))
    page = await deals.search(DealQuery(q="BATCH", per_page=2, page=3))
    assert page.total == 5 and len(page.items) == 1
    assert (await deals.search(DealQuery(stage="demo"))).total == 2
    by_contact_phone = await deals.search(DealQuery(phone="8 495 123-45-67"))
    assert by_contact_phone.total == 5
    by_company_phone = await deals.search(DealQuery(phone="+74959876543"))
    assert [d.title for d in by_company_phone.items] == ["Headsets"]
    assert (await deals.search(DealQuery(status="won"))).total == 0
    everything = await deals.search(DealQuery(per_page=200))
    assert everything.total == 7 == len(everything.items)


async def test_delete(store: Store) -> None:
    deals = DealService(store, CRM)
    deal = await deals.create(DealIn(title="Gone soon"))
    await deals.delete(deal.id)
    with pytest.raises(NotFoundError):
        await deals.get(deal.id)
    with pytest.raises(NotFoundError):
        await deals.delete(deal.id)


def test_pipeline_config_is_validated_with_its_key(tmp_path: Path) -> None:
    cfg = tmp_path / "cti.toml"
    cfg.write_text('[crm]\npipeline = ["lead", "lead"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"crm\.pipeline"):
        load_settings(cfg, environ={})
    cfg.write_text('[crm]\npipeline = ["a", "b"]\n', encoding="utf-8")
    assert load_settings(cfg, environ={}).crm.pipeline == ("a", "b")
