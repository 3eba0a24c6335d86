"""Subset dynamic programming for 1||Σw_jT_j (Held & Karp 1962 style).

For a set ``S`` of jobs sequenced first, the last of them completes at
``P(S) = Σ_{j∈S} p_j`` whatever the order, so

.. math::

    F(\\emptyset) = 0, \\qquad
    F(S) = \\min_{j \\in S} \\bigl[F(S \\setminus \\{j\\}) + w_j \\max(0, P(S) - d_j)\\bigr]

and the optimum is :math:`F(J)`. Time :math:`O(2^n n)`, memory
:math:`2^n` 64-bit values: 256 MiB at n = 25, which is why the method caps
``n`` (:data:`MAX_JOBS`).

References
----------
Held, M., & Karp, R. M. (1962). A dynamic programming approach to
sequencing problems. J. SIAM 10(1), 196-210.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["MAX_JOBS", "subset_dp"]

MAX_JOBS = 25


# Explicit signature: compiled (or loaded from the cache) at import.
@njit(cache=True)
def subset_dp_kernel(
    processing: np.ndarray, due: np.ndarray, weight: np.ndarray
) -> tuple[int, np.ndarray]:
    """Optimal value and sequence by subset DP (plain int64 arrays)."""
    n = processing.shape[0]
    size = 1 << n
    best = np.empty(size, dtype=np.int64)
    length = np.zeros(size, dtype=np.int64)
    best[0] = 0
    for mask in range(1, size):
        low = mask & -mask
        j0 = 0
        while (1 << j0) != low:
            j0 += 1
        total = length[mask ^ low] + processing[j0]
        length[mask] = total
        value = np.int64(1) << 62
        rest = mask
        while rest:
            bit = rest & -rest
            rest ^= bit
            j = 0
            while (1 << j) != bit:
                j += 1
            late = total - due[j]
            cost = best[mask ^ bit] + (weight[j] * late if late > 0 else 0)
            if cost < value:
                value = cost
        best[mask] = value
    # Walk back from the full set: the last job is one whose removal explains F(S).
    sequence = np.empty(n, dtype=np.int64)
    mask = size - 1
    for pos in range(n - 1, -1, -1):
        total = length[mask]
        for j in range(n):
            if mask & (1 << j):
                late = total - due[j]
                cost = best[mask ^ (1 << j)] + (weight[j] * late if late > 0 else 0)
                if cost == best[mask]:
                    sequence[pos] = j
                    mask ^= 1 << j
                    break
    return best[size - 1], sequence


def subset_dp(
    processing: np.ndarray, due: np.ndarray, weight: np.ndarray
) -> tuple[int, np.ndarray]:
    """Optimal total weighted tardiness and an optimal sequence.

    Parameters
    ----------
    processing, due, weight
        Integer arrays of one instance, ``n <= MAX_JOBS``.

    Returns
    -------
    value, sequence

    Raises
    ------
    ValueError
        More than :data:`MAX_JOBS` jobs (the table would not fit in memory).
    """
    n = len(processing)
    if n > MAX_JOBS:
        raise ValueError(f"subset DP is limited to {MAX_JOBS} jobs (2^n table), got {n}")
    # Writable int64 copies: the kernels are compiled for int64[::1].
    value, sequence = subset_dp_kernel(
        np.array(processing, dtype=np.int64),
        np.array(due, dtype=np.int64),
        np.array(weight, dtype=np.int64),
    )
    return int(value), sequence
