"""Who sees which calls, tasks and notes."""

from __future__ import annotations

from cti.crm_store.rules.visibility import (
    call_scope,
    may_change_note,
    may_see_call,
    may_see_task,
    sees_everything,
    task_scope,
)


def test_supervisors_and_managers_see_everything_operators_their_own() -> None:
    assert sees_everything("supervisor") and sees_everything("manager")
    assert not sees_everything("operator")
    assert task_scope(7, "operator") == 7 and task_scope(7, "manager") is None
    assert call_scope("operator", ["101", "102"]) == ("101", "102")
    assert call_scope("supervisor", ["101"]) is None


def test_an_operator_sees_their_own_tasks_and_the_unassigned_ones() -> None:
    assert may_see_task(7, 7) and may_see_task(7, None)
    assert not may_see_task(7, 8)
    assert may_see_task(None, 8)


def test_an_operator_sees_the_calls_that_rang_or_were_answered_on_their_phones() -> None:
    assert may_see_call(("101",), "101", [])  # answered there
    assert may_see_call(("101",), None, ["102", "101"])  # rang there
    assert not may_see_call(("101",), "1010", ["10"])  # no prefix matches
    assert not may_see_call((), None, ["101"])
    assert may_see_call(None, None, [])


def test_only_the_author_or_a_supervisor_changes_a_note() -> None:
    assert may_change_note("operator", 7, 7)
    assert not may_change_note("operator", 7, 8)
    assert not may_change_note("operator", 7, None)
    assert may_change_note("manager", 7, 8)
