"""docs/deployment.md's SQLite backup, run for real: ``.backup`` of a migrated store."""

from __future__ import annotations

import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import pytest

from cti.crm_store.migrate import head_revision
from tests.deploy.helpers import doc, run_cti
from tests.needs import tool_path

SQLITE3 = tool_path("sqlite3")
DOC_COMMAND = 'sqlite3 /var/lib/cti/cti.db ".backup /var/backups/cti/cti-$(date +%F).db"'


def test_the_documented_command_is_the_one_run_here() -> None:
    assert DOC_COMMAND in doc("deployment.md")


@pytest.mark.tools("sqlite3")
def test_a_backup_of_the_store_is_a_whole_store(tmp_path: Path) -> None:
    assert SQLITE3 is not None
    db, backup = tmp_path / "cti.db", tmp_path / "backup.db"
    upgraded = run_cti(
        "db", "upgrade", cwd=tmp_path, env={"CTI_DATABASE_URL": f"sqlite+aiosqlite:///{db}"}
    )
    assert upgraded.returncode == 0, upgraded.stderr
    subprocess.run([SQLITE3, str(db), f".backup {backup}"], check=True)
    with closing(sqlite3.connect(backup)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (
            head_revision(),
        )
