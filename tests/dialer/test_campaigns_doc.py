"""docs/campaigns.md cannot rot: its example file loads, every field of the campaign file is
in its table, and the list headers it names are the code's."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import BaseModel

from cti.dialer.campaign_file import CampaignSpec, parse_campaign
from cti.dialer.lists import ALIASES, LEAD_FIELDS

DOC = (Path(__file__).resolve().parents[2] / "docs" / "campaigns.md").read_text()


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC, flags=re.S)


def _fields(model: type[BaseModel], prefix: str = "") -> list[str]:
    out = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        kind = info.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            out.extend(_fields(kind, f"{prefix}{key}."))  # a section: its fields
        else:
            out.append(prefix + key)
    return out


def test_the_example_file_is_a_valid_campaign() -> None:
    (example,) = _blocks("yaml")
    spec = parse_campaign(yaml.safe_load(example), "docs/campaigns.md")
    assert spec.mode == "predictive" and spec.connect.queue == "spring-agents"


def test_every_field_is_in_the_table() -> None:
    table = "\n".join(line for line in DOC.splitlines() if line.startswith("| `"))
    missing = [f for f in _fields(CampaignSpec) if f"`{f}`" not in table]
    assert missing == [], f"docs/campaigns.md: add {missing} to the field table"


def test_the_list_headers_are_the_codes() -> None:
    for field in LEAD_FIELDS:
        assert f"`{field}`" in DOC, field
    for alias in ALIASES:
        assert alias in DOC, f"docs/campaigns.md: the list header {alias!r} is not named"
