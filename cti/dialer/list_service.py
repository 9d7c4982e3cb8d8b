"""Dial lists and do-not-call lists: import, recycle, add, remove (CLI and REST alike)."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Literal, get_args

from cti.config import PhoneConfig
from cti.crm_store.phones import normalize
from cti.crm_store.repos.dnc import DncRepo
from cti.crm_store.repos.leads import LeadRepo
from cti.crm_store.rules.leads import LeadRow, RowProblem
from cti.crm_store.schemas.campaigns import CampaignOut, DncOut, ListImportReport
from cti.crm_store.store import Store
from cti.crm_store.timeutil import utcnow
from cti.dialer.lists import read_list, read_rows
from cti.dialer.service import spec_of
from cti.dialer.windows import lead_zones
from cti.errors import FileAccessError, ValidationError

#: the outcomes a recycle may reset (closed by running out of attempts with this last one)
Recyclable = Literal["busy", "no-answer", "congestion", "failed", "abandoned", "machine"]
RECYCLABLE: tuple[str, ...] = get_args(Recyclable)


def write_report(path: Path, problems: Iterable[RowProblem]) -> None:
    """The rejected rows as CSV (line, field, reason): the contact import's report style."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["line", "field", "reason"])
        writer.writerows((p.line, p.field, p.reason) for p in problems)


def _split(items: Iterable[LeadRow | RowProblem]) -> tuple[list[LeadRow], list[RowProblem]]:
    rows: list[LeadRow] = []
    problems: list[RowProblem] = []
    for item in items:
        if isinstance(item, LeadRow):
            rows.append(item)
        else:
            problems.append(item)
    return rows, problems


class ListService:
    def __init__(self, store: Store, phone: PhoneConfig) -> None:
        self.store = store
        self.phone = phone
        self.leads = LeadRepo(store)

    async def import_file(
        self,
        campaign: CampaignOut,
        path: Path,
        *,
        list_name: str | None = None,
        priority: int = 0,
        mapping: dict[str, str] | None = None,
        encoding: str = "utf-8",
        dry_run: bool = False,
        report: Path | None = None,
    ) -> ListImportReport:
        """Import the CSV at ``path`` into ``campaign``; rejected rows go to ``report``
        (default ``FILE.report.csv``; none on a dry run, nor when every row went in)."""
        rows, problems = await asyncio.to_thread(
            lambda: _split(
                read_list(
                    path, region=self.phone.default_region, mapping=mapping, encoding=encoding
                )
            )
        )
        result = await self._import(
            campaign,
            rows,
            problems,
            list_name=list_name or path.stem,
            priority=priority,
            source=str(path),
            dry_run=dry_run,
        )
        target = report or path.with_name(path.name + ".report.csv")
        if not dry_run and result.problems:
            problems = [RowProblem(*p) for p in result.problems]
            await asyncio.to_thread(write_report, target, problems)
            result.report = str(target)
        elif not dry_run:
            await asyncio.to_thread(target.unlink, missing_ok=True)  # an old report misleads
        return result

    async def import_text(
        self,
        campaign: CampaignOut,
        text: bytes,
        *,
        list_name: str,
        priority: int = 0,
        mapping: dict[str, str] | None = None,
        encoding: str = "utf-8",
        dry_run: bool = False,
    ) -> ListImportReport:
        """Like :meth:`import_file` for a CSV sent over the API (the report is returned,
        not written)."""
        rows, problems = await asyncio.to_thread(
            lambda: _split(
                read_rows(
                    io.BytesIO(text),
                    f"list {list_name}",
                    region=self.phone.default_region,
                    mapping=mapping,
                    encoding=encoding,
                )
            )
        )
        return await self._import(
            campaign,
            rows,
            problems,
            list_name=list_name,
            priority=priority,
            source=f"api:{list_name}",
            dry_run=dry_run,
        )

    async def _import(
        self,
        campaign: CampaignOut,
        rows: list[LeadRow],
        problems: list[RowProblem],
        *,
        list_name: str,
        priority: int,
        source: str,
        dry_run: bool,
    ) -> ListImportReport:
        if not list_name.strip() or len(list_name) > 200:
            raise ValidationError(
                "list name: 1 to 200 characters", details={"field": "list", "value": list_name}
            )
        default_tz = spec_of(campaign).default_time_zone

        def zones_of(phone: str, contact_tz: str | None) -> tuple[list[str], str]:
            zones, rule = lead_zones(phone, contact_tz, default_tz)
            return list(zones), rule

        total = len(rows) + len(problems)
        tally = await self.leads.import_rows(
            campaign_id=campaign.id,
            list_name=list_name,
            priority=priority,
            source=source,
            rows=rows,
            zones_of=zones_of,
            report={"rows": total, "invalid": len(problems)},
            dry_run=dry_run,
            now=utcnow(),
        )
        every = sorted([*problems, *tally.problems], key=lambda p: p.line)
        return ListImportReport(
            campaign=campaign.name,
            list_name=list_name,
            dry_run=dry_run,
            rows=total,
            added=tally.added,
            duplicates=tally.duplicates,
            invalid=len(problems),
            dnc=tally.dnc,
            contacts_matched=tally.contacts_matched,
            contacts_created=tally.contacts_created,
            zone_rules=dict(tally.zone_rules),
            problems=[(p.line, p.field, p.reason) for p in every],
        )

    async def recycle(
        self,
        campaign: CampaignOut,
        *,
        outcomes: list[str],
        dispositions: list[str],
        list_id: int | None = None,
    ) -> int:
        bad = [o for o in outcomes if o not in RECYCLABLE]
        if bad:
            raise ValidationError(
                f"outcome {bad[0]!r} cannot be recycled (one of {', '.join(RECYCLABLE)})",
                details={"field": "outcome", "value": bad[0]},
            )
        if not outcomes and not dispositions:
            raise ValidationError(
                "recycle what? name outcomes (e.g. no-answer) or dispositions",
                details={"field": "outcome"},
            )
        return await self.leads.recycle(
            campaign.id,
            outcomes=outcomes,
            closed_reasons=dispositions,
            list_id=list_id,
            now=utcnow(),
        )


