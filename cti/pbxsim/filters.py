"""AMI event filters of a simulator session, as Asterisk 22 applies them.

The ``Filter`` action (``Operation: Add``) with ``MatchCriteria`` in the advanced syntax of
manager.conf's ``eventfilter``: ``action(include|exclude)``, ``name(Event)``,
``header(Name)``, ``method(regex|exact|starts_with|ends_with|contains|none)``; without
criteria, ``Filter`` is a legacy regex over the whole event (``!`` excludes). As in
Asterisk: with no filters every event goes out; include filters let through what matches
any of them; exclude filters then drop what matches any of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CRITERION = re.compile(r"\s*(action|name|header|method)\(([^()]*)\)\s*")
_METHODS = frozenset({"regex", "exact", "starts_with", "ends_with", "contains", "none"})


@dataclass(frozen=True, slots=True)
class EventFilter:
    include: bool
    name: str | None
    header: str | None
    method: str
    expression: str
    pattern: re.Pattern[str] | None

    def matches(self, event: str, message: str) -> bool:
        if self.name is not None and event != self.name:
            return False
        if self.header is not None:
            data = header_value(message, self.header)
            if data is None:
                return False
        else:
            data = message
        if self.method == "none" or (not self.expression and self.pattern is None):
            return True
        if self.method == "exact":
            return data == self.expression
        if self.method == "starts_with":
            return data.startswith(self.expression)
        if self.method == "ends_with":
            return data.endswith(self.expression)
        if self.method == "contains":
            return self.expression in data
        return self.pattern is not None and self.pattern.search(data) is not None


def parse_filter(criteria: str, expression: str) -> EventFilter:
    """One filter; :class:`ValueError` says what is wrong (the action's error message)."""
    if not criteria:  # legacy: a regex over the whole event, '!' excludes
        include = not expression.startswith("!")
        regex = expression[0 if include else 1 :]
        return EventFilter(include, None, None, "regex", regex, _compile(regex))
    fields: dict[str, str] = {}
    for part in criteria.split(","):
        match = _CRITERION.fullmatch(part)
        if match is None or match.group(1) in fields:
            raise ValueError(f"bad match criteria {criteria!r}")
        fields[match.group(1)] = match.group(2)
    action = fields.get("action", "include")
    method = fields.get("method", "regex" if expression else "none")
    if action not in ("include", "exclude") or method not in _METHODS:
        raise ValueError(f"bad match criteria {criteria!r}")
    pattern = _compile(expression) if method == "regex" and expression else None
    return EventFilter(
        action == "include",
        fields.get("name") or None,
        fields.get("header") or None,
        method,
        expression,
        pattern,
    )


def _compile(regex: str) -> re.Pattern[str]:
    try:
        return re.compile(regex)
    except re.error as exc:
        raise ValueError(f"filter did not compile: {exc}") from None


def header_value(message: str, header: str) -> str | None:
    """The first value of ``header`` in an encoded event (``Key: value\\r\\n`` lines)."""
    at = message.find(f"\r\n{header}: ")
    if at < 0:
        return None
    start = at + len(header) + 4
    end = message.find("\r\n", start)
    return message[start : end if end >= 0 else len(message)]


def event_name(message: str) -> str:
    line = message[: message.find("\r\n")] if "\r\n" in message else message
    return line[7:] if line.startswith("Event: ") else ""


def passes(filters: tuple[EventFilter, ...], message: str) -> bool:
    """Whether an encoded event goes to a session with ``filters`` (see the module docs)."""
    event = event_name(message)
    includes = [f for f in filters if f.include]
    if includes and not any(f.matches(event, message) for f in includes):
        return False
    return not any(f.matches(event, message) for f in filters if not f.include)
