"""``cti campaign load|list|status|start|pause|resume|stop``: campaigns from the shell."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from cti.cli import settings_from
from cti.crm_store.schemas.campaigns import CampaignOut, CampaignProgress
from cti.crm_store.store import Store
from cti.dialer.service import CampaignService, Transition

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


def register(app: typer.Typer) -> None:
    """Add ``cti campaign``."""
    app.add_typer(campaign_app, name="campaign")
