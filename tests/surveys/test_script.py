"""The script format: old scripts load, the shipped ones validate, every error names the
file, the field path and the reason; the version is a stable content hash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from cti.errors import ConfigError
from cti.screenpop.scripts import DEFAULT_CAMPAIGNS_DIR, ScriptBook
from cti.surveys.script import Script, load_script_file, parse_script, render


def write(tmp_path: Path, data: dict[str, Any], name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def q(qid: str, **kw: Any) -> dict[str, Any]:
    return {"id": qid, "text": f"{qid}?", **kw}


def error_of(tmp_path: Path, questions: list[dict[str, Any]]) -> ConfigError:
    path = write(tmp_path, {"name": "s", "questions": questions})
    with pytest.raises(ConfigError) as caught:
        load_script_file(path)
    assert caught.value.message.startswith(f"{path}: ")
    assert caught.value.details["file"] == str(path)
    return caught.value


def test_every_shipped_script_loads_and_the_nps_one_branches() -> None:
    book = ScriptBook.load(DEFAULT_CAMPAIGNS_DIR)
    assert {"default", "nps", "lead-qualification", "survey"} <= set(book.scripts)
    nps = book.scripts["nps"]
    recommend = nps.by_id["recommend"]
    assert (recommend.kind, recommend.min, recommend.max, recommend.measure) == (
        "scale",
        0,
        10,
        "nps",
    )
    assert recommend.value_map == {"0-6": "improve", "7-8": "missing", "9-10": "liked"}
    assert nps.by_id["satisfaction"].measure == "csat"
    assert "{first_name}" in nps.intro


def test_the_first_format_still_loads_with_its_kinds_mapped(tmp_path: Path) -> None:
    old = {
        "name": "old",
        "title": "Old",
        "questions": [
            {"id": "a", "text": "A?", "kind": "choice", "options": ["x", "y"]},
            {"id": "b", "text": "B?", "kind": "number", "options": []},
            {"id": "c", "text": "C?", "kind": "text"},
            {"id": "d", "text": "D?", "kind": "yesno"},
        ],
    }
    script = load_script_file(write(tmp_path, old))
    assert [x.kind for x in script.questions] == ["single", "number", "text", "yesno"]
    # a campaign's stored copy (to_json, with its version) reads back as the same script
    assert Script.model_validate(script.to_json()) == script


@pytest.mark.parametrize(
    ("questions", "where", "reason"),
    [
        (
            [q("a", kind="yesno", next={"yes": "nope"}), q("b")],
            "questions[0].next.yes",
            "unknown question 'nope'",
        ),
        ([q("a", next="b"), q("b", next="a")], "questions[1].next", "loop: a → b → a"),
        ([q("a", default_next="end"), q("b")], "questions[1]", "unreachable"),
        (
            [q("a", kind="yesno", next={"maybe": "end"})],
            "questions[0].next.maybe",
            "not an answer of 'a'",
        ),
        ([q("a"), q("a")], "questions[1].id", "repeats an earlier id"),
        (
            [q("a", branches=[{"when": {"question": "b", "equals": "x"}, "goto": "end"}]), q("b")],
            "questions[0].branches[0].when[0].question",
            "'b' is never asked before 'a'",
        ),
        (
            [q("a", kind="scale", min=0, max=5, measure="nps")],
            "questions[0]",
            "nps is a scale from 0 to 10",
        ),
        ([q("a", kind="single", options=["one"])], "questions[0]", "at least two options"),
        ([q("a", kind="yesno", digits={"12": "yes"})], "questions[0]", "digits keys"),
        (
            [q("a", kind="single", options=["x", "y"], digits={"1": "x", "2": "z"})],
            "questions[0].digits.2",
            "'z' is no answer: not one of the options",
        ),
        ([q("a", kind="bogus")], "questions[0].kind", "Input should be"),
        (
            [q("a", branches=[{"when": {"question": "a"}, "goto": "end"}])],
            "questions[0].branches[0].when[0]",
            "give a test",
        ),
    ],
)
def test_errors_name_the_file_the_path_and_the_reason(
    tmp_path: Path, questions: list[dict[str, Any]], where: str, reason: str
) -> None:
    err = error_of(tmp_path, questions)
    assert err.details["key"] == where, err.message
    assert reason in err.message


def test_a_loop_through_a_branch_is_refused(tmp_path: Path) -> None:
    questions = [
        q("a", kind="scale", min=1, max=5),
        q("b", branches=[{"when": {"question": "a", "lte": 2}, "goto": "a"}]),
    ]
    err = error_of(tmp_path, questions)
    assert err.details["key"] == "questions[1].branches[0].goto"
    assert "loop: a → b → a" in err.message


def test_the_version_is_a_stable_content_hash(tmp_path: Path) -> None:
    base = {"name": "s", "questions": [q("a", kind="yesno"), q("b")]}
    one = parse_script(base, "x")
    assert one.version == parse_script(dict(base), "y").version
    # the selection rules do not change what is asked; the wording does
    assert parse_script({**base, "priority": 9}, "x").version == one.version
    reworded = {**base, "questions": [q("a", kind="yesno"), {"id": "b", "text": "B, really?"}]}
    assert parse_script(reworded, "x").version != one.version
    assert len(one.version) == 16


def test_contact_fields_fill_in_and_missing_ones_are_safe() -> None:
    text = "Hello {first_name} of {company}, {missing}{first_name.__class__} {0}"
    out = render(text, {"first_name": "Anna", "company": None})
    assert out == "Hello Anna of , {first_name.__class__} {0}"


def test_the_surveys_page_example_is_the_shipped_nps_script() -> None:
    import json

    from tests.docs.markdown import blocks

    (example,) = blocks("surveys.md", "yaml")
    shipped = ScriptBook.load(DEFAULT_CAMPAIGNS_DIR).scripts["nps"]
    assert parse_script(yaml.safe_load(example.text), "docs/surveys.md") == shipped
    (documented,) = blocks("surveys.md", "json")
    from cti.crm_store.schemas.surveys import AnswerOut, ResponseOut
    from cti.crm_store.timeutil import utcnow
    from cti.surveys.http import frame
    from cti.surveys.service import SurveyState

    shown = json.loads(documented.text)
    response = ResponseOut.model_validate(
        {
            **shown["survey"],
            "pbx": None,
            "call_id": None,
            "list_id": None,
            "attempt_id": None,
            "contact_id": None,
            "script_name": "nps",
            "script_version": shipped.version,
            "agent_user_id": 1,
            "stopped_at": None,
            "started_at": utcnow(),
            "ended_at": None,
        }
    )
    answer = AnswerOut(
        question_id="consent",
        value=True,
        raw=None,
        answered_at=utcnow(),
        answered_by="olga",
        updated_at=utcnow(),
    )
    made = frame(
        "survey.answer", SurveyState(response, shipped, [answer], shipped.by_id["recommend"])
    )
    assert set(made) == set(shown) and set(made["survey"]) == set(shown["survey"])
    assert made["survey"]["answers"][0].keys() == shown["survey"]["answers"][0].keys()


def test_a_stored_script_todays_checks_refuse_is_left_out(caplog: pytest.LogCaptureFixture) -> None:
    book = ScriptBook.load(DEFAULT_CAMPAIGNS_DIR)
    # the first format took a choice with one option; today it is refused
    old = {
        "name": "nps",
        "questions": [{"id": "a", "text": "A?", "kind": "choice", "options": ["x"]}],
    }
    book.remember("nps-survey", old)
    book.remember("nps-survey", old)
    assert "nps-survey" not in book.stored
    warnings = [r.getMessage() for r in caplog.records if "stored script" in r.getMessage()]
    assert (
        len(warnings) == 1 and "questions[0]: a single question needs at least two" in warnings[0]
    )
    assert "campaign 'nps-survey'" in warnings[0] and "reload the campaign" in warnings[0]
    good = book.scripts["nps"].to_json()
    book.remember("nps-survey", good)
    assert book.stored["nps-survey"].version == book.scripts["nps"].version
