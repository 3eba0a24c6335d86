"""Per-problem templates: the function to evolve, its skeleton and its data.

A :class:`Template` fixes, for one problem family, everything the evolution
loop needs to know about it:

* the **function to evolve** (name, arguments, a docstring written for the
  language model) and its **features**;
* the **skeleton** the function plugs into, once in plain Python and once
  compiled with numba (the candidate is passed to the compiled loop as a
  first-class function, so the loop itself is compiled once per process);
* **seed heuristics** written in the same form (EDD, MDD, ATC, ...);
* default **train / validation / hold-out** sets with reference values, so
  that over-fitting to the training set shows up on the other two.

Skeletons work on plain arrays (:meth:`Template.encode`) so that the sandbox
worker needs no problem object; the parent turns the raw output back into a
solution (:meth:`Template.decode`) and checks it with the problem's own
validator.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from schedforge.core.errors import SchedforgeError, UnknownProblem


class CandidateError(Exception):
    """A candidate ran but misbehaved (wrong shape, NaN, ...); the message goes to the model."""


@dataclass(frozen=True)
class Feature:
    """One argument of the evolved function.

    Parameters
    ----------
    name
        Argument name.
    kind
        ``"array"`` (one value per candidate) or ``"scalar"``.
    description
        What it means, for the prompt.
    """

    name: str
    kind: str
    description: str


@dataclass(frozen=True)
class EvalSet:
    """A named set of instances with reference objective values (optima or best known).

    ``groups`` (optional) labels each instance (e.g. by size) for a template
    whose fitness is the worst group's mean gap (``Template.worst_group``).
    """

    name: str
    instances: tuple[Any, ...]
    references: tuple[float, ...]
    description: str = ""
    groups: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if len(self.instances) != len(self.references):
            raise SchedforgeError(f"set {self.name}: one reference value per instance needed")
        if self.groups and len(self.groups) != len(self.instances):
            raise SchedforgeError(f"set {self.name}: one group label per instance needed")
        if not self.instances:
            raise SchedforgeError(f"set {self.name}: no instance")

    def __len__(self) -> int:
        return len(self.instances)


@dataclass(frozen=True)
class Template:
    """Everything the evolution loop needs about one problem (see module docstring).

    Parameters
    ----------
    problem
        Problem name.
    function_name
        Name of the function a candidate defines.
    features
        Its arguments, in order.
    returns
        What it returns, for the prompt.
    description
        The task, written for the language model.
    seeds
        Seed heuristics: name -> source code of the function.
    encode
        ``encode(instance) -> dict[str, ndarray]``: plain arrays for the skeleton.
    run_python
        ``run_python(func, arrays) -> ndarray``: the skeleton in Python.
    run_numba
        ``run_numba(compiled_func, arrays) -> ndarray``: the compiled skeleton;
        raises :class:`CandidateError` like the Python one.
    numba_signature
        ``() -> numba signature`` of the evolved function.
    decode
        ``decode(instance, raw) -> solution``.
    sets
        ``sets(size) -> {"train": EvalSet, "validation": ..., "holdout": ...}``
        for ``size`` in ``("default", "quick")``.
    size_of
        ``size_of(arrays) -> int``: number of dispatch steps, which decides
        when compiling pays off.
    gp_seeds
        Seed heuristics as expression trees for the GP proposer
        (:mod:`schedforge.discovery.gp`), by name.
    gp_terminals
        Derived features for GP trees, ``name -> expression`` over the
        arguments and the derived features before it (in order); a tree
        that uses one gets the assignment in its code.
    measure
        ``measure(instance, solution) -> float``: the value compared with the
        reference; ``None`` for the problem's objective.
    gap
        ``gap(value, reference) -> float`` in percent; ``None`` for
        :func:`gap_percent`.
    name
        For a variant of a problem's template (e.g. ``"smtt-aug"``); empty
        for the problem's own template.
    worst_group
        When true and the sets have ``groups``, the exported candidate is
        the one with the smallest largest per-group mean gap over training
        and validation pooled (:func:`set_fitness`): it must improve every
        group (e.g. every size) instead of trading one for another. The
        search ranks on the mean gap either way.
    """

    problem: str
    function_name: str
    features: tuple[Feature, ...]
    returns: str
    description: str
    seeds: Mapping[str, str]
    encode: Callable[[Any], dict[str, np.ndarray]]
    run_python: Callable[[Callable[..., Any], dict[str, np.ndarray]], np.ndarray]
    run_numba: Callable[[Any, dict[str, np.ndarray]], np.ndarray]
    numba_signature: Callable[[], Any]
    decode: Callable[[Any, Any], Any]
    sets: Callable[[str], dict[str, EvalSet]]
    size_of: Callable[[dict[str, np.ndarray]], int]
    gp_seeds: Mapping[str, Any] = field(default_factory=dict)
    gp_terminals: Mapping[str, str] = field(default_factory=dict)
    measure: Callable[[Any, Any], float] | None = None
    gap: Callable[[float, float], float] | None = None
    name: str = ""
    worst_group: bool = False

    @property
    def key(self) -> str:
        """The template's name for :func:`get_template`: ``name``, else the problem."""
        return self.name or self.problem

    @property
    def argument_names(self) -> tuple[str, ...]:
        """The evolved function's argument names, in order."""
        return tuple(f.name for f in self.features)

    @property
    def signature(self) -> str:
        """``def name(a, b, ...):`` as the model must write it."""
        return f"def {self.function_name}({', '.join(self.argument_names)}):"

    def value_and_gap(self, instance: Any, solution: Any, reference: float) -> tuple[float, float]:
        """The measured value of a (validated) solution and its gap to ``reference``."""
        if self.measure is not None:
            value = float(self.measure(instance, solution))
        else:
            from schedforge.core.registry import get_problem

            value = float(get_problem(self.problem).objective(instance, solution))
        return value, (self.gap or gap_percent)(value, reference)

    def prompt_text(self) -> str:
        """The task description with the signature and features, for prompts."""
        lines = [self.description.strip(), "", "Signature:", f"    {self.signature}", ""]
        lines.append("Arguments:")
        for feat in self.features:
            lines.append(f"    {feat.name} ({feat.kind}): {feat.description}")
        lines += ["", f"Returns: {self.returns}"]
        return "\n".join(lines)


