"""Prompts in the style of Evolution of Heuristics (EoH, Liu et al., ICML 2024).

Four operators, each a chat prompt that shows the task, the parents' code
with their training gaps, and the reasons recent candidates were rejected:

``new``
    EoH's E1: a heuristic different from the ones shown.
``crossover``
    E2: combine the ideas of two parents.
``mutation``
    M1: modify one parent to improve it.
``tune``
    M3: keep a parent's structure, change its numeric parameters.

:func:`extract_code` takes the code back out of the answer (a fenced block,
or bare code), or ``None`` when the answer has none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from schedforge.discovery.guard import ALLOWED_MATH, ALLOWED_NUMPY, ARRAY_ATTRS, SAFE_BUILTINS
from schedforge.discovery.templates import Template

OPERATORS = ("new", "crossover", "mutation", "tune")

_INSTRUCTIONS = {
    "new": "Write a NEW priority function whose idea differs from the ones above.",
    "crossover": (
        "Write a new function that combines the best ideas of the two functions above "
        "and improves on both."
    ),
    "mutation": "Modify the function above to lower its gap: change its logic, not only numbers.",
    "tune": (
        "Keep the structure of the function above and only change its numeric parameters "
        "to lower its gap."
    ),
}


@dataclass(frozen=True)
class Parent:
    """A parent shown in a prompt (an archived candidate)."""

    id: int
    code: str
    gap: float
    genome: Any = None


@dataclass(frozen=True)
class Request:
    """What the evolution loop asks a proposer for.

    Parameters
    ----------
    operator
        One of :data:`OPERATORS`.
    parents
        The parents (none or some for ``new``, two for ``crossover``, one otherwise).
    feedback
        Recent rejection messages, shown to the model.
    seed
        A per-request seed (GP and the model's ``seed`` parameter).
    ordinal
        Position of this request in the run (0, 1, ...), used by replay.
    """

    operator: str
    parents: tuple[Parent, ...] = ()
    feedback: tuple[str, ...] = ()
    seed: int = 0
    ordinal: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def allow_list_text() -> str:
    """The sandbox's allow-list in a few lines, for the model (from the lists it checks)."""

    def names(items: Any) -> str:
        return ", ".join(sorted(items))

    return "\n".join(
        [
            "Rules (checked before the code runs; anything else is rejected):",
            "- Only the one function with the signature above: no imports (np and math are "
            "provided), no other functions, lambdas, classes, while, try, with or global.",
            "- Names: the arguments, your local variables, np, math, True, False, None and "
            f"the built-ins {names(SAFE_BUILTINS)}.",
            f"- np.NAME for: {names(ALLOWED_NUMPY)}.",
            f"- math.NAME for: {names(ALLOWED_MATH)}.",
            f"- Array methods and attributes: {names(ARRAY_ATTRS)}.",
            "- Loops: for ... in range(...), enumerate(...), zip(...) or an array.",
            "- Write only into your own arrays (x = np.zeros(len(p)); x[i] = ...): never into "
            "the arguments (copy first: a = p.copy()), never to attributes, no out=.",
        ]
    )


def system_message(template: Template) -> str:
    """The task for the model: problem, signature, features, rules and answer format."""
    return (
        "You design scheduling heuristics as Python functions.\n\n"
        + template.prompt_text()
        + "\n\n"
        + allow_list_text()
        + "\n\nAnswer with ONE short sentence describing the idea, then the complete "
        "function in a single ```python fenced code block. Nothing else."
    )


def user_message(template: Template, request: Request) -> str:
    """The operator's prompt: parents with their gaps, feedback, instruction."""
    parts: list[str] = []
    for k, parent in enumerate(request.parents, start=1):
        parts.append(
            f"Function {k} (mean gap to the optimum on the training set: {parent.gap:.3f} %):\n"
            f"```python\n{parent.code.strip()}\n```"
        )
    if request.feedback:
        parts.append(
            "Recent candidates were rejected for these reasons; avoid them:\n"
            + "\n".join(f"- {msg}" for msg in request.feedback)
        )
    parts.append(_INSTRUCTIONS[request.operator])
    parts.append(f"Keep the signature exactly: {template.signature}")
    return "\n\n".join(parts)


def build_messages(template: Template, request: Request) -> list[dict[str, str]]:
    """Chat-completions messages for ``request``."""
    return [
        {"role": "system", "content": system_message(template)},
        {"role": "user", "content": user_message(template, request)},
    ]


_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)```", re.DOTALL)


def extract_code(text: str | None, function_name: str) -> str | None:
    """The candidate's code from a model answer, or ``None`` when there is none.

    Prefers a fenced block that defines ``function_name``; otherwise takes the
    answer from the line ``def function_name(`` on (models sometimes omit
    the fences).
    """
    if not text:
        return None
    marker = f"def {function_name}("
    for _lang, body in _FENCE.findall(text):
        if marker in body:
            return body.strip() + "\n"
    start = text.find(marker)
    if start < 0:
        return None
    line_start = text.rfind("\n", 0, start) + 1
    return text[line_start:].split("```")[0].rstrip() + "\n"
