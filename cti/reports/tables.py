"""A report as a table (header + rows): what ``cti report`` prints and writes as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from cti.reports.schemas import (
    AgentsReport,
    CallbacksReport,
    CampaignsReport,
    HeatmapReport,
    QueuesReport,
    Report,
    SlaReport,
)

Table = tuple[list[str], list[list[Any]]]
_AGENT_COLUMNS = (
    "agent",
    "user",
    "day",
    "offered",
    "answered",
    "missed",
    "answer_rate",
    "ring_seconds",
    "talk_seconds",
    "hold_seconds",
    "wrap_up_seconds",
    "average_handle_seconds",
    "calls_per_hour",
    "logged_in_seconds",
    "pause_seconds",
    "occupancy",
)
_QUEUE_COLUMNS = (
    "queue",
    "offered",
    "answered",
    "abandoned",
    "short_abandons",
    "timed_out",
    "abandon_rate",
    "service_level",
    "average_speed_of_answer",
    "longest_wait",
    "average_abandon_seconds",
)


def _pick(items: Sequence[Any], columns: Sequence[str]) -> list[list[Any]]:
    return [[getattr(item, c) for c in columns] for item in items]


def table(report: Report) -> Table:
    """The report's main rows (the agents report: per agent, then per day)."""
    if isinstance(report, AgentsReport):
        return list(_AGENT_COLUMNS), _pick([*report.agents, *report.days], _AGENT_COLUMNS)
    if isinstance(report, QueuesReport):
        return list(_QUEUE_COLUMNS), _pick([*report.queues, report.total], _QUEUE_COLUMNS)
    if isinstance(report, CallbacksReport):
        cols = ["number", "misses", "first_missed_at", "age_seconds", "queue", "assignee"]
        return cols, _pick(report.items, cols)
    if isinstance(report, HeatmapReport):
        return ["weekday", *map(str, range(24))], [
            [day, *row] for day, row in zip(report.weekdays, report.cells, strict=True)
        ]
    if isinstance(report, CampaignsReport):
        cols = ["campaign", "attempts", "contacts", "contact_rate", "abandoned", "abandon_rate"]
        cols += ["abandon_rate_24h", "abandon_rate_30d"]
        return cols, _pick(report.campaigns, cols)
    if isinstance(report, SlaReport):
        cols = ["key", "first_response_met", "first_response_breached"]
        cols += ["first_response_compliance", "resolution_met", "resolution_breached"]
        cols += ["resolution_compliance"]
        rows = [["agent", *r] for r in _pick(report.by_agent, cols)]
        rows += [["priority", *r] for r in _pick(report.by_priority, cols)]
        return ["by", *cols], rows
    raise TypeError(f"no table for {type(report).__name__}")


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def to_csv(report: Report) -> str:
    header, rows = table(report)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[_cell(v) for v in row] for row in rows])
    return out.getvalue()


def to_text(report: Report) -> str:
    """Aligned columns, with the period and definition above."""
    header, rows = table(report)
    cells = [header, *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = [
        f"{report.report} {report.period.from_} … {report.period.to} ({report.period.tz})",
        f"definition: {report.definition}",
    ]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)