def gap_percent(objective: float, reference: float) -> float:
    """Gap of ``objective`` to ``reference`` in percent, ``100 (obj − ref) / ref``.

    This is the convention of Çetinkaya et al. (2025) and of the SMTT
    literature (relative to the optimum, not to the objective as in
    :func:`schedforge.core.result.relative_gap`). Sets keep only instances
    with a positive reference, as the paper does.
    """
    return 100.0 * (float(objective) - float(reference)) / float(reference)


# --------------------------------------------------------------------------
# SMTT: a priority over the unscheduled jobs, smallest first.

_SMTT_DESCRIPTION = """\
Single-machine total (weighted) tardiness. Jobs with processing time p, due
date d and weight w are sequenced on one machine from time 0 without idle
time; the objective is the sum of w * max(0, C - d) over all jobs (C =
completion time). A dispatch loop builds the sequence: at each step it calls
your function with the features of the jobs not yet scheduled and appends
the job with the SMALLEST priority (ties go to the lowest job index), then
advances the current time by its processing time.

Write a priority function that gives a sequence with low total tardiness.
Use only arithmetic, comparisons, if/else, for-loops over range(...), and
functions of numpy (as np) and math. No imports, no other modules, no
file or network access; it must return one finite float per job.
"""

_SMTT_SEEDS = {
    "edd": '''\
def priority(p, d, w, t, rem):
    """Earliest due date (Jackson 1955)."""
    return d * 1.0
''',
    "spt": '''\
def priority(p, d, w, t, rem):
    """Shortest processing time first."""
    return p * 1.0
''',
    "mdd": '''\
def priority(p, d, w, t, rem):
    """Modified due date max(d, t + p) (Baker & Bertrand 1982)."""
    return np.maximum(d, t + p)
''',
    "mddc": '''\
def priority(p, d, w, t, rem):
    """MDDC, found by a language model (Cetinkaya et al. 2025)."""
    rho = np.minimum(p / (t + np.max(p)), 1.0)
    urgency = np.maximum(1.1 * p + t, d) * (1.0 + rho * rho / (1.0 + rho * rho))
    return urgency + p / (t + rem / len(p))
''',
    "atc": '''\
def priority(p, d, w, t, rem):
    """Apparent tardiness cost with look-ahead k = 2 (Vepsalainen & Morton 1987)."""
    pbar = rem / len(p)
    slack = np.maximum(d - p - t, 0.0)
    return -(w / p) * np.exp(-slack / (2.0 * pbar))
''',
}


