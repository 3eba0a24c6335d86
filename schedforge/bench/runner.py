"""Long-lived worker processes with hard wall-clock limits enforced by the parent.

Every benchmark run executes in a worker process (:mod:`schedforge.bench.worker`)
that runs one task at a time. Workers live for many tasks, so the cost of
starting Python, importing the solvers and loading numba's cache is paid
once per worker, not once per run. The parent keeps the clock: when a run
passes its time limit plus a grace period, the parent kills the worker's
whole process group (the worker and any solver subprocess it started, such
as CBC) and starts a fresh worker. A method that hangs or crashes therefore
costs one ``TIMEOUT`` or ``ERROR`` row, never the batch.

:class:`WorkerSlot` is one such worker; :class:`LocalPool` drives ``jobs``
slots from one event loop (the local executor); :meth:`WorkerSlot.run` runs
one task synchronously (used on Dask workers).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import IO, Any

from schedforge.bench.worker import WARMUP_RUN_LIMIT
from schedforge.core.errors import SchedforgeError
from schedforge.core.procpool import kill_group, spawn

# Seconds a new worker may take to import schedforge and the plugins.
STARTUP_LIMIT = 120.0


def default_grace(time_limit: float) -> float:
    """Seconds a run may exceed its time limit before it is killed: 5 s + 10 %.

    Methods stop on their own clock, but model building, solver start-up and
    a loaded machine add a little; the grace absorbs that without letting a
    hung run hold a worker for long.
    """
    return 5.0 + 0.1 * time_limit


def _signal_name(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with code {returncode}"


def failure_row(status: str, message: str, runtime: float | None) -> dict[str, Any]:
    """A result row for a run that produced no outcome (``TIMEOUT`` or ``ERROR``)."""
    return {
        "status": status,
        "objective": None,
        "bound": None,
        "solver_gap": None,
        "runtime": runtime,
        "solution": None,
        "stats": None,
        "message": message,
        "traceback": None,
        "peak_memory_mb": None,
        "worker": None,
        "versions": None,
    }


class WorkerSlot:
    """One worker process and the task it is running.

    Parameters
    ----------
    plugins
        Plugin modules (names or ``.py`` paths) the worker imports.
    warmup
        Whether the worker does an untimed warm-up run of each method before
        its first timed run.
    grace
        Seconds allowed past the time limit before the run is killed;
        ``None`` means :func:`default_grace`.
    warmup_limit
        Seconds a warm-up run (or the hand-over of a task) may take before the
        worker is killed; ``None`` means ``30 + time_limit + grace``, room for
        numba to compile a method's kernels on a cold cache.
    log
        Open file receiving the worker's stdout/stderr (``None``: discarded).
    """

    def __init__(
        self,
        *,
        plugins: Sequence[str] = (),
        warmup: bool = True,
        grace: float | None = None,
        warmup_limit: float | None = None,
        log: IO[bytes] | None = None,
        spares: list[WorkerSlot] | None = None,
    ):
        self.options = {
            "plugins": plugins,
            "warmup": warmup,
            "grace": grace,
            "warmup_limit": warmup_limit,
            "log": log,
        }
        self.spares = spares
        self.plugins = list(plugins)
        self.warmup = warmup
        self.grace_seconds = grace
        self.warmup_limit = warmup_limit
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.inbox: Connection | None = None  # worker -> parent
        self.outbox: Connection | None = None  # parent -> worker
        self.ready = False
        self.info: dict[str, Any] = {}
        self.task: dict[str, Any] | None = None
        self.phase = ""
        self.deadline = float("inf")
        self.assigned_at = 0.0
        self.started_at = 0.0
        # Methods this slot has warmed up (or tried to): a worker started
        # after a kill does not repeat the warm-up, which for a method that
        # hangs would cost the warm-up limit once per killed run.
        self.warmed: set[str] = set()

    # ------------------------------------------------------------------ life

    def start(self) -> None:
        """Start the worker process (does not wait for it to be ready)."""
        to_child_r, to_child_w = os.pipe()
        to_parent_r, to_parent_w = os.pipe()
        target = self.log if self.log is not None else subprocess.DEVNULL
        try:
            self.process = spawn(
                [
                    sys.executable,
                    "-m",
                    "schedforge.bench.worker",
                    str(to_child_r),
                    str(to_parent_w),
                ],
                pass_fds=(to_child_r, to_parent_w),
                stdout=target,
                stderr=target,
            )
        finally:
            os.close(to_child_r)
            os.close(to_parent_w)
        self.inbox = Connection(to_parent_r, writable=False)
        self.outbox = Connection(to_child_w, readable=False)
        self.outbox.send(("init", {"plugins": self.plugins, "warmup": self.warmup}))
        self.ready = False
        self.task = None
        self.phase = "starting"
        self.deadline = time.monotonic() + STARTUP_LIMIT

    def restart(self) -> None:
        """Replace a killed worker: by a spare that is ready, else by a new one.

        With spares (a list shared by a pool), the first restart also starts
        a spare, so that later ones cost no start-up (importing schedforge
        and the plugins takes seconds on a loaded machine).
        """
        if self.spares is None:
            self.start()
            return
        spare = next((s for s in self.spares if s.ready), None)
        if spare is None:
            self.start()
        else:
            self.spares.remove(spare)
            self.process, self.inbox, self.outbox = spare.process, spare.inbox, spare.outbox
            self.info, self.ready = spare.info, True
            self._finish()
        if not self.spares:
            fresh = WorkerSlot(**self.options)
            fresh.start()
            self.spares.append(fresh)

    def kill(self) -> None:
        """Kill the worker and everything it started; close the pipes."""
        kill_group(self.process)
        for conn in (self.inbox, self.outbox):
            if conn is not None:
                conn.close()
        self.inbox = self.outbox = None
        self.ready = False

    def stop(self) -> None:
        """Ask an idle worker to exit, then make sure it has."""
        if self.outbox is not None and self.task is None:
            try:
                self.outbox.send(("stop",))
                self.process.wait(timeout=2)  # type: ignore[union-attr]
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()

    @property
    def idle(self) -> bool:
        """Ready and not running a task."""
        return self.ready and self.task is None

    # ------------------------------------------------------------------ tasks

    def grace(self, time_limit: float) -> float:
        """Seconds a run with ``time_limit`` may overrun before it is killed."""
        return default_grace(time_limit) if self.grace_seconds is None else self.grace_seconds

    def _warmup_limit(self, payload: dict[str, Any]) -> float:
        """Seconds for the hand-over and the compilation (or cache load) of kernels."""
        if self.warmup_limit is not None:
            return self.warmup_limit
        limit = payload["time_limit"]
        return 30.0 + limit + self.grace(limit)

    def _warmup_run_limit(self, payload: dict[str, Any]) -> float:
        """Seconds for the warm-up run itself: its short limit plus the grace."""
        limit = payload["time_limit"]
        return min(limit, WARMUP_RUN_LIMIT) + self.grace(limit) + 1.0

    def assign(self, payload: dict[str, Any]) -> None:
        """Send a task to this idle worker."""
        assert self.idle and self.outbox is not None
        self.task = payload
        self.phase = "sent"
        self.assigned_at = self.started_at = time.monotonic()
        # Until the worker says "start" the task is being unpickled (and the
        # method maybe warmed up): the warm-up limit applies.
        self.deadline = self.assigned_at + self._warmup_limit(payload)
        method_id = f"{payload['problem']} {payload['method']} {sorted(payload['options'].items())}"
        warm = method_id not in self.warmed
        self.warmed.add(method_id)
        self.outbox.send(("task", payload, warm))

    def receive(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """Handle one message from the worker; return ``(payload, row)`` when a run ends.

        Call when :attr:`inbox` is readable. A worker that died mid-run
        yields an ``ERROR`` row and is replaced by a fresh one.
        """
        assert self.inbox is not None
        try:
            message = self.inbox.recv()
        except (EOFError, OSError):
            return self._died()
        kind = message[0]
        now = time.monotonic()
        if kind == "fatal":
            self.kill()
            raise SchedforgeError(f"a benchmark worker failed to start: {message[1]}")
        if kind == "ready":
            self.ready = True
            self.info = message[1]
            self.phase = "idle"
            self.deadline = float("inf")
        elif kind == "compile":
            self.phase = "compile"
            self.deadline = now + self._warmup_limit(self.task)  # type: ignore[arg-type]
        elif kind == "warmup":
            self.phase = "warmup"
            self.deadline = now + self._warmup_run_limit(self.task)  # type: ignore[arg-type]
        elif kind == "start":
            self.phase = "running"
            self.started_at = now
            self.deadline = now + self.task["time_limit"] + self.grace(self.task["time_limit"])  # type: ignore[index]
        elif kind == "done":
            payload, row = self.task, message[2]
            row["wall_time"] = now - self.assigned_at
            self._finish()
            return payload, row  # type: ignore[return-value]
        return None

    def _finish(self) -> None:
        self.task = None
        self.phase = "idle"
        self.deadline = float("inf")

    def _died(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        returncode = self.process.wait() if self.process is not None else -1
        payload, phase = self.task, self.phase
        self.kill()
        if payload is None and phase == "idle":  # died between runs: just replace it
            self.restart()
            return None
        if payload is None:
            raise SchedforgeError(
                f"a benchmark worker {_signal_name(returncode)} while {phase or 'starting'} "
                "(a plugin that fails to import?); see the worker log"
            )
        now = time.monotonic()
        row = failure_row(
            "ERROR",
            f"worker process {_signal_name(returncode)} during the "
            f"{'warm-up' if phase == 'warmup' else 'run'}",
            now - self.started_at if phase == "running" else None,
        )
        row["wall_time"] = now - self.assigned_at
        self.restart()
        return payload, row

    def expire(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """If past the deadline, kill and replace the worker; return a ``TIMEOUT`` row."""
        now = time.monotonic()
        if now < self.deadline:
            return None
        payload, phase = self.task, self.phase
        if payload is None:
            self.kill()
            raise SchedforgeError(
                f"a benchmark worker did not start within {STARTUP_LIMIT:.0f} s; see the worker log"
            )
        self.kill()
        if phase == "running":
            limit = payload["time_limit"]
            message = (
                f"killed after {now - self.started_at:.1f} s: time limit {limit:g} s "
                f"+ grace {self.grace(limit):.1f} s"
            )
            runtime = now - self.started_at
        else:
            if phase == "warmup":
                message = (
                    f"killed: the warm-up run took more than {self._warmup_run_limit(payload):g} s"
                )
            elif phase == "compile":
                message = f"killed: compiling took more than {self._warmup_limit(payload):g} s"
            else:
                message = (
                    "killed: the worker did not start the run within "
                    f"{self._warmup_limit(payload):g} s"
                )
            runtime = None
        row = failure_row("TIMEOUT", message, runtime)
        row["wall_time"] = now - self.assigned_at
        self.restart()
        return payload, row

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Run one task to its end (or its hard limit) and return the row."""
        if self.process is None or self.inbox is None or self.process.poll() is not None:
            self.kill()
            self.start()
        while not self.idle:
            self._wait_once()
        self.assign(payload)
        while True:
            finished = self._wait_once()
            if finished is not None:
                return finished[1]

    def _wait_once(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        timeout = max(0.0, self.deadline - time.monotonic())
        if wait([self.inbox], timeout=min(timeout, 3600.0)):  # type: ignore[list-item]
            return self.receive()
        return self.expire()


class LocalPool:
    """``jobs`` worker slots driven by one event loop in the calling process.

    Parameters
    ----------
    jobs
        Number of worker processes.
    **slot_options
        Passed to every :class:`WorkerSlot`.
    """

    def __init__(self, jobs: int, **slot_options: Any):
        if jobs < 1:
            raise SchedforgeError(f"--jobs must be >= 1, got {jobs}")
        self.jobs = jobs
        self.slot_options = slot_options
        self.slots: list[WorkerSlot] = []
        # Ready workers that replace killed ones (started after the first kill).
        self.spares: list[WorkerSlot] = []

    def __enter__(self) -> LocalPool:
        self.slots = [WorkerSlot(**self.slot_options, spares=self.spares) for _ in range(self.jobs)]
        for slot in self.slots:
            slot.start()
        return self

    def __exit__(self, *exc: object) -> None:
        # On Ctrl-C or an error, runs in flight are simply abandoned: nothing
        # of them was stored, so a resumed batch runs them again.
        for slot in self.slots + self.spares:
            slot.stop()

    def run(
        self,
        payloads: Iterable[dict[str, Any]],
        on_result: Callable[[dict[str, Any], dict[str, Any]], None],
        on_start: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        """Run every payload; call ``on_result(payload, row)`` as each one ends."""
        pending = deque(payloads)
        while pending or any(slot.task is not None for slot in self.slots):
            for slot in self.slots:
                if slot.idle and pending:
                    payload = pending.popleft()
                    slot.assign(payload)
                    if on_start is not None:
                        on_start(payload)
            deadline = min(slot.deadline for slot in self.slots)
            timeout = max(0.0, deadline - time.monotonic())
            by_conn = {slot.inbox: slot for slot in self.slots if slot.inbox is not None}
            spares = {s.inbox: s for s in self.spares if s.inbox is not None and not s.ready}
            readable = wait([*by_conn, *spares], timeout=min(timeout, 3600.0))
            for conn in readable:
                if conn in spares:
                    self._spare_message(spares[conn])  # type: ignore[index]
                    continue
                finished = by_conn[conn].receive()  # type: ignore[index]
                if finished is not None:
                    on_result(*finished)
            for slot in self.slots:
                finished = slot.expire()
                if finished is not None:
                    on_result(*finished)

    def _spare_message(self, spare: WorkerSlot) -> None:
        """A spare became ready, or died while starting (then it is dropped)."""
        try:
            spare.receive()
        except SchedforgeError:
            spare.kill()
            self.spares.remove(spare)


def open_log(path: Path | None) -> IO[bytes] | None:
    """Open the worker log for appending (``None`` discards worker output)."""
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("ab")
