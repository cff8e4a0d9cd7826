"""A task kind's page, generated from the task table (casework/tasks.py): every outcome a
person may record is a radio, with the fields of its details model as conditional
questions (type, required or optional, hint). A kind added to the table gets its page
with no template written. Pure: the table in, field descriptions and details out.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Union, get_args, get_origin

from annotated_types import MaxLen
from pydantic import ValidationError
from pydantic.fields import FieldInfo

from casework.tasks import TASK_KINDS, TaskKind

#: A text longer than this is asked for in a textarea.
LONG_TEXT = 200


@dataclass(frozen=True)
class Question:
    """One field of an outcome's details, as the page asks it."""

    outcome: str
    name: str
    label: str
    #: "text", "textarea", "yesno" or "date".
    widget: str
    required: bool
    hint: str

    @property
    def id(self) -> str:
        """The element's ID (the error summary links to it; a date's first box)."""
        return f"{self.outcome}-{self.name}" + ("-day" if self.widget == "date" else "")

    @property
    def input_name(self) -> str:
        return f"{self.outcome}-{self.name}"


@dataclass(frozen=True)
class Choice:
    outcome: str
    label: str
    questions: tuple[Question, ...]
    #: R30/R61: why this outcome needs disclosable convictions, if it does.
    needs_disclosable: str | None = None


@dataclass(frozen=True)
class TaskForm:
    kind: str
    title: str
    rules: tuple[str, ...]
    choices: tuple[Choice, ...]


def _words(name: str) -> str:
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """The type inside ``X | None`` and whether None was allowed."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return (args[0] if len(args) == 1 else annotation), True
    return annotation, False


def _max_len(info: FieldInfo, inner: Any) -> int | None:
    metadata = list(info.metadata) + list(getattr(inner, "__metadata__", ()))
    for m in metadata:
        if isinstance(m, MaxLen):
            return m.max_length
        length = getattr(m, "max_length", None)
        if isinstance(length, int):
            return length
    return None


def _question(outcome: str, name: str, info: FieldInfo) -> Question:
    inner, optional = _unwrap(info.annotation)
    base = get_args(inner)[0] if get_origin(inner) is not None and hasattr(inner, "__metadata__") else inner
    required = info.is_required()
    label = info.title or _words(name)
    if base is bool:
        return Question(outcome, name, label, "yesno", required, info.description or "")
    if base is date:
        return Question(outcome, name, label, "date", required, info.description or "For example, 27 3 2026")
    longest = _max_len(info, inner)
    patterned = any(getattr(m, "pattern", None) for m in (*info.metadata, *getattr(inner, "__metadata__", ())))
    widget = "text" if patterned or (longest is not None and longest <= LONG_TEXT) else "textarea"
    hint = info.description or ("Do not include a person's name or other personal details" if widget == "textarea" else "")
    return Question(outcome, name, label, widget, required and not optional, hint)


def form_for(spec: TaskKind) -> TaskForm:
    choices = []
    for outcome in spec.outcomes:
        model = spec.details.get(outcome)
        if model is None:
            continue  # settled by a message only
        questions = tuple(_question(str(outcome), n, f) for n, f in model.model_fields.items())
        choices.append(Choice(str(outcome), _words(str(outcome)), questions, spec.needs_disclosable.get(outcome)))
    return TaskForm(spec.name, spec.title, spec.rules, tuple(choices))


def form_of(kind: str) -> TaskForm | None:
    spec = TASK_KINDS.get(kind)
    return None if spec is None else form_for(spec)


@dataclass
class Answer:
    """What a person sent: the outcome, the details it makes, and field errors (element
    ID to message) found before the case is asked."""

    outcome: str | None
    details: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def read_answer(form: TaskForm, values: dict[str, str]) -> Answer:
    """The details of the chosen outcome, from the form's values (names ``outcome-field``)."""
    outcome = values.get("outcome") or None
    choice = next((c for c in form.choices if c.outcome == outcome), None)
    if choice is None:
        return Answer(None, errors={outcome_id(form): "Select the outcome of this task"})
    answer = Answer(outcome)
    for q in choice.questions:
        if q.widget == "date":
            parts = [values.get(f"{q.input_name}-{p}", "").strip() for p in ("day", "month", "year")]
            if not any(parts):
                if q.required:
                    answer.errors[q.id] = f"Enter the {q.label.lower()}"
                continue
            try:
                answer.details[q.name] = date(int(parts[2]), int(parts[1]), int(parts[0])).isoformat()
            except ValueError:
                answer.errors[q.id] = f"{q.label} must be a real date"
            continue
        raw = values.get(q.input_name, "").strip()
        if q.widget == "yesno":
            if raw in ("yes", "no"):
                answer.details[q.name] = raw == "yes"
            elif q.required:
                answer.errors[q.id] = f"Select yes if {q.label.lower()}"
            continue
        if raw:
            answer.details[q.name] = raw
        elif q.required:
            answer.errors[q.id] = f"Enter {q.label.lower()}"
    if not answer.errors:
        spec = TASK_KINDS[form.kind]
        try:
            spec.details[outcome].model_validate(answer.details)  # type: ignore[index]
        except ValidationError as err:
            for e in err.errors():
                name = str(e["loc"][0]) if e["loc"] else ""
                q = next((q for q in choice.questions if q.name == name), None)
                label = q.label if q else _words(name)
                if e["type"] == "string_pattern_mismatch":
                    text = f"{label} is not in the right form" + (f": {q.hint[0].lower()}{q.hint[1:]}" if q and q.hint else "")
                elif e["type"] == "string_too_long":
                    text = f"{label} must be {e['ctx']['max_length']} characters or fewer"
                else:
                    text = f"{label}: {e['msg']}"
                answer.errors[q.id if q else outcome_id(form, outcome)] = text
    return answer


def outcome_id(form: TaskForm, outcome: str | None = None) -> str:
    """The element ID of an outcome's radio (the first outcome's when none was chosen)."""
    chosen = outcome or (form.choices[0].outcome if form.choices else "none")
    return f"outcome-{chosen}"


def field_of_refusal(form: TaskForm, outcome: str | None, text: str) -> str:
    """The element a case's refusal is about: a detail it names (``details.x``), else the
    outcome's radios."""
    choice = next((c for c in form.choices if c.outcome == outcome), None)
    if choice is not None:
        for q in choice.questions:
            if f"details.{q.name}" in text or f"'{q.name}'" in text:
                return q.id
        return outcome_id(form, choice.outcome)
    return outcome_id(form)