# Derived features for GP (schedforge.discovery.gp): the quantities the
# published rules are made of, so that short trees can recombine them.
_SMTT_TERMINALS = {
    "slack": "d - p - t",  # time to spare if started now
    "mdd": "np.maximum(p, d - t)",  # Baker & Bertrand's modified due date, minus t
    "late": "np.maximum(t + p - d, 0.0)",  # tardiness if scheduled next
    "wp": "w / p",
    "pmean": "rem / len(p)",
    "pmax": "np.max(p)",
    "rho": "np.minimum(p / (t + pmax), 1.0)",  # MDDC's relative size
    "ratio": "p / (t + pmean)",
    # Scale-free quantities, so that one rule fits n = 100 and n = 200 alike:
    # the share of the total processing done, slack per unit of remaining
    # work, and the MDD key in units of the mean remaining processing time.
    "tn": "t / (t + rem)",
    "srem": "(d - p - t) / rem",
    "mddr": "np.maximum(p, d - t) / pmean",
    "mddc": "np.maximum(1.1 * p + t, d) * (1.0 + rho * rho / (1.0 + rho * rho)) + ratio",
    # Completion time and tardiness if the unscheduled jobs ran in EDD order.
    "cedd": "t + np.cumsum(p[np.argsort(d, kind='mergesort')])"
    "[np.argsort(np.argsort(d, kind='mergesort'), kind='mergesort')]",
    "ledd": "np.maximum(cedd - d, 0.0)",
}


def _smtt_encode(instance: Any) -> dict[str, np.ndarray]:
    return {
        "p": np.asarray(instance.processing, dtype=np.float64),
        "d": np.asarray(instance.due, dtype=np.float64),
        "w": np.asarray(instance.weight, dtype=np.float64),
        # Scan order of the skeleton: ties go to the lowest job index.
        "order": np.arange(len(instance.processing), dtype=np.int64),
    }


def _as_priorities(values: Any, count: int) -> np.ndarray:
    """Check a candidate's output: one finite float per candidate."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise CandidateError(f"the priorities are not numbers ({exc})") from None
    if arr.shape != (count,):
        raise CandidateError(
            f"must return one priority per job: expected shape ({count},), got {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise CandidateError("returned NaN or infinite priorities")
    return arr


def _smtt_finish(result: tuple[np.ndarray, int]) -> np.ndarray:
    from schedforge.heuristics.smtt import NOT_FINITE, WRONG_LENGTH

    sequence, status = result
    if status == WRONG_LENGTH:
        raise CandidateError("must return one priority per job (wrong length)")
    if status == NOT_FINITE:
        raise CandidateError("returned NaN or infinite priorities")
    return sequence


def smtt_dispatch_python(priority: Callable[..., Any], arrays: dict[str, np.ndarray]) -> np.ndarray:
    """The SMTT dispatch skeleton in plain Python around a Python ``priority``.

    The skeleton is the one of the built-in rules,
    :func:`schedforge.heuristics.smtt.loop`: it repeatedly appends the job of
    smallest priority (ties to the lowest index).

    Parameters
    ----------
    priority
        ``priority(p, d, w, t, rem) -> array`` over the unscheduled jobs.
    arrays
        :meth:`Template.encode` of an instance.

    Returns
    -------
    ndarray
        The job sequence.

    Raises
    ------
    CandidateError
        When the priorities have the wrong shape or are not finite.
    """
    from schedforge.heuristics.smtt import run_score

    def checked(p, d, w, t, rem):
        return _as_priorities(priority(p, d, w, t, rem), len(p))

    args = (arrays["p"], arrays["d"], arrays["w"], arrays["order"], (0.0, 0.0))
    return _smtt_finish(run_score(*args, checked))


_kernels: dict[str, Any] = {}


def smtt_dispatch_numba(compiled: Any, arrays: dict[str, np.ndarray]) -> np.ndarray:
    """The same skeleton compiled by numba, for a numba-compiled ``priority``.

    Gives the same sequence as :func:`smtt_dispatch_python`.
    """
    from schedforge.heuristics.smtt import score_kernel

    kernel = _kernels.setdefault("smtt", score_kernel())
    args = (arrays["p"], arrays["d"], arrays["w"], arrays["order"], (0.0, 0.0))
    return _smtt_finish(kernel(*args, compiled))


def _smtt_signature() -> Any:
    from schedforge.heuristics.smtt import priority_signature

    return priority_signature()


def _augmented(run: Callable[[Any, dict[str, np.ndarray]], np.ndarray]) -> Callable[..., Any]:
    """``run`` followed by the built-in rules' augmentation step (``aug-*`` rules)."""

    def run_augmented(func: Any, arrays: dict[str, np.ndarray]) -> np.ndarray:
        from schedforge.heuristics.smtt import augment

        sequence = run(func, arrays)
        p, d, w = (arrays[k].astype(np.int64) for k in ("p", "d", "w"))
        return augment(p, d, w, np.asarray(sequence, dtype=np.int64))

    return run_augmented


