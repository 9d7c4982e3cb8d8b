"""docs/scripts.md: its examples load through the real loader and mean what the page says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from cti.errors import ConfigError
from cti.screenpop.scripts import (
    DEFAULT_CAMPAIGNS_DIR,
    CallFacts,
    Question,
    Script,
    ScriptBook,
    When,
    load_script_file,
)
from cti.surveys.script import Branch, Condition
from tests.docs.markdown import blocks, read, section

DOC = "scripts.md"


def _campaigns(tmp_path: Path) -> Path:
    """A campaigns folder: the shipped scripts plus the page's two examples."""
    shipped = ScriptBook.load()
    assert shipped.scripts
    script, campaign = (b.text for b in blocks(DOC, "yaml"))
    (tmp_path / "scripts").mkdir()
    for path in (DEFAULT_CAMPAIGNS_DIR / "scripts").glob("*.yaml"):
        (tmp_path / "scripts" / path.name).write_text(path.read_text(encoding="utf-8"))
    (tmp_path / "scripts" / "support-queue.yaml").write_text(script)
    (tmp_path / "spring-promo.yaml").write_text(campaign)
    return tmp_path


def test_the_example_loads_and_wins_where_the_page_says(tmp_path: Path) -> None:
    book = ScriptBook.load(_campaigns(tmp_path))
    example = load_script_file(tmp_path / "scripts" / "support-queue.yaml")
    assert book.scripts["support-queue"] == example
    assert [q.kind for q in example.questions] == ["yesno", "single", "number", "text"]

    def pick(**facts: object) -> str | None:
        chosen = book.choose(CallFacts(**facts))  # type: ignore[arg-type]
        return chosen.name if chosen else None

    # the example beats the shipped support script for that queue, not elsewhere
    assert pick(queue="support", open_tickets=1, match_status="exact") == "support-queue"
    assert pick(queue="sales", open_tickets=1, match_status="exact") == "support"
    assert pick(queue="support", open_tickets=1, match_status="none") == "support"
    # the campaign file links its calls to the example
    assert pick(campaign="spring-promo") == "support-queue"
    assert pick(campaign="other") == "survey"
    assert pick() == "default"
    # the card shows what the page says it shows
    shown = example.to_json()
    assert set(shown) == {
        "name", "title", "intro", "closing", "intro_prompt", "closing_prompt", "questions",
        "version",
    }  # fmt: skip
    assert set(shown["questions"][0]) == {f.alias or n for n, f in Question.model_fields.items()}


def _keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    return {f"{prefix}{f.alias or name}" for name, f in model.model_fields.items()}


def test_the_table_lists_every_key_of_the_format() -> None:
    table = set(re.findall(r"^\| `([\w.\[\]]+)` \|", section(DOC, "The file"), re.MULTILINE))
    keys = _keys(Script) | _keys(When, "when.") | _keys(Question, "questions[].")
    keys |= _keys(Branch, "questions[].branches[].")
    assert table == keys, f"docs/scripts.md: document {keys - table}, drop {table - keys}"
    named = {
        key
        for row in re.findall(r"^\| (`\w+`(?:, `\w+`)*) \|", section(DOC, "Conditions"), re.M)
        for key in re.findall(r"`(\w+)`", row)
    }
    assert named == _keys(Condition), "docs/scripts.md: the conditions table"


def test_the_quoted_error_is_the_loaders(tmp_path: Path) -> None:
    quoted = re.search(r"`…/scripts/sales.yaml: (questions[^`]+)`", read(DOC), re.S)
    assert quoted is not None
    bad = tmp_path / "sales.yaml"
    bad.write_text("questions:\n  - id: a\n    text: Why\n    kind: multiple\n")
    with pytest.raises(ConfigError) as caught:
        load_script_file(bad)
    assert caught.value.message == f"{bad}: {' '.join(quoted.group(1).split())}"


def test_the_shipped_scripts_table_is_true() -> None:
    rows = re.findall(r"^\| `([\w-]+)\.yaml` \| (\d+) \|", read(DOC), re.MULTILINE)
    book = ScriptBook.load()
    assert {name: int(p) for name, p in rows} == {s.name: s.priority for s in book.scripts.values()}
