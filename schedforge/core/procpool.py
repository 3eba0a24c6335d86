"""Worker processes that can always be killed: their own group, and gone with the parent.

The benchmark runner and the discovery sandbox both run code that may hang,
crash or start subprocesses of its own (a MIP solver). Both start workers
through :func:`spawn` and stop them through :func:`kill_group`:

- every worker leads its own process group, so one ``SIGKILL`` to the group
  ends the worker and everything it started;
- a worker calls :func:`die_with_parent` first thing, so that a parent killed
  with ``kill -9`` (which can clean nothing up) leaves no worker behind;
- :func:`kill_group` reaps the worker, so no zombie is left either.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import IO, Any

# How long kill_group waits for the killed group's leader to be reaped.
REAP_SECONDS = 10.0
# The process id of the parent that spawned a worker (set by spawn when the
# worker inherits the environment), so that die_with_parent can tell whether
# the parent died before the request took effect, whoever adopted the orphan.
PARENT_PID_VARIABLE = "SCHEDFORGE_PARENT_PID"


def spawn(
    argv: Sequence[str],
    *,
    pass_fds: Sequence[int] = (),
    stdin: Any = subprocess.DEVNULL,
    stdout: IO[bytes] | int | None = subprocess.DEVNULL,
    stderr: IO[bytes] | int | None = subprocess.DEVNULL,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` as the leader of a new process group (see :func:`kill_group`).

    With ``env=None`` the worker inherits this process's environment plus
    :data:`PARENT_PID_VARIABLE`; an explicit ``env`` is passed as it is.
    """
    if env is None:
        env = {**os.environ, PARENT_PID_VARIABLE: str(os.getpid())}
    return subprocess.Popen(
        list(argv),
        pass_fds=tuple(pass_fds),
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        env=dict(env),
        cwd=cwd,
        start_new_session=True,  # its own process group: killed as a whole
        close_fds=True,
    )


def kill_group(process: subprocess.Popen[bytes] | None) -> None:
    """``SIGKILL`` the process group ``process`` leads, then reap ``process``."""
    if process is None:
        return
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError):
                process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=REAP_SECONDS)


def die_with_parent() -> bool:
    """Ask Linux to ``SIGKILL`` this process when its parent dies; whether it could.

    Call it first thing in a worker. The signal fires when the *thread*
    that started the worker ends, so a parent that starts workers from
    short-lived threads must not rely on it (the sandbox ends its workers by
    closing their input instead).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        if libc.prctl(pr_set_pdeathsig, signal.SIGKILL) != 0:
            return False
    except (OSError, AttributeError):
        return False
    # The parent may have died before the request took effect: the orphan
    # then has another parent (init, or a subreaper such as systemd --user).
    expected = os.environ.pop(PARENT_PID_VARIABLE, "")  # not for this worker's children
    parent = os.getppid()
    if parent == 1 or (expected.isdigit() and parent != int(expected)):
        os._exit(1)
    return True


def alive(pid: int) -> bool:
    """Whether a process with this id exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except (OSError, IndexError):
        return True
