"""Deal rules: stages of the configured pipeline, and what winning, losing or reopening sets.

A deal is won or lost once (``closed_at`` stamps the moment its status changed); a lost deal
needs a reason; reopening clears both; a won deal keeps no lost reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from cti.crm_store.rules.fields import invalid


def check_stage(stage: str, pipeline: Sequence[str]) -> None:
    if stage not in pipeline:
        raise invalid("stage", f"unknown stage {stage!r}; pipeline: {', '.join(pipeline)}")


def closing(
    values: Mapping[str, Any],
    current: tuple[str, str | None] | None,
    now: datetime,
) -> dict[str, Any]:
    """What else to set when a deal is created (``current`` None) or changed with ``values``:
    ``current`` is its (status, lost_reason) before. Raises when a lost deal has no reason."""
    was, was_reason = current if current is not None else (None, None)
    status = values.get("status", was if was is not None else "open")
    reason = values.get("lost_reason", was_reason)
    if status == "lost" and not (reason and reason.strip()):
        raise invalid("lost_reason", "required when the deal is lost")
    changes: dict[str, Any] = {}
    if status != was:
        if status == "open":
            changes["closed_at"] = None
            changes["lost_reason"] = None
        else:
            changes["closed_at"] = now
    if status == "won":
        changes["lost_reason"] = None
    return changes
