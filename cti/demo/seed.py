"""Demo data: companies, contacts with phones, deals in stages, open tickets, tasks.

Deterministic for a given ``seed``. Contacts go through the CSV importer (the same
validation and bulk path as real data); deals, tickets and tasks are made up here and
inserted in one transaction (:class:`~cti.crm_store.repos.bulk.BulkRepo`). Always includes
"Ivan Petrov" at ``+7 495 123-45-67``, the caller of the recorded AMI traces.
"""

from __future__ import annotations

import csv
import random
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from cti.crm_store.importers.contacts_csv import ContactImporter
from cti.crm_store.phones import format_international
from cti.crm_store.repos.bulk import BulkRepo
from cti.crm_store.repos.contacts import ContactRepo
from cti.crm_store.store import Store
from cti.crm_store.timeutil import utcnow

FIRST = [
    "Ivan",
    "Alexei",
    "Dmitry",
    "Sergei",
    "Andrei",
    "Mikhail",
    "Nikolai",
    "Pavel",
    "Olga",
    "Anna",
    "Elena",
    "Maria",
    "Natalia",
    "Irina",
    "Tatiana",
    "Svetlana",
    "Yulia",
    "Ekaterina",
    "Boris",
    "Viktor",
    "Roman",
    "Artem",
    "Kirill",
    "Daria",
    "Polina",
    "Sofia",
    "Vera",
    "Igor",
    "Oleg",
    "Maxim",
]
LAST = [
    "Petrov",
    "Ivanov",
    "Smirnov",
    "Kuznetsov",
    "Popov",
    "Sokolov",
    "Lebedev",
    "Kozlov",
    "Novikov",
    "Morozov",
    "Volkov",
    "Solovyov",
    "Vasiliev",
    "Zaitsev",
    "Pavlov",
    "Semenov",
    "Golubev",
    "Vinogradov",
    "Bogdanov",
    "Vorobyov",
    "Fedorov",
    "Mikhailov",
    "Belyaev",
    "Tarasov",
    "Belov",
    "Komarov",
    "Orlov",
    "Kiselev",
    "Makarov",
    "Andreev",
]
COMPANY_WORDS = [
    "Alfa",
    "Beta",
    "Vektor",
    "Orion",
    "Sever",
    "Volga",
    "Ural",
    "Baikal",
    "Neva",
    "Arktika",
    "Luch",
    "Start",
    "Progress",
    "Rassvet",
    "Titan",
    "Granit",
    "Kristall",
    "Sigma",
    "Delta",
    "Omega",
]
COMPANY_KINDS = ("Trade", "Logistics", "Systems", "Energy", "Foods", "Telecom", "Consulting")
#: Moscow and St Petersburg land lines, common mobile ranges
AREAS = ("495", "499", "812", "916", "903", "925", "985", "967")
TAGS = ("", "vip", "lead", "partner", "reseller", "")
IVAN_PETROV = "+74951234567"
DEAL_STAGES = ("lead", "qualified", "proposal", "negotiation", "won", "lost")
TICKET_SUBJECTS = (
    "Invoice does not match the order",
    "Cannot log in to the portal",
    "Delivery is late",
    "Request for a callback",
    "Change billing address",
    "Question about the contract",
)
SLA_HOURS = {"low": (24, 120), "normal": (8, 72), "high": (2, 24), "urgent": (1, 8)}


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    company: str
    email: str
    phone: str  # E.164
    phone_display: str  # "+7 495 123-45-67"
    tag: str


def demo_people(n: int, *, seed: int = 1, companies: int | None = None) -> Iterator[Person]:
    """``n`` people with unique phones and e-mails; the first is always Ivan Petrov."""
    rng = random.Random(seed)
    n_companies = companies or max(1, n // 50)
    names = [
        f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)} {i + 1}"
        for i in range(n_companies)
    ]
    offset = rng.randrange(10**7)
    for i in range(n):
        if i == 0:
            first, last, phone = "Ivan", "Petrov", IVAN_PETROV
        else:
            first, last = rng.choice(FIRST), rng.choice(LAST)
            slot = (i * 7_368_787 + offset) % 10**7  # a bijection on 7-digit numbers
            phone = f"+7{AREAS[i % len(AREAS)]}{slot:07d}"
            if phone == IVAN_PETROV:
                phone = f"+7{AREAS[(i + 1) % len(AREAS)]}{slot:07d}"
        yield Person(
            first=first,
            last=last,
            company=names[i % n_companies],
            email=f"{first}.{last}.{i}@example.com".lower(),
            phone=phone,
            phone_display=format_international(phone),
            tag=rng.choice(TAGS),
        )


@dataclass
class SeedResult:
    contacts: int
    companies: int
    deals: int
    tickets: int
    tasks: int


async def seed_demo(store: Store, contacts: int, *, seed: int = 1) -> SeedResult:
    """Fill ``store`` with demo data; safe to run twice (contacts are deduplicated)."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="cti-seed-") as tmp:
        path = Path(tmp) / "demo.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["first_name", "last_name", "company", "email", "phone", "tags"])
            for p in demo_people(contacts, seed=seed):
                writer.writerow([p.first, p.last, p.company, p.email, p.phone_display, p.tag])
        result = await ContactImporter(store).run(path, report=Path(tmp) / "report.csv")
    # already seeded: do not add a second set of deals and tickets
    rows = await ContactRepo(store).imported_from("demo.csv") if result.imported else []
    now = utcnow()
    deals: list[dict[str, Any]] = []
    tickets: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    for contact_id, company_id, first, last in rows:
        roll = rng.random()
        if roll < 0.3:
            stage = rng.choice(DEAL_STAGES)
            status = stage if stage in ("won", "lost") else "open"
            deals.append(
                {
                    "title": f"{rng.choice(('Supply', 'Service', 'Licence', 'Upgrade'))} "
                    f"for {first} {last}",
                    "contact_id": contact_id,
                    "company_id": company_id,
                    "stage": stage,
                    "amount": Decimal(rng.randrange(500, 50_000)),
                    "currency": "RUB",
                    "expected_close": (now + timedelta(days=rng.randrange(5, 90))).date(),
                    "status": status,
                    "lost_reason": "price" if status == "lost" else None,
                    "closed_at": now if status != "open" else None,
                }
            )
        if roll > 0.8:
            priority = rng.choice(tuple(SLA_HOURS))
            first_h, resolve_h = SLA_HOURS[priority]
            opened = now - timedelta(hours=rng.randrange(0, 48))
            tickets.append(
                {
                    "subject": rng.choice(TICKET_SUBJECTS),
                    "description": f"Reported by {first} {last} on the phone.",
                    "contact_id": contact_id,
                    "company_id": company_id,
                    "status": rng.choice(("new", "open", "pending")),
                    "priority": priority,
                    "first_response_due": opened + timedelta(hours=first_h),
                    "resolution_due": opened + timedelta(hours=resolve_h),
                    "created_at": opened,
                    "updated_at": opened,
                }
            )
        if 0.3 <= roll < 0.4:
            tasks.append(
                {
                    "title": f"Call {first} {last} back",
                    "kind": "todo",
                    "due_at": now + timedelta(hours=rng.randrange(1, 72)),
                    "contact_id": contact_id,
                }
            )
    await BulkRepo(store).add({"deals": deals, "tickets": tickets, "tasks": tasks})
    return SeedResult(
        contacts=result.imported,
        companies=result.companies_created,
        deals=len(deals),
        tickets=len(tickets),
        tasks=len(tasks),
    )
