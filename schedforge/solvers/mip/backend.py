"""Running a PuLP model on CBC or HiGHS with honest status and bound.

Every MIP formulation in schedforge builds a ``pulp.LpProblem`` and hands it
to :func:`solve_model`, so the backend quirks are handled once:

- the objectives are integral, so both solvers get an absolute gap just below
  1 and no relative gap: a default relative tolerance (HiGHS 1e-4) would call
  a near-optimal incumbent optimal;
- the best bound comes from HiGHS's ``mip_dual_bound`` or CBC's log, rounded
  up for integral objectives;
- the CBC 2.10.3 binary bundled with PuLP can crash when a MIP start is given
  and the time limit runs out while it processes the start: the run is then
  repeated once without the start;
- HiGHS gets the variables' initial values as a start, and its start-up
  banner (printed to the C stdout whatever ``msg`` says) is kept off ours.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from typing import Any

from schedforge.core.errors import SolverError, SolverUnavailable
from schedforge.core.result import Status

__all__ = ["BACKENDS", "import_pulp", "solve_model"]

BACKENDS = ("cbc", "highs")

# Seconds of a MIP call outside the solver's own clock, fixed and per
# 1,000 nonzeros: PuLP writing the model (CBC: an MPS file and a new
# process; HiGHS: the model passed through its API) and reading the values
# back. Kept back from the solver's limit, so the call ends by the deadline;
# when the limit leaves no more than this, the solver is not started.
_HANDOVER = 0.25
_HANDOVER_PER_1000 = 0.01

_CBC_BOUND = re.compile(r"^Lower bound:\s*(-?[\d.eE+-]+)", re.MULTILINE)


def import_pulp() -> Any:
    """The ``pulp`` module, or :class:`SolverUnavailable` with the install hint."""
    try:
        import pulp
    except ImportError as exc:  # pragma: no cover - pulp is a dependency
        raise SolverUnavailable(f"PuLP is not available ({exc}); pip install pulp") from None
    return pulp


@contextlib.contextmanager
def quiet_c_stdout() -> Iterator[None]:
    """Send file descriptor 1 to the null device for the duration."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def solve_model(
    prob: Any,
    backend: str,
    *,
    time_limit: float,
    seed: int,
    threads: int = 1,
    warm_start: bool = False,
    integral: bool = True,
    stats: dict[str, Any] | None = None,
) -> tuple[Status, float | None]:
    """Solve ``prob`` (minimisation) and return ``(status, best bound)``.

    Parameters
    ----------
    prob
        A ``pulp.LpProblem``; variables with an initial value form the MIP
        start when ``warm_start``.
    backend
        ``"cbc"`` or ``"highs"``.
    time_limit
        Seconds for the whole call: the solver gets them minus an estimate
        of the hand-over (writing the model, starting the solver, reading
        the values back); with no time left for the solver it is not run
        and the status is ``NO_SOLUTION`` (``stats["solver_status"]`` says so).
    seed
        Solver random seed.
    threads
        Solver threads.
    warm_start
        Give the solver the variables' initial values as a start.
    integral
        The objective takes integer values: use an absolute gap below 1 and
        round the bound up.
    stats
        Filled with ``solver_status`` and backend-specific facts.

    Returns
    -------
    tuple
        ``OPTIMAL`` (proven), ``INFEASIBLE`` (proven), ``FEASIBLE`` (an
        incumbent, values in the variables) or ``NO_SOLUTION``; the bound is
        ``None`` when the solver gives none.
    """
    if backend not in BACKENDS:
        raise SolverUnavailable(f"unknown MIP backend {backend!r}; available: cbc, highs")
    if threads < 1:
        raise SolverError(f"threads must be >= 1, got {threads}")
    stats = {} if stats is None else stats
    gaps = {"gapRel": 0.0, "gapAbs": 0.999} if integral else {"gapRel": 0.0}
    nonzeros = sum(len(c) for c in prob.constraints.values())
    limit = float(time_limit) - _HANDOVER - _HANDOVER_PER_1000 * nonzeros / 1000
    if limit < 0.05:
        stats["solver_status"] = "not started: no time left for the solver"
        return Status.NO_SOLUTION, None
    if backend == "cbc":
        status, bound = _solve_cbc(prob, limit, seed, threads, warm_start, gaps, stats)
    else:
        status, bound = _solve_highs(prob, limit, seed, threads, warm_start, gaps)
    pulp = import_pulp()
    stats["solver_status"] = pulp.LpSolution.get(prob.sol_status, str(prob.sol_status))
    if bound is not None and integral:
        bound = float(math.ceil(bound - 1e-6))
    return status, bound


