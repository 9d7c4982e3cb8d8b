"""The permission table as data: its shape, its decisions, and how it renders."""

from __future__ import annotations

from typing import get_args

import pytest

from cti.crm_store.rules.permissions import (
    ROLES,
    RULES,
    TABLE,
    Scope,
    markdown,
    may_manage_account,
    rule_for,
    scope_of,
)
from cti.crm_store.schemas.users import Role

_RANK = {Scope.NONE: 0, Scope.OWN: 1, Scope.ALL: 2}


def test_one_rule_per_resource_and_action_for_the_roles_users_have() -> None:
    assert len(TABLE) == len(RULES)
    assert get_args(Role) == ROLES
    with pytest.raises(KeyError):
        rule_for(("contacts", "approve"))  # type: ignore[arg-type]


def test_a_role_the_table_does_not_know_may_do_nothing() -> None:
    assert {scope_of("intern", rule.perm) for rule in RULES} == {Scope.NONE}


def test_each_role_may_do_at_least_what_the_one_below_may() -> None:
    for rule in RULES:
        ranks = [_RANK[rule.scope(role)] for role in ROLES]
        assert ranks == sorted(ranks), rule.perm


def test_managers_may_do_everything_and_public_rules_are_open_to_all() -> None:
    assert all(scope_of("manager", rule.perm) is not Scope.NONE for rule in RULES)
    for rule in RULES:
        if rule.public:
            assert {rule.scope(role) for role in ROLES} == {Scope.ALL}, rule.perm


def test_operators_work_records_but_delete_none_and_manage_no_users() -> None:
    for resource in ("contacts", "companies", "deals", "tickets"):
        for action in ("read", "create", "edit"):
            assert scope_of("operator", (resource, action)) is Scope.ALL
        assert scope_of("operator", (resource, "delete")) is Scope.NONE
    assert scope_of("supervisor", ("tickets", "delete")) is Scope.ALL
    assert scope_of("supervisor", ("contacts", "delete")) is Scope.NONE
    users = [rule for rule in RULES if rule.resource == "users"]
    assert users and all(rule.operator is Scope.NONE for rule in users)
    for resource in ("tasks", "notes", "calls"):
        assert {r.operator for r in RULES if r.resource == resource} == {Scope.OWN}


def test_every_own_scope_says_what_own_means() -> None:
    for rule in RULES:
        if Scope.OWN in (rule.operator, rule.supervisor, rule.manager):
            assert "own" in rule.note, rule.perm


def test_only_a_manager_manages_manager_accounts() -> None:
    assert may_manage_account("manager", "manager", "operator")
    assert may_manage_account("supervisor", "operator", None)
    assert not may_manage_account("supervisor", "manager")
    assert not may_manage_account("supervisor", None, "manager")


def test_markdown_has_a_row_per_rule_with_its_routes() -> None:
    table = markdown({("notes", "read"): ["GET /api/notes"]})
    lines = table.splitlines()
    assert len(lines) == 2 + len(RULES)
    assert "| notes | read | own | all | all | 401 | `GET /api/notes` |" in table
    assert "| session | create | all | all | all | all | — |" in table
    assert "| contacts | delete | — | — | all | 401 | — |" in table