def _smtt_decode(instance: Any, raw: Any) -> Any:
    from schedforge.problems.smtt import SMTTSolution

    return SMTTSolution(sequence=np.asarray(raw, dtype=np.int64))


def smtt_optimum(processing: Sequence[int], due: Sequence[int], weight: Sequence[int]) -> int:
    """Optimal total weighted tardiness (the exact solver's subset DP, ``n <= 20`` here).

    Gives generated training instances exact reference values.
    """
    from schedforge.solvers.exact.smtt_dp import subset_dp

    if len(processing) > 20:
        raise SchedforgeError(f"subset DP is for n <= 20 jobs, got {len(processing)}")
    return subset_dp(processing, due, weight)[0]


def set_fitness(gaps: list[float], groups: list[str] | tuple[str, ...], worst_group: bool) -> float:
    """A candidate's fitness on a set from its per-instance gaps (lower is better).

    The mean gap; with ``worst_group`` and group labels, the largest of the
    per-group mean gaps.
    """
    if not gaps:
        return math.inf
    if not (worst_group and groups):
        return math.fsum(gaps) / len(gaps)
    by_group: dict[str, list[float]] = {}
    for gap, group in zip(gaps, groups, strict=True):
        by_group.setdefault(group, []).append(gap)
    return max(math.fsum(g) / len(g) for g in by_group.values())


def _read_jsonl_set(path: Path, per_class: int, name: str) -> EvalSet:
    """Up to ``per_class`` instances with a positive optimum from each (RDD, TF) class."""
    from schedforge.problems.smtt import SMTTInstance

    taken: dict[tuple[float, float], int] = {}
    instances, references = [], []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            key = (rec["rdd"], rec["tf"])
            if rec.get("opt", 0) <= 0 or taken.get(key, 0) >= per_class:
                continue
            taken[key] = taken.get(key, 0) + 1
            instances.append(
                SMTTInstance(
                    processing=rec["p"],
                    due=rec["d"],
                    name=str(rec["id"]),
                    metadata={"optimum": rec["opt"], "source": str(path)},
                )
            )
            references.append(float(rec["opt"]))
    return EvalSet(name, tuple(instances), tuple(references), f"{path.name}, {per_class}/class")


def _generated_set(name: str, count: int, jobs: int, seed: int) -> EvalSet:
    """``count`` Potts–Van Wassenhove instances with positive optima from the subset DP."""
    from schedforge.problems.smtt import generate

    grid = [(tf, rdd) for rdd in (0.2, 0.6, 1.0) for tf in (0.4, 0.6, 0.8)]
    instances, references = [], []
    k = 0
    while len(instances) < count:
        tf, rdd = grid[k % len(grid)]
        inst = generate(jobs=jobs, tf=tf, rdd=rdd, seed=seed + k)
        k += 1
        opt = smtt_optimum(inst.processing, inst.due, inst.weight)
        if opt > 0:
            instances.append(inst.replace(metadata={**inst.metadata, "optimum": opt}))
            references.append(float(opt))
    return EvalSet(name, tuple(instances), tuple(references), f"generated n={jobs}, seed {seed}")


