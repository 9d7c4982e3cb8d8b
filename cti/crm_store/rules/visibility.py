"""Ownership and visibility: what "own" means for calls, tasks and notes.

The permission table (:mod:`cti.crm_store.rules.permissions`) says whether a role has a
resource's ``own`` records or ``all`` of them; these rules say which records are a user's
own. A call is an operator's when it rang or was answered on one of their extensions; a task
when it is assigned to them or to nobody (queue callbacks any agent may take); a note follows
what it is attached to (contacts, deals and tickets are everybody's, a call is as above) and
is changed only by its author. A *scope* is what a listing is limited to: None means
everything.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from cti.crm_store.rules.permissions import Scope, scope_of


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who reads or writes, and whether the table limits them to their own records for the
    action at hand (``own``); services take one and apply the rules below."""

    user_id: int
    extensions: tuple[str, ...] = ()
    own: bool = True

    @property
    def tasks(self) -> int | None:
        """The task scope: the user's id, or None for all tasks."""
        return self.user_id if self.own else None

    @property
    def calls(self) -> tuple[str, ...] | None:
        """The call scope: the user's extensions, or None for all calls."""
        return self.extensions if self.own else None


def sees_everything(role: str) -> bool:
    """Whether the table gives ``role`` every call (supervisors and managers)."""
    return scope_of(role, ("calls", "read")) is Scope.ALL


def may_see_task(scope: int | None, assignee_id: int | None) -> bool:
    """Within ``scope``: the user's own tasks and the unassigned ones."""
    return scope is None or assignee_id is None or assignee_id == scope


def may_assign_task(scope: int | None, assignee_id: int | None) -> bool:
    """A task created or reassigned within ``scope`` stays in it: an operator assigns to
    themselves or to nobody (a queue's), never to a colleague, whose work supervisors plan."""
    return may_see_task(scope, assignee_id)


def may_delete_task(scope: int | None, assignee_id: int | None) -> bool:
    """Within ``scope`` only the user's own tasks: an unassigned callback is a customer
    waiting for the queue, closed with a reason (``done``) rather than made to vanish."""
    return scope is None or assignee_id == scope


def may_see_call(scope: Collection[str] | None, agent: str | None, rung: Iterable[str]) -> bool:
    """Within ``scope``: a call answered on, or ringing, one of its extensions (``rung``:
    the extensions it rang, and those that had a part of it, a transfer's target)."""
    if scope is None:
        return True
    return agent in scope or any(ext in scope for ext in rung)


def may_see_note(scope: Collection[str] | None, call_parties: Iterable[str] | None) -> bool:
    """A note is seen where everything it is attached to is: its contact, deal and ticket by
    everyone, its call (``call_parties``: the extensions the call rang or was answered on;
    None when it is on no call) within the call ``scope``."""
    return call_parties is None or may_see_call(scope, None, call_parties)


def may_change_note(viewer: Viewer, author_id: int | None) -> bool:
    """Limited to their own, a user changes only the notes they wrote."""
    return not viewer.own or author_id == viewer.user_id
