"""``cti survey results`` from the shell: the figures and the CSV of a campaign's surveys."""

from __future__ import annotations

import asyncio
from pathlib import Path

from typer.testing import CliRunner

from cti.crm_store.store import Store
from cti.dialer.service import CampaignService
from cti.errors import NotFoundError
from cti.screenpop.scripts import DEFAULT_CAMPAIGNS_DIR, ScriptBook
from cti.surveys.service import SurveyService
from tests.clihelp import cli_app

app = cli_app("cti.surveys.cli")
NPS = ScriptBook.load(DEFAULT_CAMPAIGNS_DIR).scripts["nps"]


def seed(url: str) -> None:
    async def main() -> None:
        store = await Store.open(url)
        try:
            loaded = await CampaignService(store).load_file(
                DEFAULT_CAMPAIGNS_DIR / "nps-survey.yaml"
            )
            svc = SurveyService(store)
            for i, (score, sat, comment) in enumerate(
                [(10, 5, "=cmd"), (3, 2, "slow"), (8, 4, "")]
            ):
                rid = await svc.start(
                    call_key=f"cli-{i}", script=NPS, mode="keypad", campaign_id=loaded.campaign.id
                )
                await svc.answer(rid, "consent", "yes")
                await svc.answer(rid, "recommend", score)
                if score == 3:
                    await svc.finish(rid, "partial")  # hung up at "improve"
                    continue
                if score == 8:
                    await svc.answer(rid, "missing", comment or None)
                else:
                    await svc.answer(rid, "liked", ["price"])
                await svc.answer(rid, "satisfaction", sat)
                await svc.finish(rid, "complete")
        finally:
            await store.close()

    asyncio.run(main())


def test_results_and_csv(cli_db: str, tmp_path: Path) -> None:
    seed(cli_db)
    out = tmp_path / "answers.csv"
    shown = CliRunner().invoke(app, ["survey", "results", "nps-survey", "--csv", str(out)])
    assert shown.exit_code == 0, shown.output
    text = shown.output
    assert "started 3 · complete 2 · partial 1 · in progress 0 · completion 66.7 %" in text
    assert "NPS 0 (promoters 1, passives 1, detractors 1)" in text
    assert "CSAT 100 % (2 of 2 gave 4–5)" in text
    assert "dropped 1 (drop-off 100 %)" in text  # everyone who reached "improve" dropped
    lines = out.read_text().splitlines()
    assert len(lines) == 4 and lines[0].startswith("response_id,call_key")
    assert (
        CliRunner()
        .invoke(app, ["survey", "results", "nps-survey", "--agent", "999"])
        .output.startswith("no survey responses")
    )
    bad = CliRunner().invoke(app, ["survey", "results", "nps-survey", "--list", "nope"])
    assert isinstance(bad.exception, NotFoundError)
