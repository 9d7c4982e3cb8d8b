"""Which file on disk is a call's recording: only ever one inside the recordings folder.

The record keeps the name the PBX gave (``MIXMONITOR_FILENAME``: usually an absolute path
in the PBX's spool). That name comes from outside: ``..``, a symlink out, an absolute
path elsewhere or a NUL never reach a file outside ``dir``: the candidate is resolved
(symlinks followed) and must still be inside the resolved folder.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath


def recording_path(root: Path, pbx_dir: str, name: str | None) -> Path | None:
    """The existing regular file ``name`` stands for under ``root``; None when there is
    none (no name, outside ``root``, missing, not a file)."""
    if not name or "\x00" in name:
        return None
    recorded = PurePosixPath(name)
    if recorded.is_absolute():
        base = PurePosixPath(pbx_dir) if pbx_dir else None
        if base is not None and recorded.is_relative_to(base):
            recorded = recorded.relative_to(base)
        elif recorded.is_relative_to(PurePosixPath(root.as_posix())):
            recorded = recorded.relative_to(PurePosixPath(root.as_posix()))
        else:
            return None
    try:
        top = root.resolve(strict=True)
        found = (top / recorded).resolve(strict=True)
    except (OSError, RuntimeError, ValueError):
        return None
    if not found.is_relative_to(top) or not found.is_file():
        return None
    return found


class Recordings:
    """The recordings folder of a running app (``[recordings]``); ``root`` None: off."""

    def __init__(self, root: str | Path | None, pbx_dir: str = "") -> None:
        self.root = Path(root) if root else None
        self.pbx_dir = pbx_dir

    def find(self, name: str | None) -> Path | None:
        """The file of the recording ``name``, or None (off, none, missing, outside)."""
        if self.root is None:
            return None
        return recording_path(self.root, self.pbx_dir, name)
