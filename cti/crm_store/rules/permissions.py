"""Who may do what: the permission table, role × resource × action → scope.

Every route of the application declares the (resource, action) it performs; one check
(:mod:`cti.web.access`) looks the caller's role up here before the handler runs. A scope is
``none`` (403), ``all`` (every record), or ``own``: the records the visibility rules
(:mod:`cti.crm_store.rules.visibility`) give the user, applied by the services and
repositories. A *public* rule needs no token at all (logging in, the page itself).

``docs/permissions.md`` holds this table as :func:`markdown` renders it (a test keeps the
two equal), and the reasons behind it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, get_args

Role = Literal["operator", "supervisor", "manager"]
ROLES: tuple[Role, ...] = get_args(Role)
Resource = Literal[
    "contacts",
    "companies",
    "deals",
    "tickets",
    "comments",
    "tasks",
    "notes",
    "calls",
    "users",
    "session",
    "lookup",
    "pops",
    "dial",
    "pages",
    "apidoc",
    "campaigns",
    "dnc",
    "agent",
    "surveys",
    "survey_results",
    "exports",
    "downloads",
    "reports",
    "agentreports",
]
Action = Literal["read", "create", "edit", "delete"]
#: what a route does: (resource, action)
Perm = tuple[Resource, Action]


class Scope(StrEnum):
    NONE = "none"
    OWN = "own"
    ALL = "all"


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the table: the scope each role has for one action on one resource."""

    resource: Resource
    action: Action
    operator: Scope
    supervisor: Scope
    manager: Scope
    note: str = ""
    #: anyone may, without a token (then every role has ``all``)
    public: bool = False

    @property
    def perm(self) -> Perm:
        return (self.resource, self.action)

    def scope(self, role: str) -> Scope:
        """The scope of ``role``; a role the table does not know gets nothing."""
        match role:
            case "operator":
                return self.operator
            case "supervisor":
                return self.supervisor
            case "manager":
                return self.manager
        return Scope.NONE


_N, _O, _A = Scope.NONE, Scope.OWN, Scope.ALL
_CUSTOMER = "customer data: a delete cascades (phones, notes) and cannot be undone"

