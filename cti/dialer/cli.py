"""``cti campaign load|list|status|start|pause|resume|stop``: campaigns from the shell."""

from __future__ import annotations

import asyncio
import codecs
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from cti.cli import settings_from
from cti.config import Settings
from cti.crm_store.schemas.campaigns import (
    CampaignListOut,
    CampaignOut,
    CampaignProgress,
    DncOut,
    ListImportReport,
)
from cti.crm_store.store import Store
from cti.dialer.list_service import RECYCLABLE, DncService, ListService
from cti.dialer.lists import parse_map
from cti.dialer.service import CampaignService, Transition
from cti.errors import ValidationError

T = TypeVar("T")

campaign_app = typer.Typer(
    help="Telemarketing campaigns: load a file, start, pause, resume, stop, status.",
    no_args_is_help=True,
)


def _run(ctx: typer.Context, work: Callable[[CampaignService], Awaitable[T]]) -> T:
    settings = settings_from(ctx)

    async def main() -> T:
        store = await Store.open(settings.db_url, settings.phone)
        try:
            return await work(CampaignService(store))
        finally:
            await store.close()

    return asyncio.run(main())


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"


def _status_lines(campaign: CampaignOut, progress: CampaignProgress) -> list[str]:
    spec = campaign.spec
    return [
        f"{campaign.name} — {campaign.title}",
        f"  status {campaign.status} · version {campaign.version} · mode {spec['mode']}"
        + (f" · pacing ratio {campaign.pacing_ratio:.2f}" if spec["mode"] == "predictive" else ""),
        f"  leads: {_counts(progress.leads)}",
        f"  attempts: {_counts(progress.attempts)}",
        f"  agents: {_counts(progress.agents)}",
    ]


@campaign_app.command("load")
def load(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="campaign file (YAML)", dir_okay=False)],
) -> None:
    """Validate FILE whole and store it: a new campaign, or its next version if it changed."""
    result = _run(ctx, lambda svc: svc.load_file(file))
    c = result.campaign
    typer.echo(f"campaign {c.name}: {result.action} (version {c.version}, status {c.status})")


@campaign_app.command("list")
def list_campaigns(ctx: typer.Context) -> None:
    """Every campaign with its status, version and mode."""

    async def work(svc: CampaignService) -> list[CampaignOut]:
        return await svc.repo.all()

    campaigns = _run(ctx, work)
    if not campaigns:
        typer.echo("no campaigns yet: cti campaign load FILE")
    for c in campaigns:
        typer.echo(f"{c.name:<24} {c.status:<8} v{c.version:<3} {c.spec['mode']:<12} {c.title}")


@campaign_app.command("status")
def status(ctx: typer.Context, name: Annotated[str, typer.Argument(help="campaign name")]) -> None:
    """The campaign's status, leads, attempts and agents."""

    async def work(svc: CampaignService) -> tuple[CampaignOut, CampaignProgress]:
        campaign = await svc.named(name)
        return campaign, await svc.repo.progress(campaign.id)

    for line in _status_lines(*_run(ctx, work)):
        typer.echo(line)


def _transition(command: Transition) -> Callable[..., None]:
    def run(ctx: typer.Context, name: Annotated[str, typer.Argument(help="campaign name")]) -> None:
        async def work(svc: CampaignService) -> CampaignOut:
            campaign = await svc.named(name)
            return await svc.change(campaign.id, command)

        campaign = _run(ctx, work)
        typer.echo(f"campaign {campaign.name} is {campaign.status}")

    run.__doc__ = {
        "start": "Start dialling NAME (a draft or stopped campaign).",
        "pause": "Pause NAME: no new calls; calls up now go on.",
        "resume": "Resume a paused campaign NAME.",
        "stop": "Stop NAME: no new calls; start it again later if need be.",
    }[command]
    return run


for _command in ("start", "pause", "resume", "stop"):
    campaign_app.command(_command)(_transition(_command))


#: exit status when some rows of a list were not imported (a script can tell)
EXIT_ROWS_REJECTED = 3


def _stores(ctx: typer.Context, work: Callable[[Store, Settings], Awaitable[T]]) -> T:
    settings = settings_from(ctx)

    async def main() -> T:
        store = await Store.open(settings.db_url, settings.phone)
        try:
            return await work(store, settings)
        finally:
            await store.close()

    return asyncio.run(main())


