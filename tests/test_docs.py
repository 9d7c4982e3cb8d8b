"""The administrator and developer docs name real files, cover every package, and are all
linked from the README: a renamed module or a new folder fails here, not in a reader's hands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
#: the docs that describe the repository's layout
LAYOUT_DOCS = ("architecture.md", "development.md", "deployment.md")
_PATH = re.compile(r"`((?:cti|tests|bench|deploy|scripts|docs)/[\w./-]*)`")


def _named_paths(text: str) -> set[str]:
    """Paths in backticks (``cti/ami/parser.py``, ``cti/web/``); globs and templates left out."""
    return {p for p in _PATH.findall(text) if not re.search(r"[*<>{}]|_<|\.\.\.", p)}


@pytest.mark.parametrize("name", LAYOUT_DOCS)
def test_every_path_a_doc_names_exists(name: str) -> None:
    text = (DOCS / name).read_text(encoding="utf-8")
    named = _named_paths(text)
    assert named, f"docs/{name} names no path: is the pattern still right?"
    missing = sorted(p for p in named if not (ROOT / p.rstrip("/")).exists())
    assert not missing, f"docs/{name} names paths that do not exist: {missing}"


def test_the_architecture_names_every_package() -> None:
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    packages = sorted(
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "cti").iterdir()
        if (p / "__init__.py").is_file()
    )
    assert "cti/ami" in packages
    missing = [p for p in packages if f"`{p}/" not in text]
    assert not missing, f"docs/architecture.md says nothing of {missing}"


def test_the_readme_links_every_doc() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [d.name for d in sorted(DOCS.glob("*.md")) if f"docs/{d.name}" not in readme]
    assert not missing, f"README.md does not link {missing}"


def test_no_file_keeps_merge_conflict_markers() -> None:
    """A merge left half-resolved shows in no doc, code or config file."""
    import subprocess

    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    marked = []
    for name in filter(None, tracked):
        path = ROOT / name.decode()
        if path.suffix not in {".py", ".md", ".js", ".html", ".css", ".yaml", ".toml", ".conf"}:
            continue
        lines = path.read_text(errors="replace").splitlines()
        if any(line.startswith(("<<<<<<< ", ">>>>>>> ")) or line == "=======" for line in lines):
            marked.append(name.decode())
    assert marked == []
