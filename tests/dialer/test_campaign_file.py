"""Campaign files: the shipped examples load; a bad file names the file, the field path and
the reason, and nothing of it is kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from cti.dialer.campaign_file import CampaignSpec, parse_campaign, read_campaign_file
from cti.errors import FileAccessError, ValidationError
from cti.screenpop.scripts import DEFAULT_CAMPAIGNS_DIR

BASE = {"name": "spring", "caller_id": "+74951234567", "route": "PJSIP/{number}@trunk"}


def test_the_shipped_campaigns_load_and_name_their_scripts() -> None:
    files = sorted(DEFAULT_CAMPAIGNS_DIR.glob("*.yaml"))
    assert [f.stem for f in files] == ["lead-qualification", "nps-survey"]
    for path in files:
        spec, text = read_campaign_file(path)
        assert spec.name == path.stem and text.startswith("#")
        assert (DEFAULT_CAMPAIGNS_DIR / "scripts" / f"{spec.script}.yaml").is_file()
    nps, _ = read_campaign_file(DEFAULT_CAMPAIGNS_DIR / "nps-survey.yaml")
    assert nps.mode == "progressive" and nps.default_time_zone == "Europe/Moscow"
    assert nps.retry["busy"] == 900 and nps.retry["machine"] == 4 * 3600  # default kept
    assert nps.disposition("do-not-call") is not None
    assert nps.disposition("do-not-call").dnc == "global"  # type: ignore[union-attr]


def test_defaults_follow_the_rules_of_the_field() -> None:
    spec = parse_campaign(BASE, "spring.yaml")
    assert spec.ring_seconds == 20 and spec.abandon_cap_percent == 3
    assert spec.connect.limit_seconds == 2 and spec.retry["abandoned"] == 72 * 3600
    assert spec.caller_id == "+74951234567"


def test_durations_read_as_people_write_them() -> None:
    spec = parse_campaign(
        {**BASE, "ring_seconds": "30s", "wrap_up_seconds": "2m", "retry": {"busy": "1.5h"}},
        "spring.yaml",
    )
    assert (spec.ring_seconds, spec.wrap_up_seconds, spec.retry["busy"]) == (30, 120, 5400)
    assert spec.retry["no-answer"] == 7200  # untouched delays keep their defaults


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"caller_id": "4951234567"}, "caller_id", "can be called back"),
        ({"route": "PJSIP/trunk"}, "route", "String should match pattern"),
        ({"mode": "blaster"}, "mode", "'preview', 'progressive' or 'predictive'"),
        ({"ring_seconds": 10}, "ring_seconds", "greater than or equal to 15"),
        ({"retry": {"busy": "soon"}}, "retry.busy", "a duration such as"),
        ({"retry": {"hung-up": "1h"}}, "retry.hung-up", "Input should be"),
        ({"windows": [{"from": "20:00", "to": "09:00"}]}, "windows[0]", "later than 'from'"),
        ({"windows": [{"days": ["mon", "xyz"], "from": "9:00", "to": "18:00"}]},
         "windows[0].days[1]", "Input should be"),
        ({"windows": []}, "(top)", "at least one call window"),
        ({"default_time_zone": "Mars/Olympus"}, "default_time_zone", "unknown time zone"),
        ({"connect": {"limit_seconds": 30}}, "connect.limit_seconds", "less than or equal"),
        ({"dispositions": [{"name": "later", "retry_after": "1d"}]}, "dispositions[0]",
         "retry_after needs close: false"),
        ({"pacing": {"target_abandon_percent": 5}}, "(top)", "above abandon_cap_percent"),
        ({"max_channels": 0}, "max_channels", "greater than or equal to 1"),
        ({"colour": "red"}, "colour", "Extra inputs are not permitted"),
        ({"name": "Spring Sale"}, "name", "String should match pattern"),
    ],
)  # fmt: skip
def test_a_wrong_value_names_its_field_path(
    change: dict[str, object], field: str, reason: str
) -> None:
    with pytest.raises(ValidationError) as err:
        parse_campaign({**BASE, **change}, "campaigns/spring.yaml")
    assert err.value.details["file"] == "campaigns/spring.yaml"
    assert err.value.details["field"] == field
    assert reason in err.value.message
    assert err.value.message.startswith(f"campaigns/spring.yaml: {field}: ")


def test_file_errors_name_the_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: spring\ntitle: Sale: now\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"broken.yaml: line 2, column 12: not valid YAML"):
        read_campaign_file(broken)
    with pytest.raises(FileAccessError, match="no such campaign file"):
        read_campaign_file(tmp_path / "missing.yaml")
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="a mapping of keys"):
        read_campaign_file(listing)


def test_the_stored_form_reads_back_the_same() -> None:
    spec, _ = read_campaign_file(DEFAULT_CAMPAIGNS_DIR / "lead-qualification.yaml")
    stored = spec.model_dump(mode="json", by_alias=True)
    assert CampaignSpec.model_validate(stored) == spec
