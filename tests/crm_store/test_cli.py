"""`cti db upgrade`, `cti import contacts`, `cti seed` through the real command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cti.crm_store.cli import register
from cti.crm_store.contacts import ContactService
from cti.crm_store.migrate import revision_is_current
from cti.crm_store.store import Store

app = typer.Typer()
register(app)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("CTI_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    return url


def _count(url: str) -> int:
    async def main() -> int:
        store = await Store.open(url, upgrade=False)
        try:
            return (await ContactService(store).search()).total
        finally:
            await store.close()

    return asyncio.run(main())


def test_db_upgrade(env: str) -> None:
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "newest revision" in result.output
    assert asyncio.run(revision_is_current(env))


def test_import_dry_run_then_real(env: str, tmp_path: Path) -> None:
    csv_file = tmp_path / "in.csv"
    csv_file.write_text("Name,Mobile,Fax\nIvan Petrov,+74951234567,1\nNo Phone,12,2\n")
    runner = CliRunner()
    args = ["import", "contacts", str(csv_file), "--map", "Fax=-"]
    dry = runner.invoke(app, [*args, "--dry-run", "--report", str(tmp_path / "r.csv")])
    assert dry.exit_code == 0, dry.output
    assert "would import 1, rejected 1" in dry.output
    assert (tmp_path / "r.csv").read_text().splitlines()[1] == "3,mobile,bad phone '12'"
    assert _count(env) == 0
    real = runner.invoke(app, args)
    assert real.exit_code == 0, real.output
    assert "imported 1, rejected 1" in real.output
    assert _count(env) == 1


def test_import_bad_header_is_one_line_error(env: str, tmp_path: Path) -> None:
    csv_file = tmp_path / "in.csv"
    csv_file.write_text("Name,Fax\nIvan,1\n")
    result = CliRunner().invoke(app, ["import", "contacts", str(csv_file)])
    assert result.exit_code != 0
    assert "'Fax' is not a contact field" in str(result.exception)


def test_seed(env: str) -> None:
    result = CliRunner().invoke(app, ["seed", "--contacts", "60", "--seed", "4"])
    assert result.exit_code == 0, result.output
    assert "seeded 60 contacts" in result.output
    assert _count(env) == 60
