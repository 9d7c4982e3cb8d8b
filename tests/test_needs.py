"""A missing trace corpus, PostgreSQL or Chromium fails the run on CI and is one summary line
locally; tests parametrized over trace files never collapse to nothing. Each case runs pytest
in a subprocess with the need pointed somewhere empty."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = """
import pytest

@pytest.mark.traces
def test_traces(): pass

@pytest.mark.postgres
def test_postgres(): pass

@pytest.mark.browser
def test_browser(): pass

def test_plain(): pass
"""
INI = """[pytest]
addopts = --strict-markers -p tests.needs
markers =
    traces: t
    postgres: p
    browser: b
"""
MISSING = {
    "CTI_TEST_TRACES": "/nonexistent/ami-traces",
    "CTI_TEST_POSTGRES_URL": "postgresql+asyncpg://postgres@127.0.0.1:1/test",
    "CTI_CHROMIUM": "/nonexistent/chromium",
}


def run_pytest(args: list[str], ci: bool, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "CI"} | env
    if ci:
        environ["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def sample(tmp_path: Path) -> list[str]:
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    (tmp_path / "pytest.ini").write_text(INI)
    return ["-c", str(tmp_path / "pytest.ini"), "--rootdir", str(tmp_path), str(tmp_path)]


def test_locally_each_missing_need_is_one_line_and_its_tests_are_skipped(
    sample: list[str],
) -> None:
    done = run_pytest(sample, ci=False, **MISSING)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("not run:")]
    assert lines == [
        "not run: 1 tests that need the recorded AMI traces: no *.ami files under "
        "/nonexistent/ami-traces (clone ../shared beside cti, or set CTI_TEST_TRACES)",
        lines[1],
        "not run: 1 tests that need Chromium: not found at /nonexistent/chromium "
        "(apt-get install chromium, or set CTI_CHROMIUM)",
    ]
    assert lines[1].startswith("not run: 1 tests that need PostgreSQL: unreachable at")
    assert "1 passed, 3 skipped" in done.stdout


def test_on_ci_a_missing_need_fails_the_run_before_any_test(sample: list[str]) -> None:
    done = run_pytest(sample, ci=True, CTI_CHROMIUM=MISSING["CTI_CHROMIUM"])
    assert done.returncode != 0
    output = done.stdout + done.stderr
    (line,) = [line for line in output.splitlines() if "missing on CI" in line]
    assert "Chromium: not found at /nonexistent/chromium" in line
    assert "passed" not in output


@pytest.mark.traces
@pytest.mark.postgres
@pytest.mark.browser
def test_on_ci_needs_that_are_there_let_the_run_pass(sample: list[str]) -> None:
    done = run_pytest(sample, ci=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout


def test_tests_over_trace_files_keep_an_item_without_the_corpus() -> None:
    parser_tests = "tests/ami/test_ami_parser.py"
    done = run_pytest([parser_tests, "-vv"], ci=False, CTI_TEST_TRACES=MISSING["CTI_TEST_TRACES"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "empty parameter set" not in done.stdout
    assert done.stdout.count("corpus-missing] SKIPPED") == 2
    assert "not run: 2 tests that need the recorded AMI traces" in done.stdout
    failed = run_pytest([parser_tests], ci=True, CTI_TEST_TRACES=MISSING["CTI_TEST_TRACES"])
    assert failed.returncode != 0 and "missing on CI" in failed.stdout + failed.stderr
