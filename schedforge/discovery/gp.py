"""Genetic programming over expression trees of a template's features.

The model-free baseline of the discovery loop (Koza 1992; for dispatching
rules, Branke, Nguyen, Pickardt & Zhang 2016, "Automated design of
production scheduling heuristics: a review", IEEE TEVC 20(1)). A genome is a
JSON-ready nested list:

* ``["var", name]`` — a feature (an array or a scalar that broadcasts):
  an argument of the evolved function, or a *derived feature* of the
  template (:attr:`~schedforge.discovery.templates.Template.gp_terminals`,
  e.g. SMTT's slack ``d − p − t`` or the MDD key ``max(p, d − t)``), which
  the generated code computes first;
* ``["const", value]``;
* ``[op, child]`` for the unary operators :data:`UNARY`;
* ``[op, left, right]`` for the binary operators :data:`BINARY`.

Division is the *analytic quotient* ``a / sqrt(1 + b²)`` (Ni, Drieberg &
Rockett 2013, IEEE TEVC 17(4)), which is smooth and never divides by zero,
or the protected quotient ``a / (|b| + 1e-9)`` (``div``), exact for the
positive denominators of ratios such as ``p / (t + mean p)``.

Variation: subtree crossover, subtree, point and "nudge" mutation (add a
small multiple of a feature to the whole rule, so that a good seed such as
MDDC is refined rather than replaced), and constant tuning that perturbs
one or all constants by a relative step drawn at several scales, so that
both large moves and fine tuning happen.
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
    "div": "({a} / (np.abs({b}) + 1e-9))",
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
MAX_DEPTH = 9


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


def _names(genome: Genome) -> set[str]:
    if genome[0] == "var":
        return {str(genome[1])}
    if genome[0] == "const":
        return set()
    return set().union(*(_names(child) for child in genome[1:]))


def to_code(genome: Genome, template: Template) -> str:
    """Candidate source code for ``genome`` (always returns one value per candidate).

    The derived features the tree uses (and those they use) are computed
    first, in the template's order.
    """
    first_array = next(f.name for f in template.features if f.kind == "array")
    derived = dict(template.gp_terminals)
    needed = _names(genome) & set(derived)
    # Close over dependencies: a derived feature may use earlier ones.
    for name in reversed(list(derived)):
        if name in needed:
            needed |= {n for n in derived if n != name and _mentions(derived[name], n)}
    lines = [template.signature]
    lines += [f"    {name} = {expr}" for name, expr in derived.items() if name in needed]
    lines.append(f"    return np.zeros_like({first_array}) + {to_expression(genome)}")
    return "\n".join(lines) + "\n"


def _mentions(expression: str, name: str) -> bool:
    import re

    return re.search(rf"\b{re.escape(name)}\b", expression) is not None


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
        self.terminals = list(template.argument_names) + list(template.gp_terminals)

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
        """Subtree (60 %), point (20 %) or nudge (20 %) mutation."""
        roll = rng.random()
        if roll < 0.2:
            child = self.point(parent, rng)
            if child != parent:
                return child
        elif roll < 0.4 and depth(parent) < MAX_DEPTH:
            return self.nudge(parent, rng)
        for _ in range(10):
            path = rng.choice(_paths(parent))
            child = _replace(parent, path, self.random_tree(rng, rng.randint(1, 3)))
            if depth(child) <= MAX_DEPTH and child != parent:
                return child
        return self.tune(parent, rng)

    def point(self, parent: Genome, rng: random.Random) -> Genome:
        """Point mutation: one operator replaced by another of the same arity, or one feature."""
        path = rng.choice(_paths(parent))
        node = _get(parent, path)
        if node[0] == "var":
            return _replace(parent, path, ["var", rng.choice(self.terminals)])
        if node[0] in BINARY:
            return _replace(parent, path, [rng.choice(sorted(BINARY)), *node[1:]])
        if node[0] in UNARY:
            return _replace(parent, path, [rng.choice(sorted(UNARY)), *node[1:]])
        return self.tune(parent, rng)

    def nudge(self, parent: Genome, rng: random.Random) -> Genome:
        """``parent + c·x`` for a feature or small tree ``x`` and a small signed ``c``.

        ``c`` is log-uniform in [0.001, 1]: a rule that already works (a
        seed such as MDDC) is refined rather than replaced; tuning then
        adjusts ``c``.
        """
        term = self.random_tree(rng, rng.randint(1, 2))
        c = rng.choice((-1.0, 1.0)) * 10.0 ** rng.uniform(-3.0, 0.0)
        return ["add", parent, ["mul", ["const", round(c, 5)], term]]

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
        """Constant tuning: perturb one constant (70 %) or all, or scale a feature when none.

        The relative step is Gaussian with a standard deviation drawn from
        1 %, 5 % and 25 %, so that the search both jumps and fine-tunes; a
        zero constant moves by an absolute step of the same size.
        """
        consts = [p for p in _paths(parent) if _get(parent, p)[0] == "const"]
        if not consts:
            path = rng.choice([p for p in _paths(parent) if _get(parent, p)[0] == "var"])
            scaled = ["mul", ["const", round(rng.uniform(0.5, 2.0), 3)], _get(parent, path)]
            return _replace(parent, path, scaled) if depth(parent) < MAX_DEPTH else parent
        chosen = consts if rng.random() < 0.3 else [rng.choice(consts)]
        scale = rng.choice((0.01, 0.05, 0.25))
        child = parent
        for path in chosen:
            value = float(_get(child, path)[1])
            step = rng.gauss(0.0, scale) * (abs(value) if value else 1.0)
            child = _replace(child, path, ["const", float(f"{value + step:.6g}")])
        return child
