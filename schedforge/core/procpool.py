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
    """Start ``argv`` as the leader of a new process group (see :func:`kill_group`)."""
    return subprocess.Popen(
        list(argv),
        pass_fds=tuple(pass_fds),
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        env=dict(env) if env is not None else None,
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
    # The parent may have died before the request took effect.
    if os.getppid() == 1:
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
