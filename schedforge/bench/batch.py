"""One benchmark batch: expand the grid, skip what is stored, run the rest, store rows.

:func:`run_batch` is what ``schedforge bench`` calls; it is usable from
Python too::

    from schedforge.bench import BenchConfig, run_batch
    from schedforge.bench.grid import MethodSpec
    outcome = run_batch(BenchConfig(
        instances=["suite:smtt-demo"],
        methods=[MethodSpec.parse("rule:edd"), MethodSpec.parse("ils:mddc")],
        time_limit=1.0, jobs=2, out="runs/demo"))
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schedforge.bench.executors import (
    DaskExecutor,
    LocalExecutor,
    oversubscription,
    solver_threads,
)
from schedforge.bench.grid import MethodSpec, Task, build_grid, expand_instances
from schedforge.bench.reference import gap, load_reference, reference_for
from schedforge.bench.runner import open_log
from schedforge.bench.storage import FAILED, Store
from schedforge.bench.worker import import_plugins
from schedforge.core.errors import InvalidOption
from schedforge.core.paths import check_output_folder
from schedforge.core.registry import load_plugins
from schedforge.core.warmup import compile_method


@dataclass
class BenchConfig:
    """Everything that defines a batch (the command line or a TOML experiment file).

    Parameters
    ----------
    instances
        Files, directories, globs, ``suite:<name>`` or dataset names (``psplib:j30``).
    limit
        Run only the first ``limit`` instances (in reading order), to try a set quickly.
    methods
        Method specs with options.
    time_limit
        Seconds per run, given to every method.
    seeds
        Seeds; each (instance, method) runs once per seed.
    jobs
        Parallel worker processes (local) or LocalCluster workers (Dask).
    out
        Output folder; holds ``results.sqlite`` and ``workers.log``.
    references
        Reference tables (``FILE`` or ``FILE:COLUMN``), first match wins.
    executor
        ``"local"`` or ``"dask"``.
    scheduler
        Dask scheduler address; ``None`` starts a LocalCluster.
    plugins
        Modules or ``.py`` files registering extra methods, imported here
        and in every worker.
    grace
        Seconds a run may exceed its time limit before it is killed
        (``None``: 5 s + 10 % of the limit).
    warmup
        One untimed warm-up run per method and worker before timed runs.
    warmup_limit
        Seconds a warm-up run may take (``None``: 30 s + limit + grace).
    export
        Files (``.csv``/``.parquet``) to export every stored run to at the end.
    retry_failed
        Run again the ``ERROR``/``TIMEOUT`` runs of the grid that are stored
        (after fixing a method, say); otherwise they count as finished.
    """

    instances: list[str]
    methods: list[MethodSpec]
    time_limit: float
    seeds: list[int] = field(default_factory=lambda: [0])
    jobs: int = 1
    out: Path = Path("bench-results")
    references: list[str] = field(default_factory=list)
    executor: str = "local"
    scheduler: str | None = None
    plugins: list[str] = field(default_factory=list)
    grace: float | None = None
    warmup: bool = True
    warmup_limit: float | None = None
    export: list[Path] = field(default_factory=list)
    retry_failed: bool = False
    limit: int | None = None

    def check(self) -> None:
        """Raise :class:`InvalidOption` for any value a batch cannot run with.

        Called before anything runs, so a bad option never costs a run.
        """
        _number(self.time_limit, "--time-limit", "must be a number of seconds > 0", low=0.0)
        if self.grace is not None:
            _number(
                self.grace, "--grace", "must be a number of seconds >= 0", low=0.0, strict=False
            )
        if self.warmup_limit is not None:
            _number(self.warmup_limit, "warmup_limit", "must be a number of seconds > 0", low=0.0)
        if not self.seeds:
            raise InvalidOption("--seeds: no seed given")
        for seed in self.seeds:
            if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31:
                raise InvalidOption(
                    f"--seeds: every seed must satisfy 0 <= seed < 2**31, got {seed}"
                )
        if self.executor not in ("local", "dask"):
            raise InvalidOption(f"unknown executor {self.executor!r}; use local or dask")
        if self.scheduler and self.executor != "dask":
            raise InvalidOption(
                "--scheduler is the address of a Dask scheduler: add --executor dask"
            )
        if isinstance(self.jobs, bool) or not isinstance(self.jobs, int) or self.jobs < 1:
            raise InvalidOption(f"--jobs must be an integer >= 1, got {self.jobs}")
        if self.limit is not None and self.limit < 1:
            raise InvalidOption(f"--limit must be >= 1, got {self.limit}")
        check_output_folder(self.out, "--out")
        for path in self.export:
            path = Path(path)
            if path.suffix.lower() not in (".csv", ".parquet"):
                raise InvalidOption(f"--export {path}: export to a .csv or .parquet file")
            if path.is_dir():
                raise InvalidOption(f"--export {path}: is a folder; give a file name")
            check_output_folder(path.parent, "--export")


def _number(value: Any, option: str, rule: str, *, low: float, strict: bool = True) -> None:
    """Raise ``InvalidOption`` unless ``value`` is a finite number above ``low``."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < low or (strict and value == low):
        raise InvalidOption(f"{option} {rule}, got {value}")


