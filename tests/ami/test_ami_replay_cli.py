"""``cti replay``: JSON lines per call, the PBX name, config errors, --store; and classification."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cti.ami import cli as ami_cli
from cti.ami.classify import Classifier, base_channel, local_exten
from cti.cli import _root
from cti.config import PbxConfig, load_settings
from cti.errors import ConfigError
from tests.ami.tracehelp import ASTERISK22, needs_traces
from tests.clihelp import run_cti

KEYS = {
    "pbx", "linkedid", "direction", "from", "from_name", "to", "queue", "agents_rung", "agent",
    "status", "started_at", "answered_at", "ended_at", "ring_seconds", "talk_seconds",
    "hangup_cause", "transfers", "originate",
}  # fmt: skip


def _app() -> typer.Typer:
    from cti.ami.cli import register

    app = typer.Typer(add_completion=False)
    app.callback()(_root)
    register(app)
    return app


def _invoke(tmp_path: Path, *args: str, config: str = "") -> tuple[int, str, str]:
    cfg = tmp_path / "cti.toml"
    cfg.write_text(config or f'database_url = "sqlite+aiosqlite:///{tmp_path / "cti.db"}"\n')
    result = CliRunner().invoke(_app(), ["--config", str(cfg), "replay", *args])
    return result.exit_code, result.stdout, result.stderr


@needs_traces
def test_replay_prints_one_json_line_per_call(tmp_path: Path) -> None:
    files = [str(p) for p in sorted(ASTERISK22.glob("*.ami"))]
    code, out, err = _invoke(tmp_path, *files, "--pbx", "lab")
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 7
    assert all(set(line) >= KEYS and line["pbx"] == "lab" for line in lines)
    assert "7 call(s)" in err


@needs_traces
def test_replay_uses_the_pbx_config(tmp_path: Path) -> None:
    # with 2-digit internal numbers, 101 is an outside number: the call is no longer inbound
    config = "[pbx.lab]\ninternal_max_digits = 2\n"
    code, out, _ = _invoke(
        tmp_path, str(ASTERISK22 / "inbound-answered.ami"), "--pbx", "lab", config=config
    )
    assert code == 0
    [line] = [json.loads(x) for x in out.splitlines()]
    assert line["agent"] is None and line["agents_rung"] == []


@needs_traces
def test_config_option_after_the_command(tmp_path: Path) -> None:
    cfg = tmp_path / "other.toml"
    cfg.write_text("[pbx.lab]\ninternal_max_digits = 2\n")
    trace = str(ASTERISK22 / "inbound-answered.ami")
    result = CliRunner().invoke(_app(), ["replay", trace, "--pbx", "lab", "--config", str(cfg)])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["agents_rung"] == []


def test_missing_file_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cti(capsys, "replay", str(tmp_path / "nope.ami"))
    assert code == 6 and out == ""
    assert err == f"error: {tmp_path / 'nope.ami'}: no such trace file: check the path " + (
        "(recorded AMI traffic, .ami)\n"
    )


def test_bad_pattern_in_config_names_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = tmp_path / "t.ami"
    trace.write_bytes(b"Event: FullyBooted\r\n\r\n")
    cfg = tmp_path / "cti.toml"
    cfg.write_text('[pbx.default]\ntrunk_patterns = ["("]\n')
    code, _, err = run_cti(capsys, "replay", str(trace), "--config", str(cfg))
    assert code == 2
    assert err.startswith(f"error: config: pbx.default.trunk_patterns (from {cfg}): item 0: ")
    assert err.count("\n") == 1


@needs_traces
@pytest.mark.parametrize("batch", [500, 3])
def test_store_writes_each_call_once(
    tmp_path: Path, batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ami_cli, "STORE_BATCH", batch)
    files = [str(p) for p in sorted(ASTERISK22.glob("*.ami"))]
    code, _, err = _invoke(tmp_path, *files, "--store")
    assert code == 0, err
    assert "stored 7 new, 0 already" in err
    code, _, err = _invoke(tmp_path, *files, "--store")  # the same traces again
    assert code == 0, err
    assert "stored 0 new, 7 already" in err


def _direction(
    cls: Classifier,
    channel: str,
    number: str | None,
    *,
    context: str | None = None,
    dialed_external: bool = False,
    originated_external: bool = False,
) -> str:
    return cls.direction(
        caller_channel=channel,
        caller_number=number,
        caller_context=context,
        dialed_external=dialed_external,
        originated_external=originated_external,
    )


def test_classifier_without_config() -> None:
    cls = Classifier()
    assert cls.party("Local/101@agents-00000001;1", "s") == ("101", True)
    assert cls.party("SIP/150010002-00000005", "202") == ("202", True)
    assert cls.party("Local/79161110001@pstn-00000004;1", None) == ("79161110001", False)
    assert cls.party("SIP/trunk-0000a", "+74951234567") == ("+74951234567", False)
    assert cls.is_internal_number("123456") and not cls.is_internal_number("1234567")
    assert cls.is_external_number("+74951234567") and not cls.is_external_number("s")
    assert _direction(cls, "SIP/t-1", "+74951234567") == "inbound"
    assert _direction(cls, "SIP/201-1", "201") == "internal"
    assert _direction(cls, "SIP/201-1", "201", dialed_external=True) == "outbound"
    assert _direction(cls, "Local/s@dialer-1;1", "201", originated_external=True) == "outbound"


def test_classifier_with_config() -> None:
    cls = Classifier(
        PbxConfig(
            inbound_contexts=("from-trunk",),
            trunk_patterns=(r"^PJSIP/operator-",),
            agent_patterns=(r"^PJSIP/agent",),
            internal_max_digits=4,
        )
    )
    assert cls.party("PJSIP/operator-00000001", "2401") == ("2401", False)  # a trunk
    assert cls.party("PJSIP/agent7-00000002", "7777777") == ("7777777", True)
    assert cls.is_internal_number("2401") and not cls.is_internal_number("24011")
    assert _direction(cls, "SIP/201-1", "201", context="from-trunk") == "inbound"
    assert _direction(cls, "PJSIP/operator-9", "201") == "inbound"
    assert _direction(cls, "SIP/201-1", "201") == "internal"


def test_bad_regex_is_a_config_error(tmp_path: Path) -> None:
    cfg = tmp_path / "cti.toml"
    cfg.write_text('[pbx.east]\nagent_patterns = ["ok", "["]\n')
    with pytest.raises(ConfigError) as info:
        load_settings(cfg, environ={})
    assert info.value.details == {"key": "pbx.east.agent_patterns"}
    assert f"(from {cfg}): item 1: bad regex '['" in info.value.message


def test_channel_name_helpers() -> None:
    assert local_exten("Local/h30@customer-phone-00000000;1") == "h30"
    assert local_exten("SIP/201-0001") is None
    assert base_channel("Local/h30@customer-phone-0000000c;1") == "Local/h30@customer-phone"
    assert base_channel("Local/79161110002@pstn") == "Local/79161110002@pstn"
    assert base_channel("SIP/150010001-00000028") == "SIP/150010001"
