"""Where the recorded AMI traces live (the repo's sibling ``../shared/ami-traces``)."""

from __future__ import annotations

from pathlib import Path

import pytest

TRACES = Path(__file__).resolve().parents[2].parent / "shared" / "ami-traces"
ASTERISK22 = TRACES / "asterisk22"
CACOFONISK = TRACES / "cacofonisk"

needs_traces = pytest.mark.skipif(
    not TRACES.is_dir(), reason=f"recorded AMI traces not found at {TRACES}"
)


def trace_files(folder: Path, pattern: str = "*.ami") -> list[Path]:
    """Trace files under ``folder`` (empty when the corpus is absent: tests then skip)."""
    return sorted(folder.glob(pattern)) if folder.is_dir() else []


def trace_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"
