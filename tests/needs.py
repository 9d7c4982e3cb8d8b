"""What the suite needs from outside the repository, and what happens when one is missing.

Each need has a marker; a test that needs it carries the marker (through a fixture param, a
module's ``pytestmark`` or a decorator):

* ``traces`` — the recorded AMI traces: ``../shared/ami-traces`` beside the clone, or
  ``CTI_TEST_TRACES``;
* ``postgres`` — a PostgreSQL server: ``CTI_TEST_POSTGRES_URL``;
* ``browser`` — Debian's Chromium: ``CTI_CHROMIUM`` (default ``/usr/bin/chromium``);
* ``tools(NAME, …)`` — programs a test runs (``nginx``, ``jq``, ``pg_dump`` …) on the PATH
  (``scripts/setup.sh`` installs them); ``CTI_NGINX`` may name nginx.

After collection every need of a collected test is checked once. On CI (``CI=true``) a
missing one ends the run before any test runs, with one line naming what is missing and
where it was looked for: CI always has ``../shared`` and a PostgreSQL, so a smaller suite
there is a broken CI, not a pass. Locally the tests that need it are skipped with the reason,
and the summary says in one line per need how many did not run and why. No test uses Redis,
so nothing checks for it.

Its hooks are imported into ``tests/conftest.py``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest

from cti.config import mask_url

ON_CI = os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")
TRACES = Path(
    os.environ.get("CTI_TEST_TRACES")
    or Path(__file__).resolve().parents[1].parent / "shared" / "ami-traces"
)
POSTGRES_URL = os.environ.get(
    "CTI_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
CHROMIUM = os.environ.get("CTI_CHROMIUM", "/usr/bin/chromium")


def postgres_dsn(sqlalchemy_url: str) -> str:
    """The asyncpg DSN of a SQLAlchemy ``postgresql+asyncpg://`` URL."""
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


def traces_missing() -> str | None:
    """None when the trace corpus is there, else why it is not."""
    if TRACES.is_dir() and next(TRACES.rglob("*.ami"), None) is not None:
        return None
    return f"no *.ami files under {TRACES} (clone ../shared beside cti, or set CTI_TEST_TRACES)"


def _postgres_missing() -> str | None:
    async def probe() -> None:
        conn = await asyncpg.connect(postgres_dsn(POSTGRES_URL), timeout=3)
        await conn.close()

    try:
        with ThreadPoolExecutor(max_workers=1) as pool:  # away from pytest-asyncio's loops
            pool.submit(asyncio.run, probe()).result()
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"unreachable at {mask_url(POSTGRES_URL)} ({exc}; CTI_TEST_POSTGRES_URL)"
    return None


def _chromium_missing() -> str | None:
    if shutil.which(CHROMIUM) is not None:
        return None
    return f"not found at {CHROMIUM} (apt-get install chromium, or set CTI_CHROMIUM)"


@dataclass(frozen=True)
class Need:
    marker: str
    what: str
    #: None when it is there, else why not (one line)
    missing: Callable[[], str | None]


NEEDS = (
    Need("traces", "the recorded AMI traces", traces_missing),
    Need("postgres", "PostgreSQL", _postgres_missing),
    Need("browser", "Chromium", _chromium_missing),
)
_NOT_RUN = pytest.StashKey[list[str]]()


def tool_path(name: str) -> str | None:
    """Where program ``name`` is (``CTI_NGINX`` names an nginx off the PATH)."""
    if name == "nginx" and os.environ.get("CTI_NGINX"):
        return os.environ["CTI_NGINX"]
    return shutil.which(name)


def _tools_of(item: pytest.Item) -> tuple[str, ...]:
    return tuple(name for mark in item.iter_markers("tools") for name in mark.args)


def pytest_report_header(config: pytest.Config) -> str:
    mode = "CI=true: a missing one fails the run" if ON_CI else "a missing one is skipped"
    return (
        f"needs ({mode}): traces {TRACES} (CTI_TEST_TRACES), PostgreSQL "
        f"{mask_url(POSTGRES_URL)} (CTI_TEST_POSTGRES_URL), Chromium {CHROMIUM} (CTI_CHROMIUM)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Check the needs of the collected tests: fail on CI, skip with one summary line here."""
    lines: list[str] = []
    failures: list[str] = []
    for need in NEEDS:
        needing = [item for item in items if item.get_closest_marker(need.marker) is not None]
        if not needing:
            continue
        reason = need.missing()
        if reason is None:
            continue
        if ON_CI:
            failures.append(f"{need.what}: {reason}")
            continue
        skip = pytest.mark.skip(reason=f"needs {need.what}: {reason}")
        for item in needing:
            item.add_marker(skip)
        lines.append(f"not run: {len(needing)} tests that need {need.what}: {reason}")
    absent: dict[str, list[pytest.Item]] = {}
    for item in items:
        for name in _tools_of(item):
            if tool_path(name) is None:
                absent.setdefault(name, []).append(item)
    for name, needing in sorted(absent.items()):
        reason = f"{name} not on the PATH (bash scripts/setup.sh installs it)"
        if ON_CI:
            failures.append(reason)
            continue
        for item in needing:
            item.add_marker(pytest.mark.skip(reason=f"needs {reason}"))
        lines.append(f"not run: {len(needing)} tests that need {reason}")
    if failures:
        pytest.exit("missing on CI (CI=true): " + "; ".join(failures), returncode=1)
    config.stash[_NOT_RUN] = lines


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in terminalreporter.config.stash.get(_NOT_RUN, []):
        terminalreporter.write_line(line, yellow=True, bold=True)
