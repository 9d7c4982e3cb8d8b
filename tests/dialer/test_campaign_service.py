"""Loading campaign files into the store (versions, scripts) and moving campaigns through
their statuses, on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cti.crm_store.store import Store
from cti.dialer.service import CampaignService
from cti.errors import ConflictError, NotFoundError, ValidationError
from cti.screenpop.scripts import DEFAULT_CAMPAIGNS_DIR

NPS = DEFAULT_CAMPAIGNS_DIR / "nps-survey.yaml"


async def test_loading_creates_then_versions_only_what_changed(
    store: Store, tmp_path: Path
) -> None:
    svc = CampaignService(store)
    first = await svc.load_file(NPS)
    assert first.action == "created" and first.campaign.version == 1
    assert first.campaign.status == "draft" and first.campaign.script is not None
    assert first.campaign.script["name"] == "nps"
    assert (await svc.load_file(NPS)).action == "unchanged"
    # the same campaign edited: version 2; the first version is kept with its file
    edited = tmp_path / "nps-survey.yaml"
    edited.write_text(NPS.read_text().replace("ring_seconds: 25", "ring_seconds: 30"))
    second = await svc.load_file(edited)
    assert second.action == "updated" and second.campaign.version == 2
    assert second.campaign.spec["ring_seconds"] == 30
    versions = await svc.repo.versions(second.campaign.id)
    assert [(v.version, v.source) for v in versions] == [(1, str(NPS)), (2, str(edited))]
    assert versions[0].sha256 != versions[1].sha256


async def test_a_script_beside_the_file_wins_and_is_part_of_the_version(
    store: Store, tmp_path: Path
) -> None:
    svc = CampaignService(store)
    shutil.copy(NPS, tmp_path / "nps-survey.yaml")
    (tmp_path / "scripts").mkdir()
    own = (DEFAULT_CAMPAIGNS_DIR / "scripts" / "nps.yaml").read_text()
    (tmp_path / "scripts" / "nps.yaml").write_text(own.replace("improve first", "one reason"))
    loaded = await svc.load_file(tmp_path / "nps-survey.yaml")
    assert loaded.campaign.script is not None
    assert "one reason" in str(loaded.campaign.script["questions"])
    # only the script changed: still a new version
    (tmp_path / "scripts" / "nps.yaml").write_text(own)
    again = await svc.load_file(tmp_path / "nps-survey.yaml")
    assert again.action == "updated" and again.campaign.version == 2


async def test_a_bad_file_or_missing_script_stores_nothing(store: Store, tmp_path: Path) -> None:
    svc = CampaignService(store)
    bad = tmp_path / "x.yaml"
    bad.write_text(NPS.read_text().replace("script: nps", "script: nowhere"))
    with pytest.raises(ValidationError, match="script: no script 'nowhere'"):
        await svc.load_file(bad)
    bad.write_text(NPS.read_text().replace("max_attempts: 4", "max_attempts: many"))
    with pytest.raises(ValidationError, match=r"x.yaml: max_attempts: "):
        await svc.load_file(bad)
    assert await svc.repo.all() == []


async def test_statuses_move_only_the_allowed_ways(store: Store) -> None:
    svc = CampaignService(store)
    campaign = (await svc.load_file(NPS)).campaign
    with pytest.raises(ConflictError, match="is draft: cannot pause it"):
        await svc.change(campaign.id, "pause")
    running = await svc.change(campaign.id, "start")
    assert running.status == "running" and running.started_at is not None
    assert (await svc.change(campaign.id, "pause")).status == "paused"
    assert (await svc.change(campaign.id, "resume")).status == "running"
    stopped = await svc.change(campaign.id, "stop")
    assert stopped.status == "stopped" and stopped.stopped_at is not None
    again = await svc.change(campaign.id, "start")
    assert again.stopped_at is None and again.started_at == running.started_at
    with pytest.raises(NotFoundError):
        await svc.named("nope")
    with pytest.raises(NotFoundError):
        await svc.change(9999, "start")
