"""Workers started by core.procpool die with their group and with their parent.

Timings have generous slack: these check that processes end, not how fast.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from schedforge.core.procpool import PARENT_PID_VARIABLE, alive, kill_group, spawn

# A loaded two-core machine once took more than 5 s to deliver a death signal.
SLACK = 30.0
# Starting Python processes on such a machine is slower still; waiting longer
# for them costs nothing when they are quick.
STARTUP = 120.0


def _gone(pids: list[int], seconds: float = SLACK) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(alive(pid) for pid in pids):
            return True
        time.sleep(0.05)
    return False


def test_kill_group_ends_the_worker_and_what_it_started(tmp_path):
    pid_file = tmp_path / "grandchild"
    code = textwrap.dedent(
        f"""
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        open({str(pid_file)!r}, "w").write(str(child.pid))
        time.sleep(600)
        """
    )
    worker = spawn([sys.executable, "-c", code])
    deadline = time.monotonic() + STARTUP
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    grandchild = int(pid_file.read_text())
    kill_group(worker)
    assert worker.returncode == -signal.SIGKILL
    assert _gone([worker.pid, grandchild])


def test_workers_die_with_a_killed_parent(tmp_path):
    pid_file = tmp_path / "worker"
    # The worker says its pid only once it has asked for the signal.
    worker_code = (
        "import os, time; from schedforge.core.procpool import die_with_parent; "
        f"die_with_parent(); open({str(pid_file)!r}, 'w').write(str(os.getpid())); "
        "time.sleep(600)"
    )
    parent_code = textwrap.dedent(
        f"""
        import sys, time
        from schedforge.core.procpool import spawn
        worker = spawn([sys.executable, "-c", {worker_code!r}])
        time.sleep(600)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code])
    deadline = time.monotonic() + STARTUP
    while not pid_file.exists() or not pid_file.read_text():
        assert parent.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    worker = int(pid_file.read_text())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    assert _gone([worker])


SURVIVOR = (
    "from schedforge.core.procpool import die_with_parent; die_with_parent(); "
    "import os; print('survived', os.environ.get('SCHEDFORGE_PARENT_PID'))"
)


def test_a_worker_whose_parent_died_before_it_asked_exits_at_once():
    """An orphan adopted by anyone (init or a subreaper) is no longer its parent's child."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    env = {**os.environ, PARENT_PID_VARIABLE: str(dead.pid)}
    orphan = subprocess.run(
        [sys.executable, "-c", SURVIVOR], env=env, capture_output=True, text=True, timeout=STARTUP
    )
    assert orphan.returncode == 1 and "survived" not in orphan.stdout


def test_a_worker_of_a_living_parent_runs_and_hides_the_parent_id():
    worker = spawn([sys.executable, "-c", SURVIVOR], stdout=subprocess.PIPE)
    out, _ = worker.communicate(timeout=STARTUP)
    assert worker.returncode == 0
    assert out.decode().split() == ["survived", "None"]  # its own children do not inherit it
