"""Executors: where the grid runs. Local worker processes, or a Dask cluster.

Both take task payloads and call ``on_result(payload, row)`` in the calling
process as each run finishes, so the one SQLite database is written only by
the client, whatever the executor. Both run every task in a
:class:`~schedforge.bench.runner.WorkerSlot` (a long-lived worker process
with a hard wall-clock limit): on Dask, each task thread of each Dask worker
keeps its own slot.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from schedforge.bench.runner import LocalPool, WorkerSlot, failure_row
from schedforge.core.errors import SchedforgeError

OnResult = Callable[[dict[str, Any], dict[str, Any]], None]
OnStart = Callable[[dict[str, Any]], None]


def solver_threads(method_specs: Sequence[Any], problems: Iterable[str]) -> int:
    """The most threads any of the methods uses (its ``threads`` option, else its default)."""
    from schedforge.core.registry import resolve

    most = 1
    for problem in problems:
        for spec in method_specs:
            entry, _ = resolve(problem, spec.spec)
            value = dict(spec.options).get("threads", entry.threads)
            if isinstance(value, int) and not isinstance(value, bool):
                most = max(most, value)
    return most


def oversubscription(jobs: int, threads: int, cores: int | None = None) -> str | None:
    """A warning when ``jobs × threads`` exceeds the cores, else ``None``.

    Timings taken on an oversubscribed machine are not comparable: methods
    wait for cores instead of computing.
    """
    cores = cores or os.cpu_count() or 1
    if jobs * threads <= cores:
        return None
    return (
        f"{jobs} jobs × {threads} solver thread(s) = {jobs * threads} > {cores} cores: "
        "runs will compete for cores and their times will not be comparable; "
        f"use --jobs {max(1, cores // threads)} or fewer solver workers"
    )


class LocalExecutor:
    """``jobs`` local worker processes (the default executor)."""

    name = "local"

    def __init__(self, jobs: int, **slot_options: Any):
        self.jobs = jobs
        self.slot_options = slot_options
        self.pool: LocalPool | None = None

    def __enter__(self) -> LocalExecutor:
        self.pool = LocalPool(self.jobs, **self.slot_options).__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.__exit__(*exc)

    def run(
        self, payloads: Iterable[dict[str, Any]], on_result: OnResult, on_start: OnStart | None
    ) -> None:
        """Run every payload, reporting each result as it arrives."""
        assert self.pool is not None
        self.pool.run(payloads, on_result, on_start)


# One worker slot per (Dask task thread, slot options): the worker process
# outlives the task and serves the next task of the same thread.
_slots = threading.local()


def run_on_dask_worker(payload: dict[str, Any], slot_options: dict[str, Any]) -> dict[str, Any]:
    """Dask task: run ``payload`` in this thread's worker slot; return the row.

    Importable on every Dask worker that has schedforge installed.
    """
    key = repr(sorted(slot_options.items()))
    slots = getattr(_slots, "by_options", None)
    if slots is None:
        slots = _slots.by_options = {}
    slot = slots.get(key)
    if slot is None:
        slot = slots[key] = WorkerSlot(**slot_options)
    return slot.run(payload)


class DaskExecutor:
    """The grid on a Dask distributed cluster; results come back to this client.

    Parameters
    ----------
    scheduler
        Address of a running scheduler (``tcp://host:8786``); ``None`` starts
        a :class:`distributed.LocalCluster` with ``jobs`` single-threaded
        worker processes.
    jobs
        Workers of the local cluster (ignored with ``scheduler``).
    **slot_options
        Passed to the worker slots on the Dask workers (plugins, grace, ...).
        Plugin files must exist at the same path on the Dask workers.
    """

    name = "dask"

    def __init__(self, scheduler: str | None, jobs: int, **slot_options: Any):
        self.scheduler = scheduler
        self.jobs = jobs
        self.slot_options = slot_options
        self.client: Any = None
        self.cluster: Any = None

    def __enter__(self) -> DaskExecutor:
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise SchedforgeError(
                "--executor dask needs dask.distributed: pip install 'dask[distributed]'"
            ) from None
        if self.scheduler:
            try:
                self.client = Client(self.scheduler, timeout="30s")
            except OSError as exc:
                raise SchedforgeError(
                    f"cannot reach the Dask scheduler at {self.scheduler}: {exc}"
                ) from None
        else:
            self.cluster = LocalCluster(
                n_workers=self.jobs,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                silence_logs=40,  # logging.ERROR: keep the progress bar readable
            )
            self.client = Client(self.cluster)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def run(
        self, payloads: Iterable[dict[str, Any]], on_result: OnResult, on_start: OnStart | None
    ) -> None:
        """Submit every payload; store results in completion order."""
        from dask.distributed import as_completed

        by_future = {}
        for payload in payloads:
            future = self.client.submit(
                run_on_dask_worker,
                payload,
                self.slot_options,
                key=f"schedforge-run-{payload['key']}",
                pure=False,
                retries=0,
            )
            by_future[future] = payload
        try:
            for future in as_completed(list(by_future)):
                payload = by_future.pop(future)
                try:
                    row = future.result()
                except Exception as exc:  # the Dask worker itself failed
                    row = failure_row("ERROR", f"dask: {type(exc).__name__}: {exc}", None)
                on_result(payload, row)
        finally:
            # Ctrl-C or an error: nothing unfinished is stored; cancel the rest.
            if by_future:
                self.client.cancel(list(by_future))