@campaign_app.command("import-list")
def import_list(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="campaign name")],
    file: Annotated[Path, typer.Argument(help="CSV with a phone column")],
    list_name: Annotated[
        str | None, typer.Option("--list", help="the list's name (default: the file's stem)")
    ] = None,
    priority: Annotated[int, typer.Option(help="higher lists are dialled first")] = 0,
    map_: Annotated[
        list[str] | None, typer.Option("--map", help="COLUMN=FIELD, or COLUMN=- to skip it")
    ] = None,
    encoding: Annotated[str, typer.Option(help="the file's encoding, e.g. cp1251")] = "utf-8",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count, write nothing")] = False,
    report: Annotated[
        Path | None, typer.Option(help="where rejected rows go (default FILE.report.csv)")
    ] = None,
) -> None:
    """Add the numbers in FILE to campaign NAME; rejected rows (invalid, duplicate,
    do-not-call) go to the report. Exit status 3 when any row was rejected."""
    mapping = parse_map(map_ or [])
    _check_encoding(encoding)

    async def work(store: Store, settings: Settings) -> ListImportReport:
        campaign = await CampaignService(store).named(name)
        return await ListService(store, settings.phone).import_file(
            campaign,
            file,
            list_name=list_name,
            priority=priority,
            mapping=mapping,
            encoding=encoding,
            dry_run=dry_run,
            report=report,
        )

    result = _stores(ctx, work)
    verb = "would add" if result.dry_run else "added"
    typer.echo(
        f"{result.campaign} list {result.list_name}: {result.rows} rows: {verb} {result.added}, "
        f"duplicates {result.duplicates}, invalid {result.invalid}, do-not-call {result.dnc}"
    )
    typer.echo(
        f"  contacts: matched {result.contacts_matched}, new {result.contacts_created}; "
        f"time zones: {_counts(result.zone_rules)}"
    )
    if result.dry_run:
        for line, field, reason in result.problems[:10]:
            typer.echo(f"  line {line}: {field}: {reason}")
    elif result.report:
        typer.echo(f"  report: {result.report}")
    if result.problems:
        raise typer.Exit(EXIT_ROWS_REJECTED)


def _check_encoding(encoding: str) -> None:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ValidationError(
            f"--encoding {encoding!r}: unknown encoding (try utf-8, cp1251, koi8-r, latin-1)",
            details={"field": "--encoding"},
        ) from None


@campaign_app.command("lists")
def lists(ctx: typer.Context, name: Annotated[str, typer.Argument(help="campaign name")]) -> None:
    """The campaign's dial lists, highest priority first, with what each import did."""

    async def work(store: Store, settings: Settings) -> list[CampaignListOut]:
        campaign = await CampaignService(store).named(name)
        return await ListService(store, settings.phone).leads.lists(campaign.id)

    found = _stores(ctx, work)
    if not found:
        typer.echo(f"no lists yet: cti campaign import-list {name} FILE.csv")
    for item in found:
        r = item.report
        typer.echo(
            f"{item.name:<24} priority {item.priority:<4} added {r.get('added', 0)}, "
            f"duplicates {r.get('duplicates', 0)}, invalid {r.get('invalid', 0)}, "
            f"do-not-call {r.get('dnc', 0)}" + ("" if item.active else " (inactive)")
        )


@campaign_app.command("recycle")
def recycle(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="campaign name")],
    outcome: Annotated[
        list[str] | None,
        typer.Option(help=f"reset leads that ran out of attempts on it ({', '.join(RECYCLABLE)})"),
    ] = None,
    disposition: Annotated[
        list[str] | None, typer.Option(help="reset leads closed with this disposition")
    ] = None,
) -> None:
    """Give closed leads another pass (never do-not-call or invalid numbers)."""

    async def work(store: Store, settings: Settings) -> int:
        campaign = await CampaignService(store).named(name)
        return await ListService(store, settings.phone).recycle(
            campaign, outcomes=outcome or [], dispositions=disposition or []
        )

    typer.echo(f"{name}: {_stores(ctx, work)} leads ready to dial again")


