"""The worker process: runs one benchmark task at a time, for as long as it lives.

Started by :class:`schedforge.bench.runner.WorkerSlot` as
``python -m schedforge.bench.worker READ_FD WRITE_FD`` in its own process
group. It talks to its parent over two pipes with pickled tuples:

parent -> worker
    ``("init", {"plugins": [...], "warmup": bool})`` once, then
    ``("task", payload, warm)`` per run (see :meth:`schedforge.bench.grid.Task.payload`);
    ``warm`` is false when the parent already had the method warmed up in an
    earlier worker of the same slot (a worker started after a kill).
worker -> parent
    ``("ready", {"pid", "host", "versions"})`` after start-up, or
    ``("fatal", message)`` when start-up fails (a plugin does not import);
    ``("compile", key)`` before compiling or loading the method's kernels;
    ``("warmup", key)`` before an untimed warm-up run of a method it has not
    run yet (numba compilation, backend start-up: costs that a loop of
    ``solve()`` calls pays only once, and that would otherwise land in the
    first timed run of each worker);
    ``("start", key)`` just before the timed run: the parent's hard deadline
    counts from here;
    ``("done", key, row)`` with the outcome.

A method that raises gives an ``ERROR`` row with the message; a method that
hangs or kills the process is dealt with by the parent, which kills this
process group and starts a fresh worker.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import os
import platform
import signal
import sys
import time
import traceback
from collections import OrderedDict
from collections.abc import Iterable
from importlib import metadata
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from schedforge.core.procpool import die_with_parent

WARMUP_RUN_LIMIT = 0.2
"""Time limit (seconds) of the untimed warm-up run, less when the runs' own is less."""

# Packages whose versions are recorded with every result.
VERSIONED = ("schedforge", "ortools", "pulp", "numba")


def versions() -> dict[str, str | None]:
    """Installed versions of schedforge and its main backends (``None`` if absent)."""
    found: dict[str, str | None] = {}
    for name in VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def import_plugins(plugins: Iterable[str]) -> None:
    """Import plugin modules that register extra methods.

    Each entry is a module name (``mypackage.methods``) or the path of a
    ``.py`` file. The benchmark parent and every worker import the same list,
    so a method registered by a plugin runs in the workers exactly as it
    would in ``solve()``.
    """
    for plugin in plugins:
        if plugin.endswith(".py") or os.sep in plugin:
            path = Path(plugin).resolve()
            name = "schedforge_plugin_" + path.stem
            if name in sys.modules:
                continue
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None or not path.exists():
                from schedforge.core.errors import SchedforgeError

                raise SchedforgeError(f"plugin {plugin}: no such Python file")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            try:
                spec.loader.exec_module(module)
            except Exception as exc:
                del sys.modules[name]
                raise _plugin_error(plugin, exc) from None
        else:
            try:
                importlib.import_module(plugin)
            except Exception as exc:
                raise _plugin_error(plugin, exc) from None


def _plugin_error(plugin: str, exc: Exception) -> Exception:
    """One line saying why a plugin failed to import, and where (its code is the user's)."""
    from schedforge.core.errors import SchedforgeError

    if isinstance(exc, SchedforgeError):
        return SchedforgeError(f"plugin {plugin}: {exc}")
    if isinstance(exc, ModuleNotFoundError) and exc.name and plugin.startswith(exc.name):
        return SchedforgeError(
            f"plugin {plugin}: no module named {exc.name!r} (give a module or a .py file)"
        )
    if isinstance(exc, SyntaxError):
        where = f"{exc.filename}:{exc.lineno}"
    else:
        frames = traceback.extract_tb(exc.__traceback__)
        where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else plugin
    return SchedforgeError(
        f"plugin {plugin} failed to import: {type(exc).__name__}: {exc} (at {where})"
    )


def _json_default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return str(value)


def to_json(value: Any) -> str | None:
    """JSON text of ``value`` (numpy values made plain), or ``None`` for ``None``."""
    if value is None:
        return None
    return json.dumps(value, default=_json_default, separators=(",", ":"))


