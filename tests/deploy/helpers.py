"""Running the real ``cti`` command of this checkout, as an administrator would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCS = ROOT / "docs"


def run_cti(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``cti ARGS`` in a fresh process (``cwd`` holds no stray ``cti.toml``)."""
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CTI_") or key.startswith("CTI_TEST")
    }
    environ["PYTHONPATH"] = str(ROOT)
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "cti", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def doc(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")
