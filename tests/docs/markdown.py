"""Fenced code blocks of the docs, for the tests that check a doc's examples against the code."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
_FENCE = re.compile(r"^ *```(\w*)[^\n]*\n(.*?)^ *```", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Block:
    lang: str
    text: str
    #: the nearest heading above the block
    heading: str


def blocks(doc: str, lang: str | None = None) -> list[Block]:
    """The fenced blocks of ``docs/<doc>`` (of language ``lang``), in order."""
    text = (DOCS / doc).read_text(encoding="utf-8")
    out = []
    for m in _FENCE.finditer(text):
        before = text[: m.start()]
        headings = re.findall(r"^#+ (.+)$", before, re.MULTILINE)
        if lang is None or m.group(1) == lang:
            out.append(Block(m.group(1), m.group(2), headings[-1] if headings else ""))
    return out


def read(doc: str) -> str:
    return (DOCS / doc).read_text(encoding="utf-8")


def section(doc: str, heading: str) -> str:
    """The text under ``## heading`` of ``docs/<doc>``, up to the next heading of its level."""
    text = read(doc)
    m = re.search(rf"^(#+) {re.escape(heading)}\n(.*?)(?=^\1 |\Z)", text, re.MULTILINE | re.DOTALL)
    assert m is not None, f"docs/{doc}: no section {heading!r}"
    return m.group(2)


def blocks_in(text: str, lang: str) -> list[Block]:
    """The fenced blocks of language ``lang`` in ``text`` (a part of a doc)."""
    return [Block(m.group(1), m.group(2), "") for m in _FENCE.finditer(text) if m.group(1) == lang]
