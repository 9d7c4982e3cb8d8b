"""Click-to-dial follows each PBX's ``[pbx.NAME.dial]`` settings (every site's dialplan
differs): the channel that rings the operator, the outbound context, the number's format."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from cti.ami.actions import ActionValue
from cti.config import DialConfig, load_settings
from cti.crm_store.phones import dialable
from cti.errors import ConfigError
from cti.screenpop.dial import ClickToDial


class RecordingPbx:
    """A connected PBX that keeps the actions it was sent."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[Mapping[str, ActionValue]] = []

    async def send_action(self, action: Mapping[str, ActionValue]) -> dict[str, str]:
        self.sent.append(action)
        return {"Response": "Success"}


@pytest.mark.parametrize(
    ("fmt", "region", "e164", "expected"),
    [
        ("e164-digits", "RU", "+79161110001", "79161110001"),
        ("e164", "RU", "+79161110001", "+79161110001"),
        ("national", "RU", "+79161110001", "89161110001"),
        ("national", "RU", "+16502530000", "81016502530000"),
        ("national", "GB", "+442079460000", "02079460000"),
        ("national", "US", "+79161110001", "01179161110001"),
    ],
)
def test_numbers_are_written_the_way_the_dialplan_wants(
    fmt: str, region: str, e164: str, expected: str
) -> None:
    assert dialable(e164, fmt, region) == expected


async def test_each_pbx_dials_through_its_own_route() -> None:
    lab, site = RecordingPbx("lab"), RecordingPbx("site")
    routes = {
        "site": DialConfig(
            agent_channel="PJSIP/{ext}",
            context="from-internal",
            number_format="national",
            prefix="9",
            ring_seconds=20,
        )
    }
    dial = ClickToDial(lambda: {"lab": lab, "site": site}, region="RU", routes=routes)
    placed = await dial.dial(
        extensions=("101",), number="8 916 111-00-01", extension=None, pbx="site"
    )
    assert placed["number"] == "+79161110001" and placed["pbx"] == "site"
    [action] = site.sent
    assert action["Channel"] == "PJSIP/101" and action["Context"] == "from-internal"
    assert action["Exten"] == "989161110001" and action["Timeout"] == "20000"
    await dial.dial(extensions=("101",), number="+79161110001", extension=None, pbx="lab")
    [default] = lab.sent  # a PBX without [pbx.NAME.dial] keeps the defaults
    assert (default["Channel"], default["Context"]) == ("Local/101@agents", "outbound")
    assert default["Exten"] == "79161110001" and default["Timeout"] == "30000"


def test_the_dial_table_is_read_from_the_config_file(tmp_path: Path) -> None:
    conf = tmp_path / "cti.toml"
    conf.write_text(
        '[pbx.main]\nurl = "ami://cti:s3cret@10.0.0.5:5038"\n'
        '[pbx.main.dial]\nagent_channel = "PJSIP/{ext}"\ncontext = "from-internal"\n'
        'number_format = "national"\n',
        encoding="utf-8",
    )
    dial = load_settings(conf, environ={}).pbx["main"].dial
    assert (dial.agent_channel, dial.context, dial.number_format) == (
        "PJSIP/{ext}",
        "from-internal",
        "national",
    )


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('agent_channel = "PJSIP/101"', "pbx.main.dial.agent_channel"),
        ('agent_channel = "PJSIP/{ext}/{peer}"', "pbx.main.dial.agent_channel"),
        ('context = "from internal"', "pbx.main.dial.context"),
        ('prefix = "9,"', "pbx.main.dial.prefix"),
        ('number_format = "local"', "pbx.main.dial.number_format"),
        ("ring_seconds = 0", "pbx.main.dial.ring_seconds"),
        ('trunk = "x"', "pbx.main.dial.trunk"),
    ],
)
def test_a_wrong_dial_setting_names_its_key(tmp_path: Path, line: str, key: str) -> None:
    conf = tmp_path / "cti.toml"
    conf.write_text(f'[pbx.main]\nhost = "10.0.0.5"\n[pbx.main.dial]\n{line}\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(conf, environ={})
    assert err.value.details["key"] == key


def test_the_documented_dial_table_loads(tmp_path: Path) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "asterisk.md").read_text()
    [block] = [b.split("\n", 1)[1] for b in doc.split("```")[1::2] if b.startswith("toml\n")]
    conf = tmp_path / "cti.toml"
    conf.write_text('[pbx.main]\nhost = "10.0.0.5"\n' + block, encoding="utf-8")
    dial = load_settings(conf, environ={}).pbx["main"].dial
    assert dial.agent_channel == "PJSIP/{ext}" and dial.number_format == "national"