class DncService:
    def __init__(self, store: Store, phone: PhoneConfig) -> None:
        self.repo = DncRepo(store)
        self.region = phone.default_region

    def numbers(self, raw: Iterable[tuple[str, str]]) -> list[str]:
        """E.164 of each (where, text); the first that is not a number stops it all."""
        out = []
        for where, text in raw:
            number = normalize(text.strip(), self.region)
            if number is None:
                raise ValidationError(
                    f"{where}: {text.strip()!r} is not a valid phone number",
                    details={"field": "number", "value": text},
                )
            out.append(number)
        return out

    def read_file(self, path: Path) -> list[str]:
        """A file of numbers: one per line, or a CSV whose first column is the number
        (a header line is skipped when its first cell is not a number)."""
        if not path.is_file():
            raise FileAccessError(f"{path}: no such file", details={"file": str(path)})
        raw: list[tuple[str, str]] = []
        with path.open(encoding="utf-8-sig", errors="strict", newline="") as f:
            try:
                for line_no, row in enumerate(csv.reader(f), start=1):
                    cell = row[0].strip() if row else ""
                    if not cell or cell.startswith("#"):
                        continue
                    if line_no == 1 and normalize(cell, self.region) is None:
                        continue  # a header
                    raw.append((f"{path}: line {line_no}", cell))
            except UnicodeDecodeError:
                raise ValidationError(
                    f"{path}: not UTF-8 text", details={"file": str(path)}
                ) from None
        return self.numbers(raw)

    async def add(
        self,
        numbers: list[str],
        *,
        campaign_id: int | None,
        reason: str | None = None,
        source: str | None = None,
        by: int | None = None,
    ) -> tuple[int, int]:
        return await self.repo.add(
            numbers, campaign_id=campaign_id, reason=reason, source=source, by=by, now=utcnow()
        )

    async def remove(self, numbers: list[str], *, campaign_id: int | None) -> int:
        return await self.repo.remove(numbers, campaign_id=campaign_id)

    async def entries(self, *, campaign_id: int | None, number: str | None = None) -> list[DncOut]:
        return await self.repo.entries(campaign_id=campaign_id, number=number)
