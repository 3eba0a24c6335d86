"""The run budget: validation, deadlines and child budgets."""

from __future__ import annotations

import dataclasses
import math
import time

import pytest

from schedforge.core.budget import SEED_LIMIT, Budget
from schedforge.core.errors import InvalidOption


def test_unbounded_budget_never_expires():
    budget = Budget()
    assert budget.deadline is None and budget.remaining() is None
    assert not budget.expired()
    assert budget.until(None).time_limit is None
    assert budget.share(0.5).remaining() is None
    assert budget.threads_or(3) == 3


def test_deadline_and_remaining_on_the_monotonic_clock():
    start = time.perf_counter()
    budget = Budget(time_limit=10, seed=5, threads=2, start=start)
    assert budget.deadline == start + 10
    assert 0 < budget.remaining() <= 10
    assert not budget.expired()
    assert budget.threads_or(1) == 2
    spent = Budget(time_limit=0.5, start=start - 1)
    assert spent.expired() and spent.remaining() == 0.0


def test_budget_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Budget().seed = 1


def test_children_end_no_later_than_the_parent_and_keep_seed_and_threads():
    parent = Budget(time_limit=2, seed=9, threads=3)
    for child in (parent.until(1), parent.until(100), parent.share(0.25), parent.until(None)):
        assert child.seed == 9 and child.threads == 3
        assert child.deadline <= parent.deadline + 1e-9
    assert parent.until(1).remaining() <= 1
    assert parent.share(0.25).remaining() <= 0.5 + 1e-9
    assert parent.until(100).deadline == pytest.approx(parent.deadline)
    # An expired parent still gives a child with a (tiny) positive limit.
    spent = Budget(time_limit=0.1, start=time.perf_counter() - 1)
    assert spent.until(5).time_limit > 0 and spent.until(5).expired()


def test_or_default_only_bounds_an_unbounded_budget():
    assert Budget().or_default(3).remaining() <= 3
    bounded = Budget(time_limit=1)
    assert bounded.or_default(60) is bounded


@pytest.mark.parametrize("fraction", [0, -0.5, 1.5])
def test_share_needs_a_fraction(fraction):
    with pytest.raises(ValueError, match="fraction"):
        Budget(time_limit=1).share(fraction)


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"time_limit": 0}, "time_limit"),
        ({"time_limit": -1}, "time_limit"),
        ({"time_limit": math.nan}, "time_limit"),
        ({"time_limit": math.inf}, "time_limit"),
        ({"time_limit": "1"}, "time_limit"),
        ({"seed": -1}, "seed"),
        ({"seed": SEED_LIMIT}, "seed"),
        ({"seed": 1.0}, "seed"),
        ({"seed": True}, "seed"),
        ({"threads": 0}, "threads"),
        ({"threads": 2.0}, "threads"),
    ],
)
def test_bad_settings_raise_invalid_option(kwargs, word):
    with pytest.raises(InvalidOption, match=word):
        Budget(**kwargs)
