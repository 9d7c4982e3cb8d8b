"""Where the recorded AMI traces live (``../shared/ami-traces``, or ``CTI_TEST_TRACES``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.needs import TRACES, traces_missing

ASTERISK22 = TRACES / "asterisk22"
CACOFONISK = TRACES / "cacofonisk"

#: skipped locally / failing the run on CI when the corpus is missing (see ``tests/needs.py``)
needs_traces = pytest.mark.traces


def trace_files(folder: Path, pattern: str = "*.ami") -> list[Path]:
    """Trace files under ``folder``. Without the corpus, one placeholder path, so a test
    parametrized over them keeps an item that reports the missing corpus, not zero items."""
    if traces_missing() is not None:
        return [folder / "corpus-missing.ami"]
    return sorted(folder.glob(pattern))


def trace_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"
