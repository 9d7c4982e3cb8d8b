"""``cti report NAME --from --to [--tz] [--csv | --json]``: a report from the shell;
``cti rollups rebuild [--from] [--to]``: the reports' rollups recomputed from the calls."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated

import typer

from cti.cli import settings_from
from cti.crm_store.repos.rollups import rebuild_days
from cti.crm_store.store import Store
from cti.crm_store.timeutil import utcnow
from cti.errors import ValidationError
from cti.reports.calendar import period, zone
from cti.reports.schemas import Report
from cti.reports.service import REPORTS, ReportService
from cti.reports.tables import to_csv, to_text

MAX_DAYS = 400


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"{option}: {text!r} is not a date (YYYY-MM-DD)", details={"option": option}
        ) from None


def register(app: typer.Typer) -> None:
    """Add ``cti report`` and ``cti rollups rebuild``."""
    rollups_app = typer.Typer(help="The reports' rollups (docs/reports.md).", no_args_is_help=True)
    app.add_typer(rollups_app, name="rollups")

    @rollups_app.command("rebuild")
    def rebuild(
        ctx: typer.Context,
        first: Annotated[
            str, typer.Option("--from", help="first UTC day (default: the first call's)")
        ] = "",
        last: Annotated[
            str, typer.Option("--to", help="last UTC day, inclusive (default: the last call's)")
        ] = "",
    ) -> None:
        """Recompute the reports' rollups of whole UTC days from the calls: after loading
        calls past the call log (a bulk import, a restore of the calls tables). One
        transaction per week, so a run stopped halfway leaves every week whole."""
        settings = settings_from(ctx)
        since = _day(first, "--from") if first else None
        until = _day(last, "--to") if last else None
        if since and until and until < since:
            raise ValidationError("--to is before --from", details={"option": "--to"})

        async def main() -> tuple[date, date] | None:
            store = await Store.open(settings.db_url, settings.phone)
            try:
                return await rebuild_days(store, since, until)
            finally:
                await store.close()

        done = asyncio.run(main())
        if done is None:
            typer.echo("no calls: nothing to rebuild")
        else:
            typer.echo(f"rollups rebuilt for the UTC days {done[0]} … {done[1]}")

    @app.command("report")
    def report(
        ctx: typer.Context,
        name: Annotated[str, typer.Argument(help=f"one of: {', '.join(REPORTS)}")],
        first: Annotated[str, typer.Option("--from", help="first local day, YYYY-MM-DD")],
        last: Annotated[str, typer.Option("--to", help="last local day, inclusive")],
        tz: Annotated[str, typer.Option(help="IANA time zone (default: [reports])")] = "",
        as_csv: Annotated[bool, typer.Option("--csv", help="CSV on stdout")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="the API's JSON")] = False,
    ) -> None:
        """Print a report for a period in a time zone (docs/reports.md)."""
        if name not in REPORTS:
            raise ValidationError(
                f"report {name!r}: use one of {', '.join(REPORTS)}", details={"report": name}
            )
        settings = settings_from(ctx)
        when = period(
            _day(first, "--from"),
            _day(last, "--to"),
            zone(tz or settings.reports.timezone, "--tz"),
            MAX_DAYS,
        )

        async def main() -> Report:
            store = await Store.open(settings.db_url, settings.phone)
            try:
                service = ReportService(store, settings.reports, settings.crm.sla)
                now = utcnow()
                match name:
                    case "agents":
                        return await service.agents(when, now)
                    case "queues":
                        return await service.queues(when)
                    case "callbacks":
                        return await service.callbacks(when, now)
                    case "heatmap":
                        return await service.heatmap(when)
                    case "campaigns":
                        return await service.campaigns(when, now)
                    case _:
                        return await service.sla(when, now)
            finally:
                await store.close()

        result = asyncio.run(main())
        if as_json:
            typer.echo(result.model_dump_json(by_alias=True, indent=2))
        elif as_csv:
            typer.echo(to_csv(result), nl=False)
        else:
            typer.echo(to_text(result))
