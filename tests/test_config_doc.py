"""docs/configuration.md is the settings model's own reference: it is what ``cti config
reference`` prints, and each of its examples and environment variables loads for real."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr
from typer.testing import CliRunner

from cti.cli import app
from cti.config import Settings, env_names, load_settings
from cti.config_doc import REGENERATE, Table, render, tables

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
TABLES = tables()


def test_the_committed_reference_is_what_the_model_generates() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        f"docs/configuration.md is stale: regenerate it with `{REGENERATE}`"
    )


def test_cti_config_reference_prints_it() -> None:
    result = CliRunner().invoke(app, ["config", "reference"])
    assert result.exit_code == 0, result.output
    assert result.output == render()


def _value(settings: BaseModel, path: list[str]) -> Any:
    node: Any = settings
    for part in path:
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    if isinstance(node, SecretStr):
        return node.get_secret_value()
    return list(node) if isinstance(node, tuple) else node


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.path or "top")
def test_each_example_loads_through_the_settings_loader(table: Table, tmp_path: Path) -> None:
    file = tmp_path / "cti.toml"
    file.write_text(table.example, encoding="utf-8")
    settings = load_settings(file, environ={})
    for section, values in _flatten(tomllib.loads(table.example)):
        for key, value in values.items():
            assert _value(settings, [*section, key]) == value, (section, key)


def _flatten(data: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[list[str], Any]]:
    plain = {k: v for k, v in data.items() if not isinstance(v, dict)}
    found = [(list(prefix), plain)] if plain else []
    for key, value in data.items():
        if isinstance(value, dict):
            found += _flatten(value, (*prefix, key))
    return found


def test_every_key_is_documented_with_an_example() -> None:
    documented = {f"{t.path}.{k.name}".lstrip(".") for t in TABLES for k in t.keys}
    assert "pbx.NAME.dial.prefix" in documented
    assert "crm.sla.NAME.resolution_hours" in documented
    assert "http.trusted_proxies" in documented


def test_the_pbx_url_key_sets_the_four_keys_it_stands_for(tmp_path: Path) -> None:
    (pbx,) = (t for t in TABLES if t.path == "pbx.NAME")
    url_line = next(line for line in pbx.example.splitlines() if line.startswith("# url ="))
    file = tmp_path / "cti.toml"
    file.write_text(f"[pbx.main]\n{url_line[2:].split('  (')[0]}\n", encoding="utf-8")
    main = load_settings(file, environ={}).pbx["main"]
    assert (main.host, main.port, main.username) == ("10.0.0.5", 5038, "cti")
    assert main.secret.get_secret_value() == "AMI-PASSWORD"


@pytest.mark.parametrize("dotted", sorted(env_names()))
def test_each_environment_variable_sets_its_key(dotted: str) -> None:
    key = next(k for t in TABLES for k in t.keys if f"{t.path}.{k.name}".lstrip(".") == dotted)
    assert key.env == f"`{env_names()[dotted]}`"
    value = key.example
    settings = load_settings(None, environ={env_names()[dotted]: str(value)})
    assert str(_value(settings, dotted.split("."))) == str(value)


def test_the_ami_url_variable_is_the_default_pbx() -> None:
    settings = load_settings(None, environ={"CTI_AMI_URL": "ami://u:s3cret@pbx.local:5039"})
    assert settings.pbx["default"].port == 5039


def test_every_secret_is_marked_and_masked_by_config_show() -> None:
    secrets = {f"{t.path}.{k.name}".lstrip(".") for t in TABLES for k in t.keys if k.secret}
    assert secrets == {"database_url", "pbx.NAME.secret", "pbx.NAME.url"}
    settings = Settings.model_validate(
        {
            "database_url": "postgresql+asyncpg://cti:db-secret-1@db/cti",
            "pbx": {"main": {"secret": "ami-secret-2"}},
        }
    )
    shown = json.dumps(settings.masked())
    assert "db-secret-1" not in shown
    assert "ami-secret-2" not in shown
