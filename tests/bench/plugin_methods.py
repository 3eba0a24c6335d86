"""Fake SMTT methods for the benchmark tests, loaded as a plugin by every worker.

``bench-ok`` is a correct, instant method (earliest due date first); the
others misbehave on purpose: raise, hang past any limit, kill their own
process, or sleep for a while (to interrupt a batch mid-run).
"""

from __future__ import annotations

import os
import signal
import time

import numpy as np

from schedforge.core.registry import method
from schedforge.core.result import Outcome
from schedforge.problems.smtt import SMTTSolution

PATH = __file__


@method("smtt", "bench-ok", default_stop="one pass")
def bench_ok(instance, *, budget, reverse: bool = False):
    """Earliest due date first (or last, with reverse=true): a quick valid method."""
    order = np.argsort(instance.due, kind="stable")
    if reverse:
        order = order[::-1]
    return Outcome(SMTTSolution(sequence=[int(j) for j in order]))


@method("smtt", "bench-raise", default_stop="raises at once")
def bench_raise(instance, *, budget):
    """Always raises."""
    raise RuntimeError(f"deliberate failure on {instance.name}")


@method("smtt", "bench-hang", default_stop="never (ignores its budget)")
def bench_hang(instance, *, budget):
    """Ignores its time limit and never returns."""
    while True:
        time.sleep(1)


@method("smtt", "bench-kill", default_stop="kills its process")
def bench_kill(instance, *, budget):
    """Kills its own process, as a segfaulting extension would."""
    os.kill(os.getpid(), signal.SIGKILL)


@method("smtt", "bench-sleep", default_stop="after `seconds`")
def bench_sleep(instance, *, budget, seconds: float = 0.5):
    """Sleeps ``seconds``, then returns the EDD sequence."""
    time.sleep(seconds)
    return bench_ok(instance, budget=budget)


@method("smtt", "bench-spawn-hang", default_stop="never (ignores its budget)")
def bench_spawn_hang(instance, *, budget, pidfile: str = ""):
    """Starts a child process (as CBC would), records its pid, then hangs."""
    import subprocess
    from pathlib import Path

    child = subprocess.Popen(["sleep", "120"])
    Path(pidfile).write_text(str(child.pid))
    while True:
        time.sleep(1)
