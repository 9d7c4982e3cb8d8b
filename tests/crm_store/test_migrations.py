"""The migration chain builds the models' schema on both backends and matches them exactly."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from cti.crm_store.db import create_engine
from cti.crm_store.migrate import (
    MIGRATIONS_DIR,
    current_revision,
    head_revision,
    main,
    revision_is_current,
    schema_diff,
    upgrade_database,
)
from cti.errors import ConfigError


async def test_upgrade_empty_database_reaches_head_and_matches_models(empty_db_url: str) -> None:
    assert await current_revision(empty_db_url) is None
    assert not await revision_is_current(empty_db_url)

    await upgrade_database(empty_db_url)

    assert await current_revision(empty_db_url) == head_revision()
    assert await revision_is_current(empty_db_url)
    assert await schema_diff(empty_db_url) == []


async def test_upgrade_twice_is_harmless(db_url: str) -> None:
    await upgrade_database(db_url)
    assert await revision_is_current(db_url)
    assert await schema_diff(db_url) == []


def test_single_head() -> None:
    assert head_revision() is not None


async def test_a_database_missing_a_table_of_this_build_fails_by_name(empty_db_url: str) -> None:
    await upgrade_database(empty_db_url)
    engine = create_engine(empty_db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP TABLE call_agents"))
    finally:
        await engine.dispose()
    with pytest.raises(ConfigError, match="no table call_agents") as failed:
        await upgrade_database(empty_db_url)
    assert failed.value.details["tables"] == ["call_agents"]


def test_a_new_revision_is_refused_when_the_models_match_the_head(
    capsys: pytest.CaptureFixture[str],
) -> None:
    versions = sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("*.py"))
    assert main(["revision", "nothing changed"]) == 1
    said = capsys.readouterr().err
    assert f"the models match revision {head_revision()}: no schema change to write" in said
    assert sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("*.py")) == versions
    assert main(["regenerate"]) == 2  # the pre-release rewrite of 0001 is gone
