"""Ownership and visibility: which calls, tasks and notes an operator may see or change.

Supervisors and managers see everything. An operator sees the calls that rang or were
answered on their own extensions, their own tasks and the unassigned ones (queue callbacks
any agent may take), and changes only the notes they wrote. A *scope* is what a listing is
limited to: None means everything.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

#: roles that see and manage everybody's records (users, other operators' tasks and calls)
SUPERVISOR_ROLES = ("supervisor", "manager")


def sees_everything(role: str) -> bool:
    return role in SUPERVISOR_ROLES


def task_scope(user_id: int, role: str) -> int | None:
    """The user id an operator's tasks are limited to; None for supervisors."""
    return None if sees_everything(role) else user_id


def may_see_task(scope: int | None, assignee_id: int | None) -> bool:
    """Within ``scope``: the user's own tasks and the unassigned ones."""
    return scope is None or assignee_id is None or assignee_id == scope


def call_scope(role: str, extensions: Iterable[str]) -> tuple[str, ...] | None:
    """The extensions an operator's calls are limited to; None for supervisors."""
    return None if sees_everything(role) else tuple(extensions)


def may_see_call(scope: Collection[str] | None, agent: str | None, rung: Iterable[str]) -> bool:
    """Within ``scope``: a call answered on, or ringing, one of its extensions (``rung``:
    the extensions it rang, and those that had a part of it, a transfer's target)."""
    if scope is None:
        return True
    return agent in scope or any(ext in scope for ext in rung)


def may_change_note(role: str, user_id: int, author_id: int | None) -> bool:
    """Supervisors change any note; an operator only their own."""
    return sees_everything(role) or author_id == user_id