@dataclass
class BatchOutcome:
    """What a batch did."""

    database: Path
    planned: int
    skipped: int
    done: int = 0
    failed: int = 0
    warnings: list[str] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)


class Progress:
    """Hooks a batch calls; the default does nothing (the CLI shows a Rich bar)."""

    def begin(self, total: int, skipped: int) -> None:
        """The batch starts ``total`` runs (``skipped`` were already stored)."""

    def started(self, task: Task) -> None:
        """A run was handed to a worker."""

    def finished(self, task: Task, row: dict[str, Any]) -> None:
        """A run ended and was stored."""

    def end(self) -> None:
        """The batch ended (also on Ctrl-C)."""


def run_batch(
    config: BenchConfig,
    *,
    progress: Progress | None = None,
    command: str = "",
    warn: Callable[[str], None] | None = None,
) -> BatchOutcome:
    """Run the grid of ``config``, skipping runs already in the database.

    Rows are stored as runs finish. Interrupting (Ctrl-C) leaves the
    database with every finished run and nothing else; the next call with
    the same configuration runs only what is missing.
    """
    config.check()
    progress = progress or Progress()
    load_plugins()
    import_plugins(config.plugins)
    instances = expand_instances(config.instances)[: config.limit]
    tasks = build_grid(instances, config.methods, config.seeds, config.time_limit)
    tables = [load_reference(spec) for spec in config.references]
    refs = {item.name: reference_for(item.instance, item.source, tables) for item in instances}

    store = Store(Path(config.out))
    store.mark_interrupted()
    outcome = BatchOutcome(store.path, planned=len(tasks), skipped=0, keys={t.key for t in tasks})
    try:
        store.add_instances(
            (item.hash, item.name, item.problem, item.instance.to_dict()) for item in instances
        )
        if config.retry_failed:
            store.delete_failed(t.key for t in tasks)
        finished = store.finished_keys()
        todo = [t for t in tasks if t.key not in finished]
        outcome.skipped = len(tasks) - len(todo)
        messages = []
        if config.executor == "local" or config.scheduler is None:
            threads = solver_threads(config.methods, {i.problem for i in instances})
            messages.append(oversubscription(config.jobs, threads))
        for spec, table in zip(config.references, tables, strict=True):
            # A table that matches nothing (a typo, the wrong file) would
            # silently leave every gap measured against the best found.
            if not any(table.lookup(i.name, i.source) for i in instances):
                messages.append(
                    f"--reference {spec}: no row matches any of the {len(instances)} instances "
                    f"(e.g. {instances[0].name!r}); their gaps use other references"
                )
        for message in filter(None, messages):
            outcome.warnings.append(message)
            if warn is not None:
                warn(message)
        if tables:
            # A reference table given now also applies to runs stored earlier.
            _restamp_references(store, tasks, refs)
        if not todo:
            _export(store, config.export)
            return outcome
        by_key = {t.key: t for t in todo}
        batch = store.begin_batch(command, config.executor, len(tasks), outcome.skipped)

        def on_start(payload: dict[str, Any]) -> None:
            progress.started(by_key[payload["key"]])

        def on_result(payload: dict[str, Any], row: dict[str, Any]) -> None:
            task = by_key[payload["key"]]
            record = _record(task, row, batch, refs[task.instance.name])
            store.add_run(record)
            outcome.done += 1
            outcome.failed += record["status"] in FAILED
            progress.finished(task, record)

        # Compile in this process first (numba's on-disk cache then serves
        # every worker), so that no worker compiles inside a timed run.
        for problem, spec, options in sorted(
            {(t.instance.problem, t.method.spec, t.method.options) for t in todo}, key=repr
        ):
            compile_method(problem, spec, dict(options))
        slot_options = {
            "plugins": [_absolute(p) for p in config.plugins],
            "warmup": config.warmup,
            "grace": config.grace,
            "warmup_limit": config.warmup_limit,
        }
        state = "failed"
        progress.begin(len(todo), outcome.skipped)
        log = open_log(store.path.parent / "workers.log") if config.executor == "local" else None
        try:
            if config.executor == "local":
                executor: Any = LocalExecutor(config.jobs, log=log, **slot_options)
            else:
                executor = DaskExecutor(config.scheduler, config.jobs, **slot_options)
            with executor:
                executor.run([t.payload() for t in todo], on_result, on_start)
            state = "finished"
        except KeyboardInterrupt:
            state = "interrupted"
            raise
        finally:
            progress.end()
            if log is not None:
                log.close()
            store.end_batch(batch, outcome.done, state)
        _export(store, config.export)
        return outcome
    finally:
        store.close()