dnc_app = typer.Typer(
    help="Do-not-call numbers: the global list, or a campaign's (--campaign).",
    no_args_is_help=True,
)
_CAMPAIGN = typer.Option("--campaign", help="a campaign's own list (default: the global list)")


async def _campaign_id(store: Store, name: str | None) -> int | None:
    return None if name is None else (await CampaignService(store).named(name)).id


@dnc_app.command("add")
def dnc_add(
    ctx: typer.Context,
    numbers: Annotated[list[str], typer.Argument(help="phone numbers")],
    campaign: Annotated[str | None, _CAMPAIGN] = None,
    reason: Annotated[str | None, typer.Option(help="why (kept with the number)")] = None,
) -> None:
    """Never dial NUMBERS again (closes their leads still to be dialled)."""

    async def work(store: Store, settings: Settings) -> tuple[int, int]:
        svc = DncService(store, settings.phone)
        parsed = svc.numbers((f"number {i}", n) for i, n in enumerate(numbers, start=1))
        return await svc.add(
            parsed, campaign_id=await _campaign_id(store, campaign), reason=reason, source="cli"
        )

    added, closed = _stores(ctx, work)
    typer.echo(f"do-not-call: {added} added, {closed} leads closed")


@dnc_app.command("import")
def dnc_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="one number per line, or CSV (number first)")],
    campaign: Annotated[str | None, _CAMPAIGN] = None,
    reason: Annotated[str | None, typer.Option(help="why (kept with each number)")] = None,
) -> None:
    """Add every number in FILE; one bad number rejects the file (nothing added)."""

    async def work(store: Store, settings: Settings) -> tuple[int, int]:
        svc = DncService(store, settings.phone)
        parsed = svc.read_file(file)
        return await svc.add(
            parsed,
            campaign_id=await _campaign_id(store, campaign),
            reason=reason,
            source=f"file:{file.name}"[:200],
        )

    added, closed = _stores(ctx, work)
    typer.echo(f"do-not-call: {added} added, {closed} leads closed")


@dnc_app.command("remove")
def dnc_remove(
    ctx: typer.Context,
    numbers: Annotated[list[str], typer.Argument(help="phone numbers")],
    campaign: Annotated[str | None, _CAMPAIGN] = None,
) -> None:
    """Take NUMBERS off the list (their closed leads stay closed: recycle them)."""

    async def work(store: Store, settings: Settings) -> int:
        svc = DncService(store, settings.phone)
        parsed = svc.numbers((f"number {i}", n) for i, n in enumerate(numbers, start=1))
        return await svc.remove(parsed, campaign_id=await _campaign_id(store, campaign))

    typer.echo(f"do-not-call: {_stores(ctx, work)} removed")


@dnc_app.command("list")
def dnc_list(
    ctx: typer.Context,
    campaign: Annotated[str | None, _CAMPAIGN] = None,
) -> None:
    """The numbers on the list (first 1000)."""

    async def work(store: Store, settings: Settings) -> list[DncOut]:
        svc = DncService(store, settings.phone)
        return await svc.entries(campaign_id=await _campaign_id(store, campaign))

    entries = _stores(ctx, work)
    if not entries:
        typer.echo("do-not-call: the list is empty")
    for e in entries:
        typer.echo(f"{e.number:<16} {e.created_at:%Y-%m-%d} {e.reason or ''}".rstrip())


@dnc_app.command("check")
def dnc_check(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="a phone number")],
    campaign: Annotated[str | None, _CAMPAIGN] = None,
) -> None:
    """Whether NUMBER may be dialled (exit status 1 when it may not)."""

    async def work(store: Store, settings: Settings) -> tuple[str, str | None]:
        svc = DncService(store, settings.phone)
        (parsed,) = svc.numbers([("number", number)])
        return parsed, await svc.repo.check(parsed, await _campaign_id(store, campaign))

    parsed, hit = _stores(ctx, work)
    if hit is None:
        typer.echo(f"{parsed}: may be dialled")
        return
    typer.echo(f"{parsed}: on the {hit} do-not-call list")
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``cti campaign`` and ``cti dnc``."""
    app.add_typer(campaign_app, name="campaign")
    app.add_typer(dnc_app, name="dnc")
