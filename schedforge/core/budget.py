"""The run budget: one time limit, seed and thread count for a whole method call.

:func:`schedforge.solve` makes one :class:`Budget` before it calls a method
and hands it over; every phase of the method (warm start, model building,
the solver, local search, repair, each rolling-horizon window) takes its
time from it, so ``time_limit`` means the wall time of the method call and
nothing else. A phase that should not use all that is left asks for a child
budget (:meth:`Budget.until`, :meth:`Budget.share`) with an earlier deadline
and the same seed and threads.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

from schedforge.core.errors import InvalidOption

MAX_THREADS = 1024
"""Most solver threads granted (CP-SAT refuses far more as an invalid model)."""

SEED_LIMIT = 2**31


@dataclass(frozen=True)
class Budget:
    """Time, randomness and threads granted to one method call.

    Parameters
    ----------
    time_limit
        Wall seconds from ``start``, or ``None`` for the method's own
        stopping rule.
    seed
        Seed for every random choice, ``0 <= seed < 2**31``.
    threads
        Number of threads, or ``None`` for the method's documented default.
    start
        The start on :func:`time.perf_counter`; now by default.

    Raises
    ------
    InvalidOption
        A non-positive, NaN or infinite limit, a seed out of range or a
        thread count below 1.

    Examples
    --------
    >>> b = Budget(time_limit=10, seed=3, threads=1)
    >>> 9 < b.remaining() <= 10
    True
    >>> b.share(0.5).remaining() <= 5
    True
    >>> Budget().remaining() is None
    True
    """

    time_limit: float | None = None
    seed: int = 0
    threads: int | None = None
    start: float = field(default_factory=time.perf_counter)

    def __post_init__(self) -> None:
        limit = self.time_limit
        if limit is not None:
            if isinstance(limit, bool) or not isinstance(limit, int | float):
                raise InvalidOption(f"time_limit must be a number of seconds, got {limit!r}")
            if not math.isfinite(limit) or limit <= 0:
                raise InvalidOption(f"time_limit must be a positive number of seconds, got {limit}")
        seed = self.seed
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise InvalidOption(f"seed must be an integer, got {seed!r}")
        if not 0 <= seed < SEED_LIMIT:
            raise InvalidOption(f"seed must satisfy 0 <= seed < 2**31, got {seed}")
        threads = self.threads
        if threads is not None and (
            not isinstance(threads, int)
            or isinstance(threads, bool)
            or not 1 <= threads <= MAX_THREADS
        ):
            raise InvalidOption(
                f"threads must be an integer from 1 to {MAX_THREADS}, got {threads!r}"
            )

    @property
    def deadline(self) -> float | None:
        """The deadline on :func:`time.perf_counter`, or ``None`` when unbounded."""
        return None if self.time_limit is None else self.start + self.time_limit

    def elapsed(self) -> float:
        """Seconds since ``start``."""
        return time.perf_counter() - self.start

    def remaining(self) -> float | None:
        """Seconds left (never negative), or ``None`` when unbounded."""
        deadline = self.deadline
        return None if deadline is None else max(0.0, deadline - time.perf_counter())

    def expired(self) -> bool:
        """Whether the deadline has passed (never for an unbounded budget)."""
        deadline = self.deadline
        return deadline is not None and time.perf_counter() >= deadline

    def until(self, seconds: float | None) -> Budget:
        """A child budget ending ``seconds`` from now, or at this deadline if earlier.

        ``seconds=None`` gives a child with this deadline. The child keeps
        the seed and threads. Even an expired child has a positive limit
        (a tiny one), so it can be handed to code that checks its limit.
        """
        now = time.perf_counter()
        ends = [] if seconds is None else [now + max(0.0, float(seconds))]
        if self.deadline is not None:
            ends.append(self.deadline)
        if not ends:
            return replace(self, time_limit=None, start=now)
        return replace(self, time_limit=max(min(ends) - now, 1e-6), start=now)

    def share(self, fraction: float) -> Budget:
        """A child budget with ``fraction`` (0 < fraction <= 1) of the time left.

        An unbounded budget gives an unbounded child.
        """
        if not 0 < fraction <= 1:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}")
        left = self.remaining()
        return self.until(None if left is None else left * fraction)

    def or_default(self, seconds: float) -> Budget:
        """This budget, or one of ``seconds`` from now when it is unbounded.

        For methods whose stopping rule without a time limit is a fixed
        time (the rule they register as ``default_stop``).
        """
        return self if self.time_limit is not None else self.until(seconds)

    def threads_or(self, default: int) -> int:
        """The thread count, or the method's ``default`` when none was given."""
        return default if self.threads is None else self.threads
