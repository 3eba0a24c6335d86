"""The evolution loop: propose, verify, score, select, archive, resume.

Each generation asks the proposer for ``offspring`` candidates, one request
at a time, spread over the islands. A request is planned from the archive
alone (a random generator seeded with ``(seed, generation)``, the island
populations stored at the end of the previous generation, recent rejection
messages), so planning is the same after a crash as without one. Then:

1. each proposal is stored before it is evaluated; code whose normalised
   syntax tree was seen before is a ``duplicate`` and is not evaluated again;
2. the new candidates are evaluated on the training set in the sandbox,
   ``jobs`` at a time; each result is committed as it arrives;
3. candidates whose training objectives equal an earlier candidate's are
   ``behaviour_duplicate`` s (same behaviour, different code);
4. the best few by training gap are evaluated on the validation set;
5. populations are updated: each island keeps its ``population`` best;
   every ``migration_every`` generations each island's best migrates to the
   next island (ring); every ``reset_every`` generations the weaker half of
   the islands restart from the best of a surviving island (FunSearch,
   Romera-Paredes et al., Nature 2024). With ``islands = 1`` this is the
   plain population of EoH (Liu et al., ICML 2024).

Budgets (generations, evaluations, tokens, cost, wall time) are checked
before every proposal (with ``openai``, before every batch of ``jobs``
parallel calls, so a budget can be overshot by at most ``jobs - 1`` calls).
With the ``gp`` and ``replay`` proposers a run is reproducible: the same
configuration gives the same archive, interrupted and resumed or not. A
crash loses at most the model calls in flight, never a stored proposal or
evaluation.
"""

from __future__ import annotations

import json
import math
import random
import re
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from schedforge.core.errors import SchedforgeError
from schedforge.discovery.archive import Archive
from schedforge.discovery.prompts import OPERATORS, Parent, Request
from schedforge.discovery.proposers import Proposal, make_proposer
from schedforge.discovery.sandbox import Evaluation, Limits, SandboxPool, normalised_hash
from schedforge.discovery.templates import get_template, set_fitness

#: Configuration keys that may change when a run is resumed.
RESUMABLE_OVERRIDES = (
    "generations",
    "budget_evaluations",
    "budget_tokens",
    "budget_cost",
    "budget_seconds",
    "jobs",
    "replay",
    "base_url",
    "timeout",
    "max_tokens",
    "name",
    "export",
    "cluster",
)


