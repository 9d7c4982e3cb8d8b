"""deploy/cti.toml loads through the real settings loader and the real ``cti`` command."""

from __future__ import annotations

import json
from pathlib import Path

from cti.config import load_settings
from tests.deploy.helpers import DEPLOY, run_cti

SAMPLE = DEPLOY / "cti.toml"


def test_the_sample_config_loads_and_says_what_its_comments_say() -> None:
    settings = load_settings(SAMPLE, environ={})
    assert settings.db_url.startswith("postgresql+asyncpg://cti:")
    assert settings.db_url.endswith("@127.0.0.1:5432/cti")
    assert (settings.http.host, settings.http.port) == ("127.0.0.1", 8080)
    assert settings.http.trusted_proxies == ("127.0.0.1", "::1")
    assert settings.phone.default_region == "RU"
    assert settings.calllog.journal_dir == "/var/lib/cti/calls-journal"
    main = settings.pbx["main"]
    assert (main.host, main.port, main.username) == ("10.0.0.5", 5038, "cti")
    assert main.inbound_contexts == ("from-trunk",)
    assert (main.dial.agent_channel, main.dial.context) == ("PJSIP/{ext}", "from-internal")
    assert main.dial.number_format == "national"


def test_cti_config_show_reads_it_with_secrets_masked(tmp_path: Path) -> None:
    result = run_cti("--config", str(SAMPLE), "config", "show", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["database_url"] == "postgresql+asyncpg://cti:***@127.0.0.1:5432/cti"
    assert shown["pbx"]["main"]["secret"] == "***"
    assert "CHANGE-ME" not in result.stdout
