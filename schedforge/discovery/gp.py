"""Genetic programming over expression trees of a template's features.

The model-free baseline of the discovery loop (Koza 1992; for dispatching
rules, Branke, Nguyen, Pickardt & Zhang 2016, "Automated design of
production scheduling heuristics: a review", IEEE TEVC 20(1)). A genome is a
JSON-ready nested list:

* ``["var", name]`` — a feature (an array or a scalar that broadcasts);
* ``["const", value]``;
* ``[op, child]`` for the unary operators :data:`UNARY`;
* ``[op, left, right]`` for the binary operators :data:`BINARY`.

Division is the *analytic quotient* ``a / sqrt(1 + b²)`` (Ni, Drieberg &
Rockett 2013, IEEE TEVC 17(4)), which is smooth and never divides by zero.
A genome becomes ordinary candidate code with :func:`to_code`, so GP
candidates go through the same sandbox as a language model's.
"""

from __future__ import annotations

import random
from typing import Any

from schedforge.discovery.templates import Template

Genome = list[Any]

BINARY = {
    "add": "({a} + {b})",
    "sub": "({a} - {b})",
    "mul": "({a} * {b})",
    "aq": "({a} / np.sqrt(1.0 + {b} * {b}))",
    "max": "np.maximum({a}, {b})",
    "min": "np.minimum({a}, {b})",
}
UNARY = {
    "neg": "(-{a})",
    "sqrt": "np.sqrt(np.abs({a}))",
    "log": "np.log1p(np.abs({a}))",
    "square": "({a} * {a})",
    "decay": "np.exp(-np.abs({a}))",
    "amax": "np.max({a})",
    "amean": "np.mean({a})",
}
MAX_DEPTH = 7


def depth(genome: Genome) -> int:
    """Depth of a tree (a leaf has depth 1)."""
    if genome[0] in ("var", "const"):
        return 1
    return 1 + max(depth(child) for child in genome[1:])


def to_expression(genome: Genome) -> str:
    """The NumPy expression of a tree."""
    head = genome[0]
    if head == "var":
        return str(genome[1])
    if head == "const":
        return repr(float(genome[1]))
    if head in UNARY:
        return UNARY[head].format(a=to_expression(genome[1]))
    if head in BINARY:
        return BINARY[head].format(a=to_expression(genome[1]), b=to_expression(genome[2]))
    raise ValueError(f"unknown GP node {head!r}")


def to_code(genome: Genome, template: Template) -> str:
    """Candidate source code for ``genome`` (always returns one value per candidate)."""
    first_array = next(f.name for f in template.features if f.kind == "array")
    return (
        f"{template.signature}\n    return np.zeros_like({first_array}) + {to_expression(genome)}\n"
    )


def _paths(genome: Genome, path: tuple[int, ...] = ()) -> list[tuple[int, ...]]:
    """Every subtree position, as index paths from the root."""
    found = [path]
    if genome[0] not in ("var", "const"):
        for k, child in enumerate(genome[1:], start=1):
            found += _paths(child, (*path, k))
    return found


def _get(genome: Genome, path: tuple[int, ...]) -> Genome:
    for k in path:
        genome = genome[k]
    return genome


def _replace(genome: Genome, path: tuple[int, ...], new: Genome) -> Genome:
    if not path:
        return new
    copy = list(genome)
    copy[path[0]] = _replace(genome[path[0]], path[1:], new)
    return copy


class GPGenerator:
    """Random trees and the variation operators, over one template's features.

    Parameters
    ----------
    template
        Gives the terminals (its feature names).
    """

    def __init__(self, template: Template):
        self.template = template
        self.terminals = list(template.argument_names)

    def leaf(self, rng: random.Random) -> Genome:
        """A feature (70 %) or a constant."""
        if rng.random() < 0.7:
            return ["var", rng.choice(self.terminals)]
        return ["const", round(rng.uniform(-2.0, 2.0), 3)]

    def random_tree(self, rng: random.Random, max_depth: int) -> Genome:
        """A tree of depth at most ``max_depth`` ("grow" method, Koza 1992)."""
        if max_depth <= 1 or rng.random() < 0.3:
            return self.leaf(rng)
        if rng.random() < 0.25:
            return [rng.choice(sorted(UNARY)), self.random_tree(rng, max_depth - 1)]
        op = rng.choice(sorted(BINARY))
        return [op, self.random_tree(rng, max_depth - 1), self.random_tree(rng, max_depth - 1)]

    def new(self, rng: random.Random) -> Genome:
        """A fresh random tree of depth 2 to 4, always with at least one array feature."""
        arrays = [f.name for f in self.template.features if f.kind == "array"]
        tree = self.random_tree(rng, rng.randint(2, 4))
        return ["add", tree, ["mul", ["const", 0.0], ["var", rng.choice(arrays)]]]

    def mutate(self, parent: Genome, rng: random.Random) -> Genome:
        """Subtree mutation: a random subtree replaced by a new random tree."""
        for _ in range(10):
            path = rng.choice(_paths(parent))
            child = _replace(parent, path, self.random_tree(rng, rng.randint(1, 3)))
            if depth(child) <= MAX_DEPTH and child != parent:
                return child
        return self.tune(parent, rng)

    def crossover(self, first: Genome, second: Genome, rng: random.Random) -> Genome:
        """Subtree crossover: a subtree of ``first`` replaced by one of ``second``."""
        for _ in range(10):
            child = _replace(
                first, rng.choice(_paths(first)), _get(second, rng.choice(_paths(second)))
            )
            if depth(child) <= MAX_DEPTH:
                return child
        return self.mutate(first, rng)

    def tune(self, parent: Genome, rng: random.Random) -> Genome:
        """Parameter tuning: perturb the constants, or scale a feature when there is none."""
        consts = [p for p in _paths(parent) if _get(parent, p)[0] == "const"]
        if not consts:
            path = rng.choice([p for p in _paths(parent) if _get(parent, p)[0] == "var"])
            scaled = ["mul", ["const", round(rng.uniform(0.5, 2.0), 3)], _get(parent, path)]
            return _replace(parent, path, scaled) if depth(parent) < MAX_DEPTH else parent
        child = parent
        for path in consts:
            if rng.random() < 0.5 or len(consts) == 1:
                value = float(_get(child, path)[1])
                step = rng.gauss(0.0, 0.3) * (abs(value) if value else 1.0)
                child = _replace(child, path, ["const", round(value + step, 4)])
        return child
