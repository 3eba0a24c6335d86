"""The result of one run of one method on one instance."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Any


class Status(enum.StrEnum):
    """How a run ended. The five cases never collapse into one another.

    ``INFEASIBLE`` means *proven* that no solution exists; ``NO_SOLUTION``
    means a limit was hit before any solution was found.
    """

    OPTIMAL = "OPTIMAL"
    FEASIBLE = "FEASIBLE"
    INFEASIBLE = "INFEASIBLE"
    NO_SOLUTION = "NO_SOLUTION"
    ERROR = "ERROR"

    def __str__(self) -> str:
        return self.value

    @property
    def has_solution(self) -> bool:
        """True for OPTIMAL and FEASIBLE."""
        return self in (Status.OPTIMAL, Status.FEASIBLE)


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """Relative optimality gap ``(objective - bound) / |objective|`` of a minimisation.

    Returns ``None`` when either value is unknown, ``0.0`` when they are equal
    (including both zero) and ``inf`` when the objective is zero but the bound
    is below it.
    """
    if objective is None or bound is None:
        return None
    diff = max(objective - bound, 0.0)
    if diff == 0:
        return 0.0
    if objective == 0:
        return math.inf
    return diff / abs(objective)


@dataclass(frozen=True)
class Outcome:
    """What a method hands back to :func:`schedforge.solve`.

    Methods do not time themselves, compute gaps or evaluate objectives: the
    shared wrapper does that once, with the independent evaluator.

    Parameters
    ----------
    solution
        The best solution found, or ``None``.
    status
        ``OPTIMAL`` only when optimality is proven; ``INFEASIBLE`` only when
        infeasibility is proven. Defaults to ``FEASIBLE`` with a solution and
        ``NO_SOLUTION`` without one.
    bound
        A valid lower bound on the optimum (minimisation), or ``None``.
    objective
        The objective the method believes its solution has. When given,
        ``solve()`` checks it against the independent evaluator.
    stats
        Method-specific counters (nodes, schedules generated, ...).
    """

    solution: Any = None
    status: Status | None = None
    bound: float | None = None
    objective: float | None = None
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Result:
    """The result of :func:`schedforge.solve`: status, objective, bound and more.

    Attributes
    ----------
    status
        See :class:`Status`.
    objective
        Objective value of ``solution`` by the problem's independent
        evaluator (always minimised), or ``None`` without a solution.
    bound
        A valid lower bound, or ``None`` when unknown (never a fake 0).
    gap
        ``(objective - bound) / |objective|``, or ``None``.
    solution
        The problem's solution object, or ``None``.
    runtime
        Wall-clock seconds on a monotonic clock, measured by ``solve()``.
    method
        The method spec that ran, e.g. ``"rule:edd"``.
    seed
        The seed the method was given.
    stats
        Method-specific statistics.
    problem
        The problem family name.
    instance
        The instance's name.
    """

    status: Status
    objective: float | None
    bound: float | None
    gap: float | None
    solution: Any
    runtime: float
    method: str
    seed: int
    stats: dict[str, Any] = field(default_factory=dict)
    problem: str = ""
    instance: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (the solution through its own ``to_dict``)."""
        return {
            "problem": self.problem,
            "instance": self.instance,
            "method": self.method,
            "seed": self.seed,
            "status": self.status.value,
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "runtime": self.runtime,
            "stats": self.stats,
            "solution": None if self.solution is None else self.solution.to_dict(),
        }
