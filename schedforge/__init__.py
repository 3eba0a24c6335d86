"""schedforge: scheduling optimisation behind one ``solve()``.

>>> import schedforge as sf
>>> inst = sf.generate("smtt", jobs=10, seed=0)
>>> res = sf.solve(inst, "rule:edd")
>>> res.status.has_solution
True
"""

from schedforge.benchsets import dataset, datasets
from schedforge.core.errors import (
    InfeasibleSolution,
    InvalidInstance,
    InvalidOption,
    ParseError,
    SchedforgeError,
    SolverError,
    SolverUnavailable,
    UnknownFormat,
    UnknownMethod,
    UnknownProblem,
)
from schedforge.core.io import generate, read, read_all, write
from schedforge.core.registry import get_problem, methods, problems
from schedforge.core.result import Outcome, Result, Status
from schedforge.core.solve import solve

__version__ = "0.1.0"

__all__ = [
    "InfeasibleSolution",
    "InvalidInstance",
    "InvalidOption",
    "Outcome",
    "ParseError",
    "Result",
    "SchedforgeError",
    "SolverError",
    "SolverUnavailable",
    "Status",
    "UnknownFormat",
    "UnknownMethod",
    "UnknownProblem",
    "__version__",
    "dataset",
    "datasets",
    "generate",
    "get_problem",
    "methods",
    "problems",
    "read",
    "read_all",
    "solve",
    "write",
]
