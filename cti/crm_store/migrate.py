"""Schema migrations (Alembic), configured in code so they ship inside the package.

``upgrade_database(url)`` brings any database (an empty SQLite file or PostgreSQL) to the
newest revision. Before the first release the single initial revision is regenerated from the
models whenever someone adds a column::

    .venv/bin/python -m cti.crm_store.migrate regenerate

``schema_diff(url)`` lists what differs between the models and a migrated database; the test
suite asserts it is empty on both backends.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

import cti.crm_store.models  # noqa: F401  (complete metadata)
from cti.crm_store.base import Base
from cti.crm_store.db import create_engine
from cti.errors import ConfigError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
VERSIONS_DIR = MIGRATIONS_DIR / "versions"
INITIAL_REVISION = "0001"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _diff(connection: Connection) -> list[Any]:
    ctx = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(ctx, Base.metadata))


def _missing_tables(connection: Connection) -> list[str]:
    return sorted(set(Base.metadata.tables) - set(inspect(connection).get_table_names()))


async def upgrade_database(url: str) -> None:
    """Run ``alembic upgrade head`` on ``url`` (creates every table on an empty database).

    Then check that every table is there: a database made by an earlier pre-release build
    carries the same revision number as a newer initial revision that adds tables, and
    would otherwise fail on the first write to one of them."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade)
            missing = await conn.run_sync(_missing_tables)
    finally:
        await engine.dispose()
    if missing:
        raise ConfigError(
            f"the database has no table {', '.join(missing)}: it was made by an earlier "
            "pre-release build of cti; recreate it (for SQLite, move the file away)",
            details={"key": "database_url", "tables": missing},
        )


async def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is at (None: never migrated)."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_current)
    finally:
        await engine.dispose()


async def revision_is_current(url: str) -> bool:
    """True when the database at ``url`` is at the newest revision shipped with cti."""
    return await current_revision(url) == head_revision()


async def schema_diff(url: str) -> list[Any]:
    """Alembic's ``compare_metadata`` between the models and the database: [] when in sync."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_diff)
    finally:
        await engine.dispose()


def regenerate() -> Path:
    """Rewrite the initial revision from the current models (pre-release only).

    Autogenerates against an empty SQLite database, then formats the file with ruff so it
    passes the linters. Review the result before committing.
    """
    for old in VERSIONS_DIR.glob(f"{INITIAL_REVISION}_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_sync_engine(f"sqlite:///{tmp}/empty.db")
        try:
            with engine.begin() as conn:
                script = command.revision(
                    alembic_config(conn),
                    message="initial schema",
                    autogenerate=True,
                    rev_id=INITIAL_REVISION,
                )
        finally:
            engine.dispose()
    if script is None or isinstance(script, list):
        raise RuntimeError("alembic produced no single revision")
    path = Path(script.path)
    ruff = Path(sys.executable).with_name("ruff")
    if ruff.exists():
        subprocess.run([str(ruff), "format", "-q", str(path)], check=True)
        subprocess.run([str(ruff), "check", "--fix", "-q", str(path)], check=False)
    return path


def main(argv: list[str]) -> int:
    if argv == ["regenerate"]:
        print(f"wrote {regenerate()}")
        return 0
    print("usage: python -m cti.crm_store.migrate regenerate", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
