"""Script files and the rules that choose one per call."""

from __future__ import annotations

from pathlib import Path

import pytest

from cti.errors import ConfigError
from cti.screenpop.scripts import CallFacts, ScriptBook


def test_the_shipped_scripts_follow_the_rules() -> None:
    book = ScriptBook.load()
    assert {"default", "support", "sales", "survey"} <= set(book.scripts)

    def pick(**facts: object) -> str | None:
        script = book.choose(CallFacts(**facts))  # type: ignore[arg-type]
        return script.name if script else None

    assert pick() == "default"
    assert pick(match_status="exact", open_deals=1) == "sales"
    assert pick(match_status="exact", open_tickets=2) == "support"
    assert pick(open_tickets=1, open_deals=1) == "support"  # higher priority wins
    assert pick(campaign="spring-promo") == "survey"  # any dialer call: the survey
    assert pick(campaign="spring-promo", open_tickets=1) == "survey"  # campaign first
    for script in book.scripts.values():
        assert script.questions and all(q.text for q in script.questions)


def test_campaign_file_names_its_script_and_bad_files_fail_loudly(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "default.yaml").write_text("questions: []\n")
    (tmp_path / "scripts" / "nps.yaml").write_text(
        'title: NPS\nwhen: {campaign: other}\nquestions:\n  - {id: score, text: "Score?"}\n'
    )
    (tmp_path / "spring.yaml").write_text("name: spring\nscript: nps\n")
    book = ScriptBook.load(tmp_path)
    chosen = book.choose(CallFacts(campaign="spring"))
    assert chosen is not None and chosen.name == "nps"
    (question,) = chosen.to_json()["questions"]
    assert {k: question[k] for k in ("id", "text", "kind", "options", "required")} == {
        "id": "score",
        "text": "Score?",
        "kind": "text",
        "options": [],
        "required": True,
    }
    assert book.choose(CallFacts(campaign="unknown")).name == "default"  # type: ignore[union-attr]
    (tmp_path / "scripts" / "broken.yaml").write_text("questions:\n  - {id: x, kind: essay}\n")
    with pytest.raises(ConfigError, match=r"broken.yaml: questions\[0\]\.text: Field required"):
        ScriptBook.load(tmp_path)


def test_a_loaded_campaigns_stored_script_wins_for_its_calls() -> None:
    from cti.ami.events import CallInfo, OriginateInfo

    book = ScriptBook.load()
    stored = {"name": "nps", "title": "NPS v2", "questions": [{"id": "q", "text": "Score?"}]}
    book.remember("nps-survey", stored)
    info = CallInfo(
        pbx="lab",
        call_id="c1",
        direction="outbound",
        from_number=None,
        from_name=None,
        to_number="79161234567",
        originate=OriginateInfo(action_id="a", variables={"CTI_CAMPAIGN": "nps-survey"}),
    )
    chosen = book.choose(CallFacts(campaign=info.campaign))
    assert chosen is not None and chosen.title == "NPS v2"
    book.remember("nps-survey", None)  # stopped: the files' link again
    again = book.choose(CallFacts(campaign="nps-survey"))
    assert again is not None and again.title != "NPS v2"
