"""docs/deployment.md's PostgreSQL steps, run for real: deploy/postgres-setup.sh creates a
role and its database, ``cti db upgrade`` creates the schema as that role, pg_dump backs it
up and pg_restore brings the backup back; then all of it is dropped."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg  # type: ignore[import-untyped]
import pytest

from cti.crm_store.migrate import head_revision
from tests.deploy.helpers import DEPLOY, doc, run_cti
from tests.needs import POSTGRES_URL

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.tools("psql", "pg_dump", "pg_restore", "createdb"),
]

SETUP = DEPLOY / "postgres-setup.sh"
#: the commands of docs/deployment.md this test runs (with its names and paths)
DOC_COMMANDS = (
    "sudo -u postgres sh deploy/postgres-setup.sh cti cti",
    "cti --config /etc/cti/cti.toml db upgrade",
    "sudo -u postgres pg_dump --format=custom --file=/var/backups/cti/cti-$(date +%F).dump cti",
    "sudo -u postgres createdb --owner=cti cti_restored",
    "sudo -u postgres pg_restore --exit-on-error --role=cti --dbname=cti_restored",
)


def _admin_env() -> dict[str, str]:
    parts = urlsplit(POSTGRES_URL)
    return {
        **os.environ,
        "PGHOST": parts.hostname or "127.0.0.1",
        "PGPORT": str(parts.port or 5432),
        "PGUSER": parts.username or "postgres",
        "PGDATABASE": "postgres",
    }


def _psql(sql: str) -> None:
    subprocess.run(
        ["psql", "--no-psqlrc", "--quiet", "--set", "ON_ERROR_STOP=1", "-c", sql],
        env=_admin_env(),
        capture_output=True,
        check=True,
    )


@pytest.fixture
def names() -> Iterator[str]:
    """A role and database name of its own (the same), dropped with everything after."""
    name = f"cti_deploy_{uuid.uuid4().hex[:10]}"
    try:
        yield name
    finally:
        for db in (f"{name}_restored", name):
            _psql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        _psql(f'DROP ROLE IF EXISTS "{name}"')


def _tables(url: str) -> tuple[str | None, set[str]]:
    """The database's Alembic revision and its tables, read as the cti role."""

    async def read() -> tuple[str | None, set[str]]:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            revision = await conn.fetchval("SELECT version_num FROM alembic_version")
            rows = await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                " AND tableowner = current_user"
            )
            return revision, {row["tablename"] for row in rows}
        finally:
            await conn.close()

    return asyncio.run(read())


def test_the_documented_commands_are_the_ones_run_here() -> None:
    text = doc("deployment.md")
    for command in DOC_COMMANDS:
        assert command in text, command


def test_setup_upgrade_backup_and_restore(names: str, tmp_path: Path) -> None:
    env = _admin_env()
    made = subprocess.run(
        ["sh", str(SETUP), names, names], env=env, capture_output=True, text=True, check=False
    )
    assert made.returncode == 0, made.stderr
    found = re.fullmatch(r'database_url = "([^"]+)"\n', made.stdout)
    assert found is not None, made.stdout
    url = found.group(1)
    assert url.startswith(f"postgresql+asyncpg://{names}:")
    assert url.endswith(f"@{env['PGHOST']}:{env['PGPORT']}/{names}")

    config = tmp_path / "cti.toml"
    config.write_text(f'database_url = "{url}"\n', encoding="utf-8")
    upgraded = run_cti("--config", str(config), "db", "upgrade", cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "is at the newest revision" in upgraded.stdout
    assert url.split("@")[0].split(":")[-1] not in upgraded.stdout  # the password is masked
    revision, tables = _tables(url)
    assert revision == head_revision()
    assert {"contacts", "calls", "users"} <= tables

    dump = tmp_path / "cti.dump"
    subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", names], env=env, check=True)
    restored = f"{names}_restored"
    subprocess.run(["createdb", f"--owner={names}", restored], env=env, check=True)
    subprocess.run(
        ["pg_restore", "--exit-on-error", f"--role={names}", f"--dbname={restored}", str(dump)],
        env=env,
        capture_output=True,
        check=True,
    )
    assert _tables(url.rsplit("/", 1)[0] + f"/{restored}") == (revision, tables)


def test_setup_refuses_a_name_that_is_not_plain() -> None:
    result = subprocess.run(
        ["sh", str(SETUP), "cti; DROP DATABASE test"],
        env=_admin_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "is not a plain name" in result.stderr