def _reset_peak_memory() -> bool:
    """Reset the kernel's resident-set high-water mark of this process (Linux)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_memory_mb(reset_worked: bool) -> float | None:
    """Peak resident memory of this process since the last reset, in MiB.

    Uses ``VmHWM`` after resetting it before the run (Linux); elsewhere the
    peak over the process's life from ``getrusage``, an upper bound.
    """
    if reset_worked:
        try:
            with open("/proc/self/status") as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
    except (ImportError, OSError):
        return None


class Executor:
    """Runs task payloads in this process; keeps a small cache of built instances."""

    def __init__(self, *, warmup: bool = True, cache_size: int = 8):
        self.warmup = warmup
        self.cache_size = cache_size
        self._instances: OrderedDict[str, Any] = OrderedDict()
        self._warmed: set[tuple[str, str, str]] = set()
        self.info = {"pid": os.getpid(), "host": platform.node(), "versions": versions()}

    def instance(self, payload: dict[str, Any]) -> Any:
        """The instance of ``payload``, rebuilt once per content hash."""
        from schedforge.core.registry import get_problem

        key = payload["instance_hash"] + payload["instance"]["name"]
        inst = self._instances.get(key)
        if inst is None:
            cls = get_problem(payload["problem"]).instance_type
            inst = cls.from_dict(payload["instance"])
            self._instances[key] = inst
            if len(self._instances) > self.cache_size:
                self._instances.popitem(last=False)
        else:
            self._instances.move_to_end(key)
        return inst

    def needs_warmup(self, payload: dict[str, Any]) -> bool:
        """Whether the method of ``payload`` has not run in this process yet."""
        return self.warmup and self._method_id(payload) not in self._warmed

    @staticmethod
    def _method_id(payload: dict[str, Any]) -> tuple[str, str, str]:
        options = json.dumps(payload["options"], sort_keys=True, default=str)
        return (payload["problem"], payload["method"], options)

    def compile(self, payload: dict[str, Any]) -> None:
        """Compile (or load from numba's cache) the kernels of the payload's method."""
        from schedforge.core.warmup import compile_method

        with contextlib.suppress(Exception):  # the timed run reports any error
            compile_method(payload["problem"], payload["method"], payload["options"])

    def run_warmup(self, payload: dict[str, Any]) -> None:
        """One short untimed run of the payload's method; its outcome is discarded."""
        from schedforge.core.solve import solve

        self._warmed.add(self._method_id(payload))
        with contextlib.suppress(Exception):
            solve(
                self.instance(payload),
                payload["method"],
                time_limit=min(payload["time_limit"], WARMUP_RUN_LIMIT),
                seed=payload["seed"],
                **payload["options"],
            )

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Run one task; never raises for a failing method (``ERROR`` row instead)."""
        from schedforge.core.solve import solve

        row: dict[str, Any] = {
            "status": "ERROR",
            "objective": None,
            "bound": None,
            "solver_gap": None,
            "runtime": None,
            "solution": None,
            "stats": None,
            "message": None,
            "traceback": None,
            "peak_memory_mb": None,
            "worker": f"{self.info['host']}:{self.info['pid']}",
            "versions": self.info["versions"],
        }
        reset = _reset_peak_memory()
        start = time.perf_counter()
        try:
            instance = self.instance(payload)
            result = solve(
                instance,
                payload["method"],
                time_limit=payload["time_limit"],
                seed=payload["seed"],
                **payload["options"],
            )
        except Exception as exc:
            row["runtime"] = time.perf_counter() - start
            row["message"] = f"{type(exc).__name__}: {exc}"
            row["traceback"] = traceback.format_exc(limit=20)
        else:
            row.update(
                status=result.status.value,
                objective=result.objective,
                bound=result.bound,
                solver_gap=result.gap,
                runtime=result.runtime,
                solution=to_json(None if result.solution is None else result.solution.to_dict()),
                stats=to_json(result.stats),
            )
        row["peak_memory_mb"] = peak_memory_mb(reset)
        return row


def serve(inbox: Connection, outbox: Connection) -> None:
    """The worker loop: read tasks from ``inbox`` until it closes, answer on ``outbox``."""
    kind, config = inbox.recv()
    if kind != "init":
        raise RuntimeError(f"worker expected init, got {kind!r}")
    from schedforge.core.registry import load_plugins

    try:
        load_plugins()
        import_plugins(config.get("plugins", ()))
    except Exception as exc:  # tell the parent why, rather than just dying
        outbox.send(("fatal", f"{type(exc).__name__}: {exc}"))
        raise
    executor = Executor(warmup=config.get("warmup", True))
    outbox.send(("ready", executor.info))
    while True:
        try:
            message = inbox.recv()
        except (EOFError, OSError):
            return
        if message[0] == "stop":
            return
        payload, warm = message[1], message[2]
        # Compiling (or loading compiled kernels) happens before the clock in
        # solve(); done here, it stays out of the parent's timed window too.
        outbox.send(("compile", payload["key"]))
        executor.compile(payload)
        if warm and executor.needs_warmup(payload):
            outbox.send(("warmup", payload["key"]))
            executor.run_warmup(payload)
        outbox.send(("start", payload["key"]))
        row = executor.run(payload)
        outbox.send(("done", payload["key"], row))


def main(argv: list[str]) -> None:
    """Entry point: ``python -m schedforge.bench.worker READ_FD WRITE_FD``."""
    die_with_parent()  # no orphaned solvers when the parent is killed
    # The parent decides when a run stops; Ctrl-C in the terminal is its business.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    inbox = Connection(int(argv[0]), writable=False)
    outbox = Connection(int(argv[1]), readable=False)
    with contextlib.suppress(BrokenPipeError, EOFError):
        serve(inbox, outbox)


if __name__ == "__main__":
    main(sys.argv[1:])
