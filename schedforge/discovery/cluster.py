"""Evaluate candidates on a Dask cluster; each Dask worker runs the same sandbox.

:class:`ClusterPool` has the interface of
:class:`~schedforge.discovery.sandbox.SandboxPool` (``evaluate``,
``evaluate_many``, ``jobs``, ``close``), so the evolution loop uses either.
It checks a candidate against the allow-list locally, sends it to the
cluster, where a Dask task runs it in a sandbox pool kept by that Dask
worker process (the same worker processes, limits and checks as locally),
and judges the raw reply in this process: solutions are validated and
scored by the client, never on the cluster.

A Dask worker that dies takes its running evaluations with it; the
scheduler runs them again on another worker, so a killed worker costs a
re-evaluation. Each candidate is one future whose result is used once: none
is lost or stored twice. After too many lost workers (Dask's
``allowed-failures``) the evaluation is recorded as ``crashed``.
"""

from __future__ import annotations

import hashlib
import pickle
import threading
import time
from collections.abc import Sequence
from typing import Any

from schedforge.core.errors import SchedforgeError
from schedforge.discovery.sandbox import (
    CandidateRejected,
    Evaluation,
    Limits,
    SandboxPool,
    check_code,
)
from schedforge.discovery.templates import EvalSet, Template, get_template

# Sandbox pools of this Dask worker process, by specification digest.
_pools: dict[str, SandboxPool] = {}
_pools_lock = threading.Lock()


def run_on_dask_worker(spec: bytes, digest: str, code: str, set_name: str) -> dict[str, Any]:
    """Dask task: run checked ``code`` in this Dask worker's sandbox pool; the raw reply.

    The pool (one sandbox worker process per Dask task thread) is created on
    first use and kept for the next tasks of the same run.
    """
    with _pools_lock:
        pool = _pools.get(digest)
        if pool is None:
            from distributed import get_worker

            data = pickle.loads(spec)  # from the client, like every Dask task
            pool = SandboxPool(
                get_template(data["problem"]),
                {},
                limits=Limits(**data["limits"]),
                jobs=get_worker().state.nthreads,
                engine=data["engine"],
                numba_threshold=data["numba_threshold"],
                encoded=data["encoded"],
            )
            _pools[digest] = pool
    return pool.run_checked(code, set_name)


class ClusterPool:
    """Sandbox evaluations on a Dask cluster (see the module docstring).

    Parameters
    ----------
    address
        The Dask scheduler, ``tcp://host:8786``.
    template, sets, limits, engine, numba_threshold
        As for :class:`~schedforge.discovery.sandbox.SandboxPool`.
    jobs
        Evaluations in flight at least; the cluster's thread count when larger.
    """

    def __init__(
        self,
        address: str,
        template: Template,
        sets: dict[str, EvalSet],
        *,
        limits: Limits | None = None,
        jobs: int = 1,
        engine: str = "auto",
        numba_threshold: int = 5000,
    ):
        try:
            from distributed import Client
        except ImportError:
            raise SchedforgeError(
                "--cluster needs dask.distributed: pip install 'dask[distributed]'"
            ) from None
        limits = limits or Limits()
        # Judging happens here: a local pool whose workers never start.
        self.local = SandboxPool(
            template, sets, limits=limits, engine=engine, numba_threshold=numba_threshold
        )
        self.template = template
        try:
            self.client = Client(address, timeout="30s")
        except OSError as exc:
            raise SchedforgeError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        spec = pickle.dumps(
            {
                "problem": template.problem,
                "encoded": self.local.encoded_sets(),
                "limits": {
                    "cpu_seconds": limits.cpu_seconds,
                    "wall_seconds": limits.wall_seconds,
                    "memory_mb": limits.memory_mb,
                },
                "engine": engine,
                "numba_threshold": numba_threshold,
            }
        )
        self.digest = hashlib.sha256(spec).hexdigest()
        # Sent once to every Dask worker (fetched from a peer by later ones).
        self.spec = self.client.scatter(spec, broadcast=True, hash=False)
        threads = sum(
            w.get("nthreads", 1) for w in self.client.scheduler_info()["workers"].values()
        )
        self.jobs = max(int(jobs), threads, 1)

    def __enter__(self) -> ClusterPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Disconnect from the cluster (its workers keep their sandbox pools)."""
        self.client.close()

    def evaluate(self, code: str, set_name: str = "train") -> Evaluation:
        """Evaluate ``code`` on ``set_name`` on the cluster; never raises for bad candidates."""
        start = time.perf_counter()
        try:
            check_code(code, self.template)
        except CandidateRejected as exc:
            return Evaluation("rejected", str(exc), seconds=time.perf_counter() - start)
        future = self.client.submit(
            run_on_dask_worker, self.spec, self.digest, code, set_name, pure=False
        )
        try:
            reply = future.result()
        except Exception as exc:  # the Dask worker died too often, or the scheduler is gone
            reply = {"verdict": "crashed", "message": f"dask: {type(exc).__name__}: {exc}"}
        finally:
            future.release()
        evaluation = self.local.judge(reply, set_name)
        evaluation.seconds = time.perf_counter() - start
        return evaluation

    def evaluate_many(self, codes: Sequence[str], set_name: str = "train") -> list[Evaluation]:
        """Evaluate several candidates with up to ``jobs`` in flight, results in order."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            return list(pool.map(lambda c: self.evaluate(c, set_name), codes))
