"""What "own" means: which calls, tasks and notes are a user's."""

from __future__ import annotations

from cti.crm_store.rules.visibility import (
    Viewer,
    may_assign_task,
    may_change_note,
    may_delete_task,
    may_see_call,
    may_see_note,
    may_see_task,
    sees_everything,
)


def test_supervisors_and_managers_see_every_call_operators_their_own() -> None:
    assert sees_everything("supervisor") and sees_everything("manager")
    assert not sees_everything("operator") and not sees_everything("intern")
    limited = Viewer(7, ("101", "102"), own=True)
    assert limited.tasks == 7 and limited.calls == ("101", "102")
    everything = Viewer(7, ("101",), own=False)
    assert everything.tasks is None and everything.calls is None


def test_an_operator_sees_their_own_tasks_and_the_unassigned_ones() -> None:
    assert may_see_task(7, 7) and may_see_task(7, None)
    assert not may_see_task(7, 8)
    assert may_see_task(None, 8)


def test_an_operator_assigns_to_themselves_or_nobody_and_deletes_only_their_own() -> None:
    assert may_assign_task(7, 7) and may_assign_task(7, None)
    assert not may_assign_task(7, 8)
    assert may_assign_task(None, 8) and may_assign_task(None, None)
    assert may_delete_task(7, 7)
    assert not may_delete_task(7, None)  # a queue's callback: closed, not deleted
    assert not may_delete_task(7, 8)
    assert may_delete_task(None, None) and may_delete_task(None, 8)


def test_an_operator_sees_the_calls_that_rang_or_were_answered_on_their_phones() -> None:
    assert may_see_call(("101",), "101", [])  # answered there
    assert may_see_call(("101",), None, ["102", "101"])  # rang there
    assert not may_see_call(("101",), "1010", ["10"])  # no prefix matches
    assert not may_see_call((), None, ["101"])
    assert may_see_call(None, None, [])


def test_a_note_follows_the_call_it_is_on() -> None:
    assert may_see_note(("101",), None)  # on a contact, deal or ticket only
    assert may_see_note(("101",), ["102", "101"])
    assert not may_see_note(("101",), ["102"])
    assert not may_see_note((), ["102"])
    assert may_see_note(None, ["102"])


def test_only_the_author_changes_a_note_unless_the_viewer_has_all_notes() -> None:
    assert may_change_note(Viewer(7), 7)
    assert not may_change_note(Viewer(7), 8)
    assert not may_change_note(Viewer(7), None)
    assert may_change_note(Viewer(7, own=False), 8)
