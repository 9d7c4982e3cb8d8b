"""Walking a script: which question comes next, and whether an answer is one (pure).

The path is always recomputed from the first question over the answers given so far, so
changing an earlier answer re-routes the rest: answers left off the new path stay stored
but are not part of the survey (:func:`path`, and the results, ignore them). ``answers``
maps question id → normalised value (None: an optional question skipped); ``contact`` the
contact's fields (``first_name``, ``city`` …), empty when the caller is unknown.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from typing import Any

from cti.errors import ValidationError
from cti.surveys.script import END, Condition, Question, Script, key_matches

Answers = Mapping[str, Any]
Contact = Mapping[str, Any]
_YES = {"yes", "y", "true", "1", "da", "oui", "si"}
_NO = {"no", "n", "false", "0", "net", "non"}


def first_question(script: Script, contact: Contact) -> Question | None:
    """The opening question (None: a script without questions)."""
    return script.questions[0] if script.questions else None


def step(script: Script, question: Question, answers: Answers, contact: Contact) -> Question | None:
    """Where ``question``'s answer leads: its ``next`` map, then its branches in order,
    then its default (or the next question in the file); None at the end."""
    value = answers.get(question.id)
    target: str | None = None
    for key, goto in question.value_map.items():
        if value is not None and key_matches(key, value):
            target = goto
            break
    if target is None:
        for branch in question.branches:
            if all(holds(c, answers, contact) for c in branch.when):
                target = branch.goto
                break
    if target is None:
        target = question.default_target
    if target is None:
        at = script.questions.index(question)
        return script.questions[at + 1] if at + 1 < len(script.questions) else None
    return None if target == END else script.by_id[target]


def path(script: Script, answers: Answers, contact: Contact) -> list[Question]:
    """The answered questions on the route the answers take, in the order asked (what
    "back" steps through, and where a dropped survey stopped: right after the last)."""
    out: list[Question] = []
    question = first_question(script, contact)
    while question is not None and question.id in answers:
        out.append(question)
        question = step(script, question, answers, contact)
        if question is not None and question in out:  # the schema forbids loops; be safe
            break
    return out


def next_question(script: Script, answers: Answers, contact: Contact) -> Question | None:
    """The first question on the route not answered yet; None: the survey is done."""
    taken = path(script, answers, contact)
    if not taken:
        return first_question(script, contact)
    return step(script, taken[-1], answers, contact)


def holds(cond: Condition, answers: Answers, contact: Contact) -> bool:
    """Whether every test of ``cond`` holds for the answer or contact field it names."""
    if cond.question is not None:
        value = answers.get(cond.question)
    else:
        value = contact.get(cond.contact or "")
    if value == "":
        value = None
    if cond.answered is not None and (value is not None) != cond.answered:
        return False
    tests = (cond.equals, cond.not_equals, cond.in_, cond.lt, cond.lte, cond.gt, cond.gte)
    if all(t is None for t in (*tests, cond.contains)):
        return True
    if value is None:
        return False
    checks = [
        cond.equals is None or _same(value, cond.equals),
        cond.not_equals is None or not _same(value, cond.not_equals),
        cond.in_ is None or any(_same(value, v) for v in cond.in_),
        cond.contains is None or (isinstance(value, list) and cond.contains in value),
    ]
    number = _number(value)
    bounds = ((cond.lt, -1, False), (cond.lte, -1, True), (cond.gt, 1, False), (cond.gte, 1, True))
    for bound, side, equal_ok in bounds:
        if bound is not None:
            checks.append(number is not None and _compare(number, bound, side, equal_ok))
    return all(checks)


def _compare(number: float, bound: float, side: int, equal_ok: bool) -> bool:
    """``number`` below (side -1) or above (side 1) ``bound``, or equal when allowed."""
    if number == bound:
        return equal_ok
    return (number < bound) if side < 0 else (number > bound)


def _same(value: Any, wanted: Any) -> bool:
    if isinstance(value, bool) or isinstance(wanted, bool):
        return _as_bool(value) is not None and _as_bool(value) == _as_bool(wanted)
    left, right = _number(value), _number(wanted)
    if left is not None and right is not None:
        return left == right
    return str(value).strip().casefold() == str(wanted).strip().casefold()


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            out = float(value.strip())
        except ValueError:
            return None
        return out if math.isfinite(out) else None
    return None


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        low = value.strip().casefold()
        return True if low in _YES else False if low in _NO else None
    return None


# -- answers -----------------------------------------------------------------------------------


def _refuse(question: Question, reason: str) -> ValidationError:
    return ValidationError(
        f"answer to {question.id!r}: {reason}",
        details={"fields": {question.id: reason}, "question": question.id},
    )


def check_answer(question: Question, value: Any) -> Any:
    """``value`` as stored for ``question`` (yes/no → bool, a scale → int, a date → ISO
    text …); a :class:`~cti.errors.ValidationError` naming the question when it is none."""
    if value is None or value == "" or value == []:
        if question.required:
            raise _refuse(question, "an answer is required")
        return None
    match question.kind:
        case "yesno":
            flag = _as_bool(value)
            if flag is None:
                raise _refuse(question, "answer yes or no")
            return flag
        case "single":
            return _option(question, value)
        case "multi":
            items = value if isinstance(value, list) else [value]
            picked = {_option(question, v) for v in items}
            return [o for o in question.options if o in picked]
        case "scale" | "number":
            return _bounded(question, value)
        case "date":
            return _date(question, value)
        case _:
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                raise _refuse(question, "answer with text")
            text = str(value).strip()
            if len(text) > question.max_length:
                raise _refuse(question, f"at most {question.max_length} characters")
            if not text and question.required:
                raise _refuse(question, "an answer is required")
            return text or None


def _option(question: Question, value: Any) -> str:
    if isinstance(value, str | int) and not isinstance(value, bool):
        text = str(value).strip()
        for option in question.options:
            if option == text or option.casefold() == text.casefold():
                return option
    raise _refuse(question, f"not one of the options {list(question.options)}")


def _bounded(question: Question, value: Any) -> int | float:
    number = _number(value)
    if number is None:
        raise _refuse(question, "answer with a number")
    whole = question.kind == "scale" or question.integer
    if whole and not number.is_integer():
        raise _refuse(question, "answer with a whole number")
    if question.min is not None and number < question.min:
        raise _refuse(question, f"at least {_fmt(question.min)}")
    if question.max is not None and number > question.max:
        raise _refuse(question, f"at most {_fmt(question.max)}")
    return int(number) if whole or number.is_integer() else number


def _fmt(bound: float) -> str:
    return str(int(bound)) if bound.is_integer() else str(bound)


def _date(question: Question, value: Any) -> str:
    if not isinstance(value, str):
        raise _refuse(question, "answer with a date, YYYY-MM-DD")
    try:
        return date.fromisoformat(value.strip()[:10]).isoformat()
    except ValueError:
        raise _refuse(question, "answer with a date, YYYY-MM-DD") from None


def from_digits(question: Question, digits: str) -> Any:
    """Keypad input as an answer: the digit map's value, else the digits as a number
    (``check_answer`` then applies the bounds). A ValidationError when it is neither."""
    entered = digits.strip()
    if question.digits is not None:
        if entered not in question.digits:
            raise _refuse(question, f"no answer on key {entered!r}")
        return check_answer(question, question.digits[entered])
    if not entered.isdigit():
        raise _refuse(question, "enter digits")
    return check_answer(question, int(entered) if question.kind != "text" else entered)
