"""deploy/cti.service: systemd accepts it, its command line is one ``cti`` understands, and
the folders it grants are the ones the sample config uses."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from cti.config import load_settings
from tests.deploy.helpers import DEPLOY, run_cti
from tests.needs import tool_path

UNIT = DEPLOY / "cti.service"
SYSTEMD_ANALYZE = tool_path("systemd-analyze")
needs_systemd = pytest.mark.tools("systemd-analyze")


def _service() -> dict[str, list[str]]:
    """The [Service] section; a key given twice keeps both values."""
    values: dict[str, list[str]] = {}
    section = ""
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values.setdefault(key, []).append(value)
    return values


def _exec_start() -> list[str]:
    return shlex.split(_service()["ExecStart"][0])


def test_it_runs_cti_serve_as_cti_restarting_on_failure() -> None:
    service = _service()
    assert service["User"] == ["cti"]
    assert service["Restart"] == ["on-failure"]
    assert _exec_start() == ["/opt/cti/venv/bin/cti", "--config", "/etc/cti/cti.toml", "serve"]
    for hardening in ("NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp"):
        assert hardening in service


def test_its_command_line_is_one_cti_understands(tmp_path: Path) -> None:
    args = _exec_start()[1:]
    args[args.index("/etc/cti/cti.toml")] = str(DEPLOY / "cti.toml")
    result = run_cti(*args, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Run the daemon" in result.stdout


def test_the_sample_configs_journal_is_in_the_units_state_folder() -> None:
    service = _service()
    state = Path("/var/lib") / service["StateDirectory"][0]
    assert Path(service["WorkingDirectory"][0]) == state
    journal = Path(load_settings(DEPLOY / "cti.toml", environ={}).calllog.journal_dir)
    assert journal.is_relative_to(state)


@needs_systemd
def test_systemd_analyze_verifies_it(tmp_path: Path) -> None:
    # verify wants ExecStart's binary to exist: point it at one that does
    unit = tmp_path / "cti.service"
    text = UNIT.read_text(encoding="utf-8")
    unit.write_text(text.replace("/opt/cti/venv/bin/cti", "/bin/true"), encoding="utf-8")
    assert SYSTEMD_ANALYZE is not None
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", str(unit)], capture_output=True, text=True, check=False
    )
    complaints = [line for line in result.stderr.splitlines() if "cti.service" in line]
    assert result.returncode == 0 and not complaints, result.stderr


@needs_systemd
def test_its_exposure_stays_low() -> None:
    assert SYSTEMD_ANALYZE is not None
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "security", "--offline=yes", str(UNIT)],
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"Overall exposure level for cti\.service: ([0-9.]+)", result.stdout)
    assert found is not None, result.stdout + result.stderr
    assert float(found.group(1)) <= 2.0, result.stdout