def _cbc_class(pulp: Any) -> Any:
    """``COIN_CMD`` when a CBC is on the PATH, else PuLP's bundled ``PULP_CBC_CMD``."""
    if pulp.COIN_CMD(msg=False).available():
        return pulp.COIN_CMD

    def bundled(**kwargs: Any) -> Any:
        # PuLP 3.x deprecates the bundled binary in favour of pulp[cbc]; it is
        # still the one CBC that every installation has.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return pulp.PULP_CBC_CMD(**kwargs)

    return bundled


def _run_cbc(prob: Any, limit: float, seed: int, threads: int, warm: bool, gaps: dict) -> str:
    """One CBC run through PuLP; returns CBC's log."""
    pulp = import_pulp()
    fd, log_path = tempfile.mkstemp(suffix=".log", prefix="schedforge_cbc_")
    os.close(fd)
    try:
        solver = _cbc_class(pulp)(
            msg=False,
            timeLimit=limit,
            # "-threads 1" starts CBC's threaded mode with one worker, which
            # now and then deadlocks until the time limit ("Thread 0 used 0
            # times, waiting to start"; about 1 run in 60 on a tiny model).
            # Without the option CBC runs serially and never did in 600 runs.
            threads=threads if threads > 1 else None,
            warmStart=warm,
            logPath=log_path,
            # CBC treats seed 0 as "from the clock"; its limit is CPU time
            # unless told to count wall time.
            options=[f"randomCbcSeed {seed + 1}", "timeMode elapsed"],
            **gaps,
        )
        if not solver.available():
            raise SolverUnavailable("CBC is not available (PuLP ships it; reinstall pulp)")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            prob.solve(solver)
        with open(log_path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    finally:
        os.unlink(log_path)


def _solve_cbc(
    prob: Any, limit: float, seed: int, threads: int, warm: bool, gaps: dict, stats: dict
) -> tuple[Status, float | None]:
    """Run CBC (retrying once without the start after a crash); status and bound."""
    pulp = import_pulp()
    begin = time.perf_counter()
    try:
        log = _run_cbc(prob, limit, seed, threads, warm, gaps)
    except pulp.PulpSolverError as exc:
        if not warm:
            raise SolverError(f"CBC failed: {exc}") from None
        stats["cbc_warm_start_crash"] = True
        left = max(0.05, limit - (time.perf_counter() - begin))
        try:
            log = _run_cbc(prob, left, seed, threads, False, gaps)
        except pulp.PulpSolverError as exc2:
            raise SolverError(f"CBC failed: {exc2}") from None
    if prob.sol_status == pulp.LpSolutionOptimal:
        return Status.OPTIMAL, None
    if prob.status == pulp.LpStatusInfeasible:
        return Status.INFEASIBLE, None
    match = _CBC_BOUND.search(log)
    bound = float(match.group(1)) if match else None
    if prob.sol_status == pulp.LpSolutionIntegerFeasible:
        return Status.FEASIBLE, bound
    return Status.NO_SOLUTION, bound


def _solve_highs(
    prob: Any, limit: float, seed: int, threads: int, warm: bool, gaps: dict
) -> tuple[Status, float | None]:
    """Run HiGHS through PuLP (with the variables' values as a start); status and bound."""
    pulp = import_pulp()
    try:
        import highspy
    except ImportError as exc:
        raise SolverUnavailable(f"HiGHS is not available ({exc}); pip install highspy") from None

    class _HiGHS(pulp.HiGHS):
        """PuLP's HiGHS interface, quiet, plus the variables' initial values as a start."""

        def createAndConfigureSolver(self, lp):
            with quiet_c_stdout():
                super().createAndConfigureSolver(lp)

        def callSolver(self, lp):
            if warm:
                start = [0.0] * len(lp.variables())
                for var in lp.variables():
                    if var.varValue is not None:
                        start[var.index] = float(var.varValue)
                solution = highspy.HighsSolution()
                solution.col_value = start
                solution.value_valid = True
                lp.solverModel.setSolution(solution)
            lp.solverModel.run()

    solver = _HiGHS(msg=False, timeLimit=limit, threads=threads, random_seed=seed, **gaps)
    try:
        prob.solve(solver)
    except pulp.PulpSolverError as exc:
        raise SolverError(f"HiGHS failed: {exc}") from None
    highs = prob.solverModel
    model_status = highs.getModelStatus()
    info = highs.getInfo()
    kinds = highspy.HighsModelStatus
    if model_status == kinds.kOptimal:
        return Status.OPTIMAL, None
    if model_status == kinds.kInfeasible:
        return Status.INFEASIBLE, None
    bound = info.mip_dual_bound
    bound = float(bound) if math.isfinite(bound) else None
    # primal_solution_status 2 = a feasible point exists (HiGHS kSolutionStatusFeasible).
    if info.primal_solution_status == 2:
        return Status.FEASIBLE, bound
    return Status.NO_SOLUTION, bound