_SHANG_GRID = [(tf, rdd) for tf in (0.2, 0.4, 0.6, 0.8) for rdd in (0.2, 0.4, 0.6, 0.8, 1.0)]


def generated_shang_set(
    name: str, per_class: int, sizes: tuple[int, ...], seed: int, reference: str
) -> EvalSet:
    """Generated instances of the Shang et al. classes; reference: rule ``reference``.

    ``per_class`` instances per (TF, RDD) class of the Shang et al. grid and
    per size, those where Augmented MDDC is late (classes where it rarely
    is may have fewer), grouped by size. The reference is the total
    tardiness of ``rule:<reference>`` (the published rule to beat), not the
    optimum (exact proofs at n = 200 take too long to build a set on the
    fly): a negative gap means better than that rule.
    """
    from schedforge.heuristics.smtt import rule_sequence
    from schedforge.problems.smtt import generate

    instances, references, groups = [], [], []
    for jobs in sizes:
        for k, (tf, rdd) in enumerate(_SHANG_GRID):
            found, attempt = 0, 0
            # Loose classes (TF 0.2, wide RDD) are rarely late: a few tries only.
            while found < per_class and attempt < 10 * per_class:
                inst = generate(jobs=jobs, tf=tf, rdd=rdd, seed=seed + 1000 * k + attempt)
                attempt += 1
                seq = rule_sequence(inst, "aug-mddc")
                late = np.maximum(0, np.cumsum(inst.processing[seq]) - inst.due[seq])
                value = float(np.dot(inst.weight[seq], late))
                if value > 0:
                    if reference != "aug-mddc":
                        seq = rule_sequence(inst, reference)
                        late = np.maximum(0, np.cumsum(inst.processing[seq]) - inst.due[seq])
                        value = float(np.dot(inst.weight[seq], late))  # >= Augmented MDDC's
                    instances.append(inst.replace(name=f"{name}-n{jobs}-{k}-{attempt}"))
                    references.append(value)
                    groups.append(f"n{jobs}")
                    found += 1
    return EvalSet(
        name,
        tuple(instances),
        tuple(references),
        f"generated n={sizes}, seed {seed}, reference rule:{reference}",
        tuple(groups),
    )


_LARGE: dict[str, dict[str, EvalSet]] = {}


def _smtt_sets(size: str = "default", reference: str = "mddc") -> dict[str, EvalSet]:
    """Default SMTT sets.

    ``default``: train on 2 instances per (RDD, TF) class of the Çetinkaya et
    al. (2025) n = 20 uniform set, validate on the same selection of their
    second uniform set, hold out every positive-optimum instance of the
    Shang et al. (2021) n = 100 and n = 200 sets (the bundled datasets
    ``smtt:cetinkaya-n20``, ``smtt:cetinkaya-n20-alt``, ``smtt:shang-n100``,
    ``smtt:shang-n200``). ``large``: train on 6 and validate on 10 generated
    instances per (TF, RDD) class of the Shang et al. grid and size n = 100
    and 200, grouped by size, with the value of ``rule:<reference>`` as
    reference (MDDC for the plain template, Augmented MDDC for the
    augmented one), same hold-out. ``quick``: a few small generated
    instances (tests, smoke runs).
    """
    if size == "quick":
        return {
            "train": _generated_set("train", 6, 9, 100),
            "validation": _generated_set("validation", 4, 9, 200),
            "holdout": _generated_set("holdout", 4, 10, 300),
        }
    if size not in ("default", "large"):
        raise SchedforgeError(f"unknown set size {size!r}; use default, large or quick")
    from schedforge.benchsets import unpacked

    base = unpacked("smtt")
    holdout_parts = [
        _read_jsonl_set(base / f"shang2017_n{n}.jsonl", 10, f"holdout_n{n}") for n in (100, 200)
    ]
    holdout = EvalSet(
        "holdout",
        sum((s.instances for s in holdout_parts), ()),
        sum((s.references for s in holdout_parts), ()),
        "Shang et al. n = 100 and 200, positive optima",
    )
    if size == "large":
        if reference not in _LARGE:
            _LARGE[reference] = {
                # Evaluating a compiled candidate costs ~0.02 s per 100
                # instances against ~0.3 s to compile it, so the sets are
                # as large as keeps selection noise below the margins that
                # matter (a few hundredths of a point at n = 200).
                "train": generated_shang_set("train", 6, (100, 200), 500, reference),
                "validation": generated_shang_set("validation", 10, (100, 200), 900, reference),
            }
        return {**_LARGE[reference], "holdout": holdout}
    return {
        "train": _read_jsonl_set(base / "cetinkaya2025_n20_uniform.jsonl", 2, "train"),
        "validation": _read_jsonl_set(
            base / "cetinkaya2025_n20_uniform_alt.jsonl", 2, "validation"
        ),
        "holdout": holdout,
    }


