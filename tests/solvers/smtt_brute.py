"""Shared helpers of the SMTT solver tests: brute force and random tiny instances."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import strategies as st

from schedforge.problems.smtt import SMTTInstance


def brute_force(instance: SMTTInstance) -> int:
    """Optimal Σ w·T by enumerating every permutation (n <= 8)."""
    n = instance.num_jobs
    assert n <= 8, "brute force is for tiny instances"
    perms = np.array(list(itertools.permutations(range(n))), dtype=np.int64)
    completion = np.cumsum(instance.processing[perms], axis=1)
    late = np.maximum(0, completion - instance.due[perms])
    return int((late * instance.weight[perms]).sum(axis=1).min())


@st.composite
def tiny_instances(draw, *, weighted: bool, max_jobs: int = 8) -> SMTTInstance:
    """Random instances of 1..max_jobs jobs, due dates possibly negative."""
    n = draw(st.integers(1, max_jobs))
    processing = draw(st.lists(st.integers(1, 30), min_size=n, max_size=n))
    total = sum(processing)
    due = draw(st.lists(st.integers(-10, total), min_size=n, max_size=n))
    weight = draw(st.lists(st.integers(0, 10), min_size=n, max_size=n)) if weighted else None
    return SMTTInstance(processing=processing, due=due, weight=weight, name="tiny")
