"""A script's checks beyond its fields: ids, ``next`` keys, digit maps, targets,
reachability, loops and what a condition may look at. Each problem is (field path, reason),
the path as the file spells it (``questions[2].branches[0].goto``)."""

from __future__ import annotations

from collections.abc import Mapping

from cti.errors import ValidationError
from cti.surveys.flow import check_answer
from cti.surveys.script import END, RANGE, Question, Script

Problem = tuple[str, str]  # (field path, reason)


def targets(script: Script, index: int) -> list[tuple[str, str]]:
    """Every (field path, target) question ``index`` may go to; the implicit default too."""
    q = script.questions[index]
    here = f"questions[{index}]"
    out = [(f"{here}.next.{key}", target) for key, target in q.value_map.items()]
    out += [(f"{here}.branches[{i}].goto", b.goto) for i, b in enumerate(q.branches)]
    default = q.default_target
    if default is not None:
        field = "next" if isinstance(q.next, str) else "default_next"
        out.append((f"{here}.{field}", default))
    else:
        following = script.questions[index + 1].id if index + 1 < len(script.questions) else END
        out.append((f"{here} (the next question in the file)", following))
    return out


def graph_problems(script: Script) -> list[Problem]:
    """What is wrong with the script as a graph: ids, targets, keys, reachability, loops."""
    problems: list[Problem] = []
    index = {q.id: i for i, q in enumerate(script.questions)}
    seen: set[str] = set()
    for i, q in enumerate(script.questions):
        if q.id in seen or q.id == END:
            reason = "repeats an earlier id" if q.id in seen else f"{END!r} is reserved"
            problems.append((f"questions[{i}].id", f"{reason} ({q.id!r})"))
        seen.add(q.id)
        problems += _key_problems(i, q)
        problems += _digit_problems(i, q)
    if problems:
        return problems
    edges: dict[str, list[str]] = {}
    for i, q in enumerate(script.questions):
        edges[q.id] = []
        for where, target in targets(script, i):
            if target != END and target not in index:
                problems.append((where, f"unknown question {target!r}"))
            elif target != END:
                edges[q.id].append(target)
    if problems or not script.questions:
        return problems
    problems += _loops(script, edges, index)
    if problems:
        return problems
    reachable = _reach(script.questions[0].id, edges)
    for i, q in enumerate(script.questions):
        if q.id not in reachable:
            problems.append((f"questions[{i}]", f"unreachable: no path leads to {q.id!r}"))
    problems += _condition_problems(script, edges)
    return problems


def _key_problems(i: int, q: Question) -> list[Problem]:
    allowed: list[str] | None = None
    if q.kind == "yesno":
        allowed = ["yes", "no"]
    elif q.kind == "single":
        allowed = list(q.options)
    out: list[Problem] = []
    for key in q.value_map:
        ranged = q.kind in ("scale", "number") and (RANGE.match(key) or _is_number(key))
        if not ranged and (allowed is None or key not in allowed):
            expect = f"one of {allowed}" if allowed else "a number or a range such as 0-6"
            out.append((f"questions[{i}].next.{key}", f"not an answer of {q.id!r}: {expect}"))
    if q.kind == "multi" and q.value_map:
        out.append((f"questions[{i}].next", "a multi question branches with conditions"))
    return out


def _digit_problems(i: int, q: Question) -> list[Problem]:
    """Each key of a digit map must give an answer the question takes."""
    out: list[Problem] = []
    for key, value in (q.digits or {}).items():
        try:
            check_answer(q, value)
        except ValidationError as exc:
            reason = exc.details["fields"][q.id]
            out.append((f"questions[{i}].digits.{key}", f"{value!r} is no answer: {reason}"))
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _reach(start: str, edges: Mapping[str, list[str]]) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _loops(
    script: Script, edges: Mapping[str, list[str]], index: Mapping[str, int]
) -> list[Problem]:
    """The first cycle found, as ``a → b → a``, at the edge that closes it."""
    state: dict[str, int] = {}  # 1: on the stack, 2: done

    def visit(node: str, stack: list[str]) -> Problem | None:
        state[node] = 1
        stack.append(node)
        for i, nxt in enumerate(edges[node]):
            if state.get(nxt) == 1:
                cycle = " → ".join([*stack[stack.index(nxt) :], nxt])
                where = targets(script, index[node])[i][0]
                return (where, f"loop: {cycle}")
            if nxt not in state:
                found = visit(nxt, stack)
                if found is not None:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for q in script.questions:
        if q.id not in state:
            found = visit(q.id, [])
            if found is not None:
                return [found]
    return []


def _condition_problems(script: Script, edges: Mapping[str, list[str]]) -> list[Problem]:
    """A condition may look at its own question or one that can come before it."""
    out: list[Problem] = []
    for i, q in enumerate(script.questions):
        for b, branch in enumerate(q.branches):
            for c, cond in enumerate(branch.when):
                if cond.question is None or cond.question == q.id:
                    continue
                where = f"questions[{i}].branches[{b}].when[{c}].question"
                if cond.question not in edges:
                    out.append((where, f"unknown question {cond.question!r}"))
                elif q.id not in _reach(cond.question, edges):
                    out.append((where, f"{cond.question!r} is never asked before {q.id!r}"))
    return out