SMTT = Template(
    problem="smtt",
    function_name="priority",
    features=(
        Feature("p", "array", "processing times of the unscheduled jobs"),
        Feature("d", "array", "their due dates (may be negative)"),
        Feature("w", "array", "their weights (all 1 for unweighted instances)"),
        Feature("t", "scalar", "current time = completion time of the last scheduled job"),
        Feature("rem", "scalar", "total processing time of the unscheduled jobs (= p.sum())"),
    ),
    returns="a float array of the same length as p; the job with the smallest value goes next",
    description=_SMTT_DESCRIPTION,
    seeds=_SMTT_SEEDS,
    encode=_smtt_encode,
    run_python=smtt_dispatch_python,
    run_numba=smtt_dispatch_numba,
    numba_signature=_smtt_signature,
    decode=_smtt_decode,
    sets=_smtt_sets,
    size_of=lambda arrays: len(arrays["p"]),
    gp_seeds={
        "edd": ["var", "d"],
        "spt": ["var", "p"],
        "mdd": ["max", ["var", "d"], ["add", ["var", "t"], ["var", "p"]]],
        # MDDC spelled out, so that tuning reaches its constants.
        "mddc": [
            "add",
            [
                "mul",
                ["max", ["add", ["mul", ["const", 1.1], ["var", "p"]], ["var", "t"]], ["var", "d"]],
                [
                    "add",
                    ["const", 1.0],
                    [
                        "div",
                        ["square", ["var", "rho"]],
                        ["add", ["const", 1.0], ["square", ["var", "rho"]]],
                    ],
                ],
            ],
            ["var", "ratio"],
        ],
    },
    gp_terminals=_SMTT_TERMINALS,
    # Export a rule that beats MDDC at n = 100 and at n = 200, not on average.
    worst_group=True,
)

SMTT_AUGMENTED = replace(
    SMTT,
    name="smtt-aug",
    description=_SMTT_DESCRIPTION.replace(
        "Write a priority function",
        "After the loop, the sequence goes through the augmentation step of the\n"
        "built-in aug-* rules: after each appended job, the best single move of an\n"
        "earlier job to the end is applied when it lowers the partial tardiness.\n\n"
        "Write a priority function",
    ),
    run_python=_augmented(smtt_dispatch_python),
    run_numba=_augmented(smtt_dispatch_numba),
    sets=lambda size="default": _smtt_sets(size, "aug-mddc"),
)

_TEMPLATES: dict[str, Template] = {"smtt": SMTT}
# Variants of a problem's template: same features, another skeleton.
_VARIANTS: dict[str, Template] = {"smtt-aug": SMTT_AUGMENTED}


def register_template(template: Template) -> Template:
    """Add a template (called below for each problem that has one)."""
    _TEMPLATES[template.problem] = template
    return template


# Template modules of the other problems; they import this one, so they are
# loaded on first use rather than at import time.
_MODULES = ("templates_rcpsp", "templates_fjsp", "templates_pods")


def _load_modules() -> None:
    import importlib

    for name in _MODULES:
        importlib.import_module(f"schedforge.discovery.{name}")


def template_names() -> list[str]:
    """Problems with a discovery template."""
    _load_modules()
    return sorted(_TEMPLATES)


def get_template(problem: str) -> Template:
    """The template of ``problem`` or a variant (``"smtt-aug"``); lists them otherwise."""
    _load_modules()
    found = _TEMPLATES.get(problem) or _VARIANTS.get(problem)
    if found is None:
        known = ", ".join(template_names() + sorted(_VARIANTS))
        raise UnknownProblem(f"no discovery template for {problem!r}; available: {known}")
    return found