RULES: tuple[Rule, ...] = (
    Rule("contacts", "read", _A, _A, _A),
    Rule("contacts", "create", _A, _A, _A),
    Rule("contacts", "edit", _A, _A, _A),
    Rule("contacts", "delete", _N, _N, _A, _CUSTOMER),
    Rule("companies", "read", _A, _A, _A),
    Rule("companies", "create", _A, _A, _A),
    Rule("companies", "edit", _A, _A, _A),
    Rule("companies", "delete", _N, _N, _A, _CUSTOMER),
    Rule("deals", "read", _A, _A, _A, "and the pipeline's stages"),
    Rule("deals", "create", _A, _A, _A),
    Rule("deals", "edit", _A, _A, _A, "stage, amount, won/lost"),
    Rule("deals", "delete", _N, _N, _A, "the pipeline's figures are the manager's"),
    Rule("tickets", "read", _A, _A, _A),
    Rule("tickets", "create", _A, _A, _A),
    Rule("tickets", "edit", _A, _A, _A, "status, priority, assignee"),
    Rule("tickets", "delete", _N, _A, _A, "duplicates and spam: queue upkeep"),
    Rule("comments", "read", _A, _A, _A, "a ticket's comments"),
    Rule("comments", "create", _A, _A, _A),
    Rule("tasks", "read", _O, _A, _A, "own: assigned to them, or to nobody (a queue's)"),
    Rule("tasks", "create", _O, _A, _A, "own: assigned to themselves or to nobody"),
    Rule("tasks", "edit", _O, _A, _A, "own: as read; taken or given back, never handed on"),
    Rule("tasks", "delete", _O, _A, _A, "own: assigned to them (a queue's callback is closed)"),
    Rule("notes", "read", _O, _A, _A, "own: on records they may see (a call: see calls)"),
    Rule("notes", "create", _O, _A, _A, "own: on records they may see"),
    Rule("notes", "edit", _O, _A, _A, "own: written by them, on records they may see"),
    Rule("notes", "delete", _O, _A, _A, "own: written by them, on records they may see"),
    Rule("calls", "read", _O, _A, _A, "own: rang or answered on their extensions"),
    Rule("calls", "edit", _O, _A, _A, "the disposition; own: as read"),
    Rule("users", "read", _N, _A, _A),
    Rule("users", "create", _N, _A, _A, "manager accounts: managers only"),
    Rule("users", "edit", _N, _A, _A, "manager accounts and the manager role: managers only"),
    Rule("session", "create", _A, _A, _A, "logging in", public=True),
    Rule("session", "read", _O, _O, _O, "who am I: own: their account"),
    Rule("session", "delete", _O, _O, _O, "logging out: own: the token used"),
    Rule("lookup", "read", _A, _A, _A, "who owns this number"),
    Rule("pops", "read", _O, _A, _A, "the live feed; own: their calls; all: may watch every call"),
    Rule("dial", "create", _O, _O, _O, "click-to-dial: own: from their own extensions"),
    Rule("pages", "read", _A, _A, _A, "the page and its assets (its data: the API)", public=True),
    Rule("apidoc", "read", _A, _A, _A, "the OpenAPI description"),
    Rule("campaigns", "read", _A, _A, _A, "definitions, progress, lists (operators join them)"),
    Rule("campaigns", "create", _N, _A, _A, "load a definition (a new version if it exists)"),
    Rule("campaigns", "edit", _N, _A, _A, "start, pause, resume, stop; import lists; recycle"),
    Rule("dnc", "read", _N, _A, _A, "do-not-call lists"),
    Rule("dnc", "create", _A, _A, _A, "a person asked not to be called: anyone who hears it"),
    Rule("dnc", "delete", _N, _A, _A, "taking a number off: supervisors"),
    Rule("agent", "read", _O, _O, _O, "own: my campaign and state"),
    Rule("agent", "edit", _O, _O, _O, "own: join, pause, leave, my calls' dispositions"),
    Rule("surveys", "read", _O, _A, _A, "a call's survey; own: the ones they started"),
    Rule("surveys", "create", _O, _A, _A, "start or resume; own: on a call that rang on them"),
    Rule("surveys", "edit", _O, _A, _A, "answer, change, finish; own: the ones they started"),
    Rule("survey_results", "read", _N, _A, _A, "results per question, the raw-answer CSV"),
    Rule("exports", "create", _O, _A, _A, "a download link; own: the calls they may see"),
    Rule(
        "downloads",
        "read",
        _A,
        _A,
        _A,
        "a single-use link from an export: the link is the key, its maker's visibility applies",
        public=True,
    ),
    Rule("reports", "read", _N, _A, _A, "queues, callbacks, heat map, campaigns, SLA"),
    Rule("agentreports", "read", _O, _A, _A, "the agents report; own: their extensions"),
)
TABLE: dict[Perm, Rule] = {rule.perm: rule for rule in RULES}


def rule_for(perm: Perm) -> Rule:
    """The rule of ``perm``; one the table lacks is a programming error (KeyError)."""
    return TABLE[perm]


def scope_of(role: str, perm: Perm) -> Scope:
    """The scope ``role`` has for ``perm``: ``none`` means 403."""
    return TABLE[perm].scope(role)


def may_manage_account(actor_role: str, *roles: str | None) -> bool:
    """Whether ``actor_role`` may create or change an account that is, or becomes, one of
    ``roles``: only a manager makes, changes or grants a manager (a supervisor cannot make
    themselves, or anyone, the manager of the place)."""
    return actor_role == "manager" or "manager" not in roles


_SHOWN = {Scope.NONE: "—", Scope.OWN: "own", Scope.ALL: "all"}


def markdown(routes: Mapping[Perm, Sequence[str]]) -> str:
    """The table as docs/permissions.md shows it; ``routes``: the routes of each rule."""
    head = "| resource | action | operator | supervisor | manager | anonymous | routes | note |"
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for rule in RULES:
        scopes = [_SHOWN[rule.scope(role)] for role in ROLES]
        anonymous = "all" if rule.public else "401"
        where = "<br>".join(f"`{r}`" for r in routes.get(rule.perm, ())) or "—"
        cells = [rule.resource, rule.action, *scopes, anonymous, where, rule.note]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
