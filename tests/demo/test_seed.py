"""Demo seed: realistic, deterministic, idempotent; Ivan Petrov answers the recorded traces."""

from __future__ import annotations

from sqlalchemy import func, select

from cti.crm_store.models import Deal, Task, Ticket
from cti.crm_store.phones import normalize
from cti.crm_store.repos.lookup import CallerLookup
from cti.crm_store.services.contacts import ContactService
from cti.crm_store.store import Store
from cti.demo.seed import demo_people, seed_demo


def test_demo_people_deterministic_unique_valid() -> None:
    people = list(demo_people(3000, seed=5))
    assert people == list(demo_people(3000, seed=5))
    assert people != list(demo_people(3000, seed=6))
    assert len({p.phone for p in people}) == 3000
    assert len({p.email for p in people}) == 3000
    assert all(normalize(p.phone_display, "RU") == p.phone for p in people)
    assert (people[0].first, people[0].last, people[0].phone_display) == (
        "Ivan",
        "Petrov",
        "+7 495 123-45-67",
    )


async def test_seed_fills_every_entity_and_is_idempotent(store: Store) -> None:
    first = await seed_demo(store, 200, seed=2)
    assert first.contacts == 200 and first.companies == 4
    assert first.deals > 0 and first.tickets > 0 and first.tasks > 0
    async with store.sessions() as session:
        open_tickets = await session.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.resolution_due.is_not(None))
        )
        stages = set(await session.scalars(select(Deal.stage).distinct()))
        tasks = await session.scalar(select(func.count()).select_from(Task))
    assert open_tickets == first.tickets
    assert len(stages) >= 4
    assert tasks == first.tasks
    match = await CallerLookup(store).lookup("+74951234567")
    assert (match.status, match.candidates[0].name) == ("exact", "Ivan Petrov")
    again = await seed_demo(store, 200, seed=2)
    assert (again.contacts, again.deals, again.tickets) == (0, 0, 0)
    assert (await ContactService(store).search()).total == 200
    assert len(await ContactService(store).numbers_sample(50)) == 50
