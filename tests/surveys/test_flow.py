"""Walking the shipped scripts: the branches each answer takes, going back, checking answers."""

from __future__ import annotations

from typing import Any

import pytest

from cti.errors import ValidationError
from cti.screenpop.scripts import DEFAULT_CAMPAIGNS_DIR, ScriptBook
from cti.surveys import flow
from cti.surveys.script import Script, parse_script

BOOK = ScriptBook.load(DEFAULT_CAMPAIGNS_DIR)
NPS = BOOK.scripts["nps"]
LEADS = BOOK.scripts["lead-qualification"]


def walk(script: Script, given: dict[str, Any], contact: dict[str, Any] | None = None) -> list[str]:
    """Answer each question asked from ``given`` until the survey ends or asks one
    ``given`` has no answer for; the ids asked, in order."""
    answers: dict[str, Any] = {}
    asked: list[str] = []
    while (question := flow.next_question(script, answers, contact or {})) is not None:
        asked.append(question.id)
        if question.id not in given:
            break
        answers[question.id] = flow.check_answer(question, given[question.id])
    return asked


@pytest.mark.parametrize(
    ("given", "asked"),
    [
        ({"consent": "no"}, ["consent"]),
        (
            {"consent": "yes", "recommend": 3, "improve": "price", "satisfaction": 4},
            ["consent", "recommend", "improve", "satisfaction"],
        ),
        (
            {
                "consent": True,
                "recommend": 2,
                "improve": "support",
                "satisfaction": 1,
                "callback": "yes",
                "callback_date": "2026-12-09",
            },
            ["consent", "recommend", "improve", "satisfaction", "callback", "callback_date"],
        ),
        (
            {"consent": "yes", "recommend": "8", "missing": "", "satisfaction": 2},
            ["consent", "recommend", "missing", "satisfaction"],
        ),
        (
            {"consent": "yes", "recommend": 10, "liked": ["quality", "price"], "satisfaction": 1},
            ["consent", "recommend", "liked", "satisfaction"],
        ),
    ],
)
def test_nps_branches(given: dict[str, Any], asked: list[str]) -> None:
    assert walk(NPS, given) == asked


def test_lead_qualification_skips_procurement_for_small_teams() -> None:
    small = {
        "need": "yes",
        "current_system": "office PBX",
        "pains": ["cost"],
        "seats": 3,
        "timing": "this quarter",
        "demo": "no",
        "notes": "",
    }
    assert walk(LEADS, small) == [
        "need",
        "current_system",
        "pains",
        "seats",
        "timing",
        "demo",
        "notes",
    ]
    big = {
        **small,
        "seats": 40,
        "authority": "me",
        "budget": "yes",
        "demo": "yes",
        "demo_date": "2026-12-10",
    }
    assert walk(LEADS, big) == [
        "need",
        "current_system",
        "pains",
        "seats",
        "authority",
        "budget",
        "timing",
        "demo",
        "demo_date",
        "notes",
    ]
    assert walk(LEADS, {"need": "no", "interest_later": "no"}) == ["need", "interest_later"]


def test_changing_an_earlier_answer_reroutes_the_rest() -> None:
    answers = {"consent": True, "recommend": 9, "liked": ["price"], "satisfaction": 5}
    assert [q.id for q in flow.path(NPS, answers, {})] == [
        "consent",
        "recommend",
        "liked",
        "satisfaction",
    ]
    assert flow.next_question(NPS, answers, {}) is None
    answers["recommend"] = 5  # the operator goes back: now a detractor
    assert [q.id for q in flow.path(NPS, answers, {})] == ["consent", "recommend"]
    nxt = flow.next_question(NPS, answers, {})
    assert nxt is not None and nxt.id == "improve"


def test_conditions_on_contact_fields() -> None:
    script = parse_script(
        {
            "name": "c",
            "questions": [
                {
                    "id": "a",
                    "text": "A?",
                    "kind": "yesno",
                    "branches": [
                        {"when": {"contact": "city", "in": ["Moscow", "Kazan"]}, "goto": "city_q"}
                    ],
                    "default_next": "end",
                },
                {"id": "city_q", "text": "Which district?"},
            ],
        },
        "test",
    )
    assert walk(script, {"a": "yes"}, {"city": "moscow"}) == ["a", "city_q"]
    assert walk(script, {"a": "yes"}, {"city": "Omsk"}) == ["a"]
    assert walk(script, {"a": "yes"}, {}) == ["a"]


@pytest.mark.parametrize(
    ("qid", "value", "stored"),
    [
        ("consent", "Yes", True),
        ("consent", False, False),
        ("recommend", "10", 10),
        ("improve", "Price", "price"),
        ("liked", ["support", "price", "price"], ["price", "support"]),
        ("callback_date", "2026-12-09", "2026-12-09"),
        ("missing", "  good  ", "good"),
        ("missing", None, None),
    ],
)
def test_check_answer_normalises(qid: str, value: Any, stored: Any) -> None:
    assert flow.check_answer(NPS.by_id[qid], value) == stored


@pytest.mark.parametrize(
    ("qid", "value", "reason"),
    [
        ("consent", "perhaps", "answer yes or no"),
        ("recommend", 11, "at most 10"),
        ("recommend", 7.5, "whole number"),
        ("recommend", None, "required"),
        ("improve", "colour", "not one of the options"),
        ("callback_date", "9 Dec", "YYYY-MM-DD"),
        ("satisfaction", 0, "at least 1"),
    ],
)
def test_check_answer_names_the_question(qid: str, value: Any, reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        flow.check_answer(NPS.by_id[qid], value)
    assert caught.value.details["question"] == qid
    assert reason in caught.value.details["fields"][qid]


def test_keypad_digits() -> None:
    assert flow.from_digits(NPS.by_id["consent"], "1") is True
    assert flow.from_digits(NPS.by_id["recommend"], "10") == 10
    assert flow.from_digits(NPS.by_id["improve"], "3") == "support"
    with pytest.raises(ValidationError):
        flow.from_digits(NPS.by_id["consent"], "7")
    with pytest.raises(ValidationError):
        flow.from_digits(NPS.by_id["recommend"], "12")
    assert NPS.by_id["recommend"].keypad_max_digits == 2