@dataclass
class DiscoveryConfig:
    """Everything that defines a discovery run (stored in the archive).

    Parameters
    ----------
    problem
        Problem with a template (``smtt``, ...).
    proposer
        ``openai``, ``gp`` or ``replay``.
    model, base_url, timeout, max_retries, backoff, temperature, max_tokens, prices
        For ``openai`` (see :class:`~schedforge.discovery.proposers.OpenAIProposer`).
    replay
        For ``replay``: JSON Lines file or earlier run directory.
    generations
        Number of generations after the seed generation 0.
    offspring
        Proposals per generation.
    islands
        Number of islands (1 = one plain population).
    population
        Candidates kept per island.
    migration_every, reset_every
        Period (generations) of migration and of resetting the weaker half
        of the islands; 0 disables.
    budget_evaluations, budget_tokens, budget_cost, budget_seconds
        Optional budgets: the run stops before a proposal that would start
        past one of them.
    jobs
        Parallel sandbox workers.
    seed
        Seed of every random choice of the loop and of GP.
    sets
        Template set size: ``default`` or ``quick``.
    engine
        Sandbox engine: ``auto``, ``numba`` or ``python``.
    cpu_seconds, wall_seconds, memory_mb
        Sandbox limits per evaluation.
    validate_top
        How many of the best candidates by training gap get a validation score.
    feedback
        How many recent rejection messages go into prompts.
    operators
        Relative weights of the prompt operators.
    name
        Export the best candidate as ``heuristic:<name>`` at the end (``None``:
        ``<problem>_<proposer>_s<seed>``).
    export
        Whether ``schedforge discover`` exports the best candidate at the end.
    cluster
        Address of a Dask scheduler: evaluations run there
        (:class:`~schedforge.discovery.cluster.ClusterPool`), else locally.
    """

    problem: str
    proposer: str = "gp"
    model: str | None = None
    base_url: str | None = None
    replay: str | None = None
    prices: str | None = None
    timeout: float = 60.0
    max_retries: int = 4
    backoff: float = 1.0
    temperature: float = 1.0
    max_tokens: int = 1024
    generations: int = 10
    offspring: int = 8
    islands: int = 2
    population: int = 6
    migration_every: int = 2
    reset_every: int = 4
    budget_evaluations: int | None = None
    budget_tokens: int | None = None
    budget_cost: float | None = None
    budget_seconds: float | None = None
    jobs: int = 1
    seed: int = 0
    sets: str = "default"
    engine: str = "auto"
    cpu_seconds: float = 10.0
    wall_seconds: float = 20.0
    memory_mb: int = 512
    validate_top: int = 3
    feedback: int = 3
    operators: dict[str, float] = field(
        default_factory=lambda: {"new": 1.0, "crossover": 2.0, "mutation": 2.0, "tune": 1.0}
    )
    name: str | None = None
    export: bool = True
    cluster: str | None = None

    def __post_init__(self) -> None:
        if self.proposer not in ("openai", "gp", "replay"):
            raise SchedforgeError(
                f"unknown proposer {self.proposer!r}; available: openai, gp, replay"
            )
        for name in ("generations", "offspring", "islands", "population", "jobs"):
            if int(getattr(self, name)) < (0 if name == "generations" else 1):
                raise SchedforgeError(f"{name} must be a positive integer")
        if int(self.max_tokens) < 1:
            raise SchedforgeError("max_tokens must be a positive integer")
        if (
            isinstance(self.seed, bool)
            or not isinstance(self.seed, int)
            or not 0 <= self.seed < 2**31
        ):
            raise SchedforgeError(f"seed must satisfy 0 <= seed < 2**31, got {self.seed}")
        # Limits and budgets are numbers of their unit > 0 (a budget may be absent).
        budgets = ("budget_evaluations", "budget_tokens", "budget_cost", "budget_seconds")
        for name in ("cpu_seconds", "wall_seconds", "memory_mb", "timeout", *budgets):
            value = getattr(self, name)
            if name in budgets and value is None:
                continue
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value <= 0
            ):
                raise SchedforgeError(f"{name.replace('_', '-')} must be a number > 0, got {value}")
        if self.name is not None:
            from schedforge.discovery.export import check_name

            check_name(self.name)
        unknown = sorted(set(self.operators) - set(OPERATORS))
        if unknown or not any(v > 0 for v in self.operators.values()):
            raise SchedforgeError(f"operators must be weights over {', '.join(OPERATORS)}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DiscoveryConfig:
        """Inverse of :meth:`to_dict` (unknown keys ignored, for older archives)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def _key_gap(row: dict[str, Any]) -> tuple[float, int]:
    return (row["train_gap"] if row["train_gap"] is not None else math.inf, row["id"])


class Evolution:
    """One discovery run in a directory (new or resumed).

    Parameters
    ----------
    run_dir
        Directory of the run; holds ``archive.sqlite``.
    config
        The configuration of a new run; ``None`` to resume the run in ``run_dir``.
    overrides
        For a resumed run: new values of :data:`RESUMABLE_OVERRIDES` keys.
    progress
        Called with a summary dictionary after each generation.

    Raises
    ------
    SchedforgeError
        ``run_dir`` holds a different run, or nothing to resume.
    """

    def __init__(
        self,
        run_dir: str | Path,
        config: DiscoveryConfig | None = None,
        *,
        overrides: dict[str, Any] | None = None,
        progress: Callable[[dict[str, Any]], None] | None = None,
    ):
        self.run_dir = Path(run_dir)
        db = self.run_dir / "archive.sqlite"
        if config is None and not db.exists():
            raise SchedforgeError(f"{self.run_dir}: no discovery run to resume (no archive.sqlite)")
        if config is not None:
            # Check the problem and the proposer before anything touches the disk.
            self.template = get_template(config.problem)
            self.proposer = make_proposer(self.template, config.to_dict())
        self.archive = Archive(db)
        try:
            config = self._reconcile(config, overrides or {})
            self.template = get_template(config.problem)
            self.sets = self.template.sets(config.sets)
            self.proposer = make_proposer(self.template, config.to_dict())
            # What pooled_gap needs to rank exported candidates like the run did.
            self.archive.set_meta(
                "fitness",
                {
                    "worst_group": self.template.worst_group,
                    "groups": [*self.sets["train"].groups, *self.sets["validation"].groups],
                },
            )
        except BaseException:
            self.archive.close()
            raise
        self.config = config
        self.progress = progress
        self.stop_reason = ""
        self.pool: Any = None  # a SandboxPool or a ClusterPool while running
        self._session_start = time.perf_counter()
        self._session_evals = 0
        self._session_eval_seconds = 0.0
        self._isolation: bool | None = None

    # -- helpers -------------------------------------------------------------

    def _reconcile(
        self, config: DiscoveryConfig | None, overrides: dict[str, Any]
    ) -> DiscoveryConfig:
        """The run's configuration: stored (resume, with overrides) or new (stored now)."""
        stored = self.archive.get_meta("config")
        if config is None:
            if stored is None:
                raise SchedforgeError(f"{self.run_dir}: the archive holds no run configuration")
            data = dict(stored)
            for key, value in overrides.items():
                if key not in RESUMABLE_OVERRIDES:
                    raise SchedforgeError(f"{key} cannot change when a run is resumed")
                if value is not None:
                    data[key] = value
            config = DiscoveryConfig.from_dict(data)
        elif stored is not None and stored != config.to_dict():
            raise SchedforgeError(
                f"{self.run_dir} already holds a different run; use --resume {self.run_dir} "
                "or choose another --out"
            )
        self.archive.set_meta("config", config.to_dict())
        self.archive.set_meta("problem", config.problem)
        return config

    def close(self) -> None:
        """Close the archive."""
        self.archive.close()

    def _elapsed(self) -> float:
        return float(self.archive.get_meta("elapsed", 0.0)) + (
            time.perf_counter() - self._session_start
        )

    def _budget_exhausted(self) -> str:
        cfg = self.config
        totals = self.archive.totals()
        if cfg.budget_evaluations is not None and totals["evaluations"] >= cfg.budget_evaluations:
            return f"evaluation budget ({cfg.budget_evaluations}) reached"
        if cfg.budget_tokens is not None and totals["tokens"] >= cfg.budget_tokens:
            return f"token budget ({cfg.budget_tokens}) reached"
        if cfg.budget_cost is not None and totals["cost"] >= cfg.budget_cost:
            return f"cost budget (${cfg.budget_cost:g}) reached"
        if cfg.budget_seconds is not None and self._elapsed() >= cfg.budget_seconds:
            return f"time budget ({cfg.budget_seconds:g} s) reached"
        return ""

    def _evaluate(self, code: str, set_name: str) -> Evaluation:
        assert self.pool is not None
        evaluation = self.pool.evaluate(code, set_name)
        self._session_evals += 1
        return evaluation

    def _store_evaluation(self, cid: int, ev: Evaluation) -> None:
        if ev.network_isolated is not None and self._isolation is None:
            # Record once per session how the workers were isolated.
            self._isolation = ev.network_isolated
            self.archive.set_meta(
                "sandbox", {"network_isolated": ev.network_isolated, "limits": ev.limits}
            )
        self.archive.update_candidate(
            cid,
            status="evaluated",
            verdict=ev.verdict,
            message=ev.message,
            engine=ev.engine,
            numba_error=ev.numba_error,
            train_gap=ev.mean_gap if ev.ok else None,
            train_objectives=ev.objectives if ev.ok else None,
            train_gaps=ev.gaps if ev.ok else None,
            eval_seconds=ev.seconds,
        )

    def _evaluate_pending(self, generation: int) -> None:
        pending = self.archive.candidates("generation = ? AND status = 'pending'", (generation,))
        if not pending:
            return
        start = time.perf_counter()
        assert self.pool is not None
        with ThreadPoolExecutor(max_workers=self.pool.jobs) as executor:
            futures = {executor.submit(self._evaluate, c["code"], "train"): c for c in pending}
            for future in as_completed(futures):
                self._store_evaluation(futures[future]["id"], future.result())
        self._session_eval_seconds += time.perf_counter() - start

    # -- the loop -------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        """Run (or resume) until the generations or a budget are used up.

        Returns
        -------
        dict
            The last generation's summary with ``stop_reason``.
        """
        cfg = self.config
        limits = Limits(cfg.cpu_seconds, cfg.wall_seconds, cfg.memory_mb)
        summary: dict[str, Any] = {}
        try:
            # The hold-out set stays out of the loop; only export touches it.
            sets = {k: v for k, v in self.sets.items() if k in ("train", "validation")}
            with self._make_pool(sets, limits) as pool:
                self.pool = pool
                if self.archive.last_generation() < 0:
                    summary = self._seed_generation()
                generation = self.archive.last_generation() + 1
                while generation <= cfg.generations and not self.stop_reason:
                    summary = self._generation(generation)
                    generation += 1
                if not self.stop_reason:
                    self.stop_reason = f"{cfg.generations} generations done"
        finally:
            self.pool = None
            self.archive.set_meta("elapsed", self._elapsed())
            self._session_start = time.perf_counter()
        summary = summary or self.summary(self.archive.last_generation())
        summary["stop_reason"] = self.stop_reason
        return summary

    def _make_pool(self, sets: dict[str, Any], limits: Limits) -> Any:
        """The sandbox pool: local worker processes, or a Dask cluster with ``cluster``."""
        cfg = self.config
        if cfg.cluster:
            from schedforge.discovery.cluster import ClusterPool

            return ClusterPool(
                cfg.cluster, self.template, sets, limits=limits, jobs=cfg.jobs, engine=cfg.engine
            )
        return SandboxPool(self.template, sets, limits=limits, jobs=cfg.jobs, engine=cfg.engine)

    def _seed_generation(self) -> dict[str, Any]:
        """Generation 0: the template's seed heuristics."""
        existing = {c["idx"] for c in self.archive.candidates("generation = 0")}
        for idx, (name, code) in enumerate(self.template.seeds.items()):
            if idx in existing:
                continue
            self.archive.insert_candidate(
                generation=0,
                idx=idx,
                island=0,
                operator="seed",
                parents=[],
                code=code,
                hash=normalised_hash(code, self.template),
                genome=self.template.gp_seeds.get(name),
                prompt="",
                response=code,
                model=f"seed:{name}",
                status="pending",
            )
        self._evaluate_pending(0)
        ok = [c for c in self.archive.candidates("generation = 0 AND verdict = 'ok'")]
        if not ok:
            raise SchedforgeError("no seed heuristic passed the sandbox; check the template")
        ranked = [c["id"] for c in sorted(ok, key=_key_gap)][: self.config.population]
        islands = [list(ranked) for _ in range(self.config.islands)]
        return self._finish(0, islands)

    def _plan(self, generation: int, islands: list[list[int]]) -> list[tuple[int, Request]]:
        """The requests of a generation, from the archive and ``(seed, generation)`` only."""
        cfg = self.config
        rng = random.Random(f"{cfg.seed}:{generation}")
        rows = {c["id"]: c for c in self.archive.candidates("generation < ?", (generation,))}
        feedback: list[str] = []
        for row in reversed(list(rows.values())):
            if row["verdict"] not in (None, "ok", "duplicate", "behaviour_duplicate"):
                message = f"{row['verdict']}: {row['message']}"
                if message not in feedback:
                    feedback.append(message)
            if len(feedback) >= cfg.feedback:
                break
        ops = [op for op in OPERATORS if cfg.operators.get(op, 0) > 0]
        weights = [cfg.operators[op] for op in ops]
        ordinal = len(self.archive.candidates("generation >= 1 AND generation < ?", (generation,)))

        def parent(cid: int) -> Parent:
            row = rows[cid]
            return Parent(cid, row["code"], row["train_gap"], row.get("genome"))

        def tournament(members: list[int]) -> int:
            a, b = rng.choice(members), rng.choice(members)
            return min(a, b, key=lambda c: _key_gap(rows[c]))

        plan = []
        for idx in range(cfg.offspring):
            island = idx % len(islands)
            members = islands[island]
            operator = rng.choices(ops, weights)[0]
            if operator == "crossover" and len(set(members)) < 2:
                operator = "mutation"
            if operator == "new":
                chosen = members[:2]
            elif operator == "crossover":
                first = tournament(members)
                second = tournament([m for m in members if m != first])
                chosen = [first, second]
            else:
                chosen = [tournament(members)]
            request = Request(
                operator=operator,
                parents=tuple(parent(c) for c in chosen),
                feedback=tuple(reversed(feedback)),
                seed=rng.randrange(2**31),
                ordinal=ordinal + idx,
            )
            plan.append((island, request))
        return plan

    def _generation(self, generation: int) -> dict[str, Any]:
        islands = self.archive.population(generation - 1)
        existing = {c["idx"] for c in self.archive.candidates("generation = ?", (generation,))}
        todo = [
            (idx, island, request)
            for idx, (island, request) in enumerate(self._plan(generation, islands))
            if idx not in existing  # proposed before a crash: never asked twice
        ]
        # A model endpoint is slow, so its calls go out ``jobs`` at a time;
        # gp and replay are instantaneous and stay one at a time. Results
        # are stored in request order either way, so ids stay reproducible.
        batch = self.config.jobs if self.config.proposer == "openai" else 1
        for first in range(0, len(todo), batch):
            reason = self._budget_exhausted()
            if reason:
                self.stop_reason = reason
                break
            chunk = todo[first : first + batch]
            if len(chunk) == 1:
                proposals = [self.proposer.propose(chunk[0][2])]
            else:
                with ThreadPoolExecutor(max_workers=len(chunk)) as executor:
                    proposals = list(executor.map(self.proposer.propose, [c[2] for c in chunk]))
            for (idx, island, request), proposal in zip(chunk, proposals, strict=True):
                if proposal.error == "replay exhausted":
                    self.stop_reason = "replay exhausted"
                    break
                self._store_proposal(generation, idx, island, request, proposal)
            if self.stop_reason:
                break
        self._evaluate_pending(generation)
        self._behaviour_dedup(generation)
        self._validate_best()
        rows = {c["id"]: c for c in self.archive.candidates("verdict = 'ok'")}
        new = [c for c in rows.values() if c["generation"] == generation]
        for cand in sorted(new, key=lambda c: c["idx"]):
            islands[cand["island"]].append(cand["id"])
        islands = [self._truncate(isl, rows) for isl in islands]
        islands = self._migrate_and_reset(generation, islands, rows)
        return self._finish(generation, islands)

    def _store_proposal(
        self, generation: int, idx: int, island: int, request: Request, proposal: Proposal
    ) -> None:
        """Insert a proposal; a code duplicate or a failed call is final at once."""
        fields_: dict[str, Any] = {}
        if proposal.code is None:
            verdict = "no_code" if "no code" in (proposal.error or "") else "proposer_error"
            fields_ = {"status": "evaluated", "verdict": verdict, "message": proposal.error}
        else:
            code_hash = normalised_hash(proposal.code, self.template)
            first = self.archive.find_hash(code_hash)
            fields_ = {"hash": code_hash, "status": "pending"}
            if first is not None:
                fields_ |= {
                    "status": "evaluated",
                    "verdict": "duplicate",
                    "message": f"same code as candidate {first}",
                    "duplicate_of": first,
                }
        self.archive.insert_candidate(
            generation=generation,
            idx=idx,
            island=island,
            operator=request.operator,
            parents=[p.id for p in request.parents],
            code=proposal.code,
            genome=proposal.genome,
            prompt=proposal.prompt,
            response=proposal.response,
            model=proposal.model,
            prompt_tokens=proposal.prompt_tokens,
            completion_tokens=proposal.completion_tokens,
            cost=proposal.cost,
            retries=proposal.retries,
            propose_seconds=proposal.seconds,
            **fields_,
        )

    def _truncate(self, members: list[int], rows: dict[int, dict[str, Any]]) -> list[int]:
        unique = list(dict.fromkeys(members))
        return sorted(unique, key=lambda c: _key_gap(rows[c]))[: self.config.population]

    def _migrate_and_reset(
        self, generation: int, islands: list[list[int]], rows: dict[int, dict[str, Any]]
    ) -> list[list[int]]:
        cfg = self.config
        count = len(islands)
        if count < 2:
            return islands
        if cfg.migration_every and generation % cfg.migration_every == 0:
            bests = [isl[0] for isl in islands]
            islands = [
                self._truncate(islands[k] + [bests[(k - 1) % count]], rows) for k in range(count)
            ]
        if cfg.reset_every and generation % cfg.reset_every == 0:
            rng = random.Random(f"{cfg.seed}:{generation}:reset")
            order = sorted(range(count), key=lambda k: (_key_gap(rows[islands[k][0]]), k))
            survivors, weak = order[: count - count // 2], order[count - count // 2 :]
            for k in weak:
                donor = islands[rng.choice(survivors)][0]
                islands[k] = [donor]
        return islands

    def _behaviour_dedup(self, generation: int) -> None:
        """Mark candidates that behave exactly like an earlier one (same training objectives)."""
        seen: dict[str, int] = {}
        with self.archive.transaction() as con:
            for row in self.archive.candidates("verdict = 'ok'"):
                key = json.dumps(row["train_objectives"])
                if key in seen and row["generation"] == generation:
                    self.archive.update_candidate(
                        row["id"],
                        con,
                        verdict="behaviour_duplicate",
                        message=f"same training objectives as candidate {seen[key]}",
                        duplicate_of=seen[key],
                    )
                else:
                    seen.setdefault(key, row["id"])

    def _validate_best(self) -> None:
        """Give the ``validate_top`` best candidates by training gap a validation score."""
        ok = sorted(self.archive.candidates("verdict = 'ok'"), key=_key_gap)
        todo = [c for c in ok[: self.config.validate_top] if c["validation_gap"] is None]
        start = time.perf_counter()
        for cand in todo:
            ev = self._evaluate(cand["code"], "validation")
            self.archive.update_candidate(
                cand["id"],
                validation_gap=ev.mean_gap if ev.ok else math.inf,
                validation_gaps=ev.gaps if ev.ok else None,
            )
        self._session_eval_seconds += time.perf_counter() - start

    def _finish(self, generation: int, islands: list[list[int]]) -> dict[str, Any]:
        summary = self.summary(generation, islands)
        with self.archive.transaction() as con:
            self.archive.finish_generation(con, generation, islands, summary)
        self.archive.set_meta("elapsed", self._elapsed())
        self._session_start = time.perf_counter()
        if self.progress is not None:
            self.progress(summary)
        return summary

    def summary(self, generation: int, islands: list[list[int]] | None = None) -> dict[str, Any]:
        """Best train/validation gaps, evaluations, tokens, cost and speed so far.

        ``evals_per_second`` is this session's sandbox evaluations per second of
        wall time spent evaluating (all workers together); ``verdicts`` and
        ``top_rejection`` describe this generation (:func:`verdict_counts`).
        """
        ok = sorted(self.archive.candidates("verdict = 'ok'"), key=_key_gap)
        validated = [c["validation_gap"] for c in ok if c["validation_gap"] is not None]
        totals = self.archive.totals()
        rate = self._session_evals / self._session_eval_seconds if self._session_eval_seconds else 0
        return {
            "generation": generation,
            "generations": self.config.generations,
            "best_id": ok[0]["id"] if ok else None,
            "best_train_gap": ok[0]["train_gap"] if ok else None,
            "best_validation_gap": min(validated) if validated else None,
            "evaluations": totals["evaluations"],
            "tokens": totals["tokens"],
            "cost": totals["cost"],
            "seconds": self._elapsed(),
            "evals_per_second": rate,
            "islands": islands,
            **verdict_counts(self.archive, generation),
        }


def _verdict_group(verdict: str | None) -> str | None:
    if verdict in ("ok", "behaviour_duplicate"):
        return "ok"
    if verdict in ("rejected", "duplicate", "timeout"):
        return verdict
    if verdict == "cpu_limit":
        return "timeout"
    if verdict in ("no_code", "proposer_error"):
        return "no_code"
    return None if verdict is None else "error"


def _rejection_key(message: str) -> str:
    """A rejection message without its line number and hint, to count alike ones together."""
    return re.sub(r" \(line \d+\)", "", message or "").split(";")[0].strip()


def verdict_counts(archive: Archive, generation: int) -> dict[str, Any]:
    """What became of generation ``generation``'s proposals.

    Returns
    -------
    dict
        ``verdicts``: counts of ``proposed``, ``rejected`` (static check),
        ``error`` (exception, invalid output or solution, crash, tampering),
        ``timeout`` (wall clock or CPU), ``ok``, ``improved`` (ok and better
        on the training set than every earlier generation), ``no_code``
        (answer without code, failed call) and ``duplicate``;
        ``top_rejection``: the most common rejection and its count, or ``None``.
    """
    rows = archive.candidates("generation = ?", (generation,))
    before = [
        c["train_gap"]
        for c in archive.candidates("generation < ? AND verdict = 'ok'", (generation,))
    ]
    best_before = min(before) if before else math.inf
    counts = dict.fromkeys(
        ("proposed", "rejected", "error", "timeout", "ok", "improved", "no_code", "duplicate"), 0
    )
    rejections: Counter[str] = Counter()
    for row in rows:
        counts["proposed"] += 1
        group = _verdict_group(row["verdict"])
        if group is not None:
            counts[group] += 1
        if row["verdict"] == "ok" and row["train_gap"] is not None:
            counts["improved"] += row["train_gap"] < best_before
        if row["verdict"] == "rejected":
            rejections[_rejection_key(row["message"])] += 1
    top = rejections.most_common(1)
    return {"verdicts": counts, "top_rejection": list(top[0]) if top else None}


def pooled_gap(row: dict[str, Any], fitness: dict[str, Any] | None = None) -> float:
    """Fitness over the training and validation instances together.

    Selecting on validation alone rewards noise when the validation set is
    small (a candidate can be lucky on a few instances); pooling both sets
    ranks on every instance the run has measured. ``fitness`` is the run's
    ``fitness`` metadata (group labels of train + validation, whether the
    worst group counts, see :func:`~schedforge.discovery.templates.set_fitness`);
    without it, the mean gap. ``inf`` when either part is missing or failed.
    """
    train, val = row.get("train_gaps"), row.get("validation_gaps")
    if not train or not val or row.get("validation_gap") in (None, math.inf):
        return math.inf
    fitness = fitness or {}
    groups = fitness.get("groups") or ()
    if len(groups) != len(train) + len(val):
        groups = ()
    return set_fitness([*train, *val], groups, bool(fitness.get("worst_group")))


def best_candidate(archive: Archive) -> dict[str, Any] | None:
    """The candidate to export.

    Among the validated candidates (the best few on train of each
    generation), the one with the best fitness over training and validation
    instances pooled (:func:`pooled_gap`: for a template with
    ``worst_group``, the worse group's mean gap); without any, the best
    train gap. The search itself ranks on the mean gap, which changes
    smoothly; the export is judged as the goal is (every group improved).
    """
    ok = archive.candidates("verdict = 'ok'")
    if not ok:
        return None
    validated = [c for c in ok if c["validation_gap"] is not None]
    if validated:
        fitness = archive.get_meta("fitness")
        return min(
            validated, key=lambda c: (pooled_gap(c, fitness), c["validation_gap"], *_key_gap(c))
        )
    return min(ok, key=_key_gap)
