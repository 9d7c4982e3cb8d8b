"""``cti survey results NAME``: a campaign's (or, inbound, a script's) survey results."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from cti.cli import settings_from
from cti.crm_store.repos.campaigns import CampaignRepo
from cti.crm_store.repos.leads import LeadRepo
from cti.crm_store.repos.surveys import ResponseFilter
from cti.crm_store.store import Store
from cti.crm_store.timeutil import as_utc
from cti.errors import NotFoundError
from cti.surveys.reports import SurveyReports
from cti.surveys.results import QuestionResult, Results

survey_app = typer.Typer(help="Survey results: per question, NPS, CSAT, CSV.", no_args_is_help=True)


async def _filter(
    store: Store,
    name: str,
    since: datetime | None,
    until: datetime | None,
    list_name: str | None,
    agent: str | None,
) -> ResponseFilter:
    """A campaign by that name, else (inbound calls) the script of that name."""
    campaign = await CampaignRepo(store).by_name(name)
    list_id = None
    if list_name is not None:
        if campaign is None:
            raise NotFoundError(
                f"--list needs a campaign: no campaign {name!r}", details={"campaign": name}
            )
        lists = await LeadRepo(store).lists(campaign.id)
        found = [x.id for x in lists if x.name == list_name or str(x.id) == list_name]
        if not found:
            raise NotFoundError(
                f"campaign {name!r} has no list {list_name!r}", details={"list": list_name}
            )
        list_id = found[0]
    return ResponseFilter(
        campaign_id=campaign.id if campaign is not None else None,
        script_name=None if campaign is not None else name,
        since=as_utc(since) if since else None,
        until=as_utc(until) if until else None,
        list_id=list_id,
        agent=agent,
    )


def _fmt(value: float | None, unit: str = "") -> str:
    return "—" if value is None else f"{value:g}{unit}"


def question_lines(q: QuestionResult) -> list[str]:
    lines = [
        f"  {q.id} ({q.kind}{', ' + q.measure if q.measure else ''}): {q.text}",
        f"    reached {q.reached} · answered {q.answered} · skipped {q.skipped} · "
        f"dropped {q.dropped} (drop-off {_fmt(q.drop_off_percent, ' %')})",
    ]
    if q.distribution:
        lines.append("    " + " · ".join(f"{f.key}: {f.count}" for f in q.distribution))
    if q.average is not None:
        lines.append(f"    average {q.average:g}")
    if q.nps is not None:
        n = q.nps
        lines.append(
            f"    NPS {_fmt(n.score)} (promoters {n.promoters}, passives {n.passives}, "
            f"detractors {n.detractors})"
        )
    if q.csat is not None:
        lines.append(
            f"    CSAT {_fmt(q.csat.percent, ' %')} ({q.csat.satisfied} of {q.csat.total} gave 4–5)"
        )
    return lines


def result_lines(results: Results) -> list[str]:
    if not results.versions:
        return ["no survey responses"]
    lines: list[str] = []
    for v in results.versions:
        lines += [
            f"{v.script_name} — {v.title} (version {v.version})",
            f"  started {v.started} · complete {v.complete} · partial {v.partial} · "
            f"in progress {v.in_progress} · completion {_fmt(v.completion_percent, ' %')}",
        ]
        for q in v.questions:
            lines += question_lines(q)
    return lines


@survey_app.command("results")
def results(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="campaign name (inbound calls: a script's name)")],
    since: Annotated[
        datetime | None, typer.Option("--from", help="started at or after (UTC)")
    ] = None,
    until: Annotated[datetime | None, typer.Option("--to", help="started before (UTC)")] = None,
    list_name: Annotated[
        str | None, typer.Option("--list", help="a dial list's name or id")
    ] = None,
    agent: Annotated[str | None, typer.Option(help="an agent's extension")] = None,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="also write the raw answers here", dir_okay=False)
    ] = None,
) -> None:
    """Per question: counts, distribution, average, NPS, CSAT, completion and drop-off."""
    settings = settings_from(ctx)

    async def main() -> tuple[Results, str | None]:
        store = await Store.open(settings.db_url, settings.phone)
        try:
            where = await _filter(store, name, since, until, list_name, agent)
            reports = SurveyReports(store)
            text = await reports.csv(where) if csv_file is not None else None
            return await reports.results(where), text
        finally:
            await store.close()

    found, text = asyncio.run(main())
    for line in result_lines(found):
        typer.echo(line)
    if csv_file is not None and text is not None:
        csv_file.write_text(text, encoding="utf-8", newline="")
        typer.echo(f"raw answers: {csv_file}")


def register(app: typer.Typer) -> None:
    """Add ``cti survey``."""
    app.add_typer(survey_app, name="survey")