def _export(store: Store, paths: list[Path]) -> None:
    for path in paths:
        store.export(path)


def _restamp_references(
    store: Store, tasks: list[Task], refs: dict[str, tuple[float | None, str | None]]
) -> None:
    """Store the current reference (and gap) on the grid's runs stored earlier."""
    keys = {t.key for t in tasks}
    updates = []
    for row in store.runs():
        value, source = refs.get(row["instance"], (None, None))
        if value is None or row["key"] not in keys:
            continue
        solved = row["status"] in ("OPTIMAL", "FEASIBLE")
        updates.append(
            (value, source, gap(row["objective"], value) if solved else None, row["key"])
        )
    store.set_references(updates)


def _absolute(plugin: str) -> str:
    """Plugin files as absolute paths (workers may start in another folder)."""
    if plugin.endswith(".py"):
        return str(Path(plugin).resolve())
    return plugin


def _record(
    task: Task, row: dict[str, Any], batch: int, reference: tuple[float | None, str | None]
) -> dict[str, Any]:
    """The database row of a finished run."""
    value, source = reference
    versions = row.get("versions") or {}
    solved = row["status"] in ("OPTIMAL", "FEASIBLE")
    return {
        **row,
        "key": task.key,
        "batch": batch,
        "instance": task.instance.name,
        "instance_hash": task.instance.hash,
        "problem": task.instance.problem,
        "source": task.instance.source,
        "method": task.method.label,
        "spec": task.method.spec,
        "options": json.dumps(dict(task.method.options), sort_keys=True, default=str),
        "seed": task.seed,
        "time_limit": task.time_limit,
        "reference": value,
        "reference_source": source,
        "gap": gap(row.get("objective"), value) if solved else None,
        "schedforge_version": versions.get("schedforge"),
        "ortools_version": versions.get("ortools"),
        "pulp_version": versions.get("pulp"),
        "numba_version": versions.get("numba"),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
