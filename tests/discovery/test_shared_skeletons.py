"""Evolved rules run in the built-in rules' skeletons: a built-in rule written as a template seed
gives the built-in schedule, in both engines."""

from __future__ import annotations

import numpy as np
import pytest

import schedforge as sf
from schedforge.discovery.sandbox import compile_numba, load_function
from schedforge.discovery.templates import get_template, smtt_optimum
from schedforge.heuristics.dispatch import dispatch
from schedforge.heuristics.smtt import rule_sequence
from schedforge.solvers.exact.smtt_dp import subset_dp


def _engines(template, code):
    func = load_function(code, template)
    compiled, error = compile_numba(func, template)
    assert error is None, error
    return func, compiled


@pytest.mark.parametrize(
    ("template_name", "seed", "rule"),
    [
        ("smtt", "edd", "edd"),
        ("smtt", "mdd", "mdd"),
        ("smtt", "spt", "spt"),
        ("smtt-aug", "mdd", "aug-mdd"),
        ("smtt-aug", "edd", "aug-edd"),
    ],
)
def test_smtt_seeds_give_the_builtin_sequences(template_name, seed, rule):
    template = get_template(template_name)
    func, compiled = _engines(template, template.seeds[seed])
    for k in range(12):
        inst = sf.generate("smtt", jobs=25, tf=0.6, rdd=0.2 + 0.1 * (k % 5), seed=k)
        arrays = template.encode(inst)
        expected = rule_sequence(inst, rule).tolist()
        assert template.run_python(func, arrays).tolist() == expected, (rule, k)
        assert template.run_numba(compiled, arrays).tolist() == expected, (rule, k)


@pytest.mark.parametrize("seed", ["fifo_eet", "spt_eet", "mor_eet", "mwkr_eet", "lwkr_eet"])
def test_fjsp_seeds_give_the_builtin_schedules(seed):
    template = get_template("fjsp")
    func, compiled = _engines(template, template.seeds[seed])
    rule = seed.replace("_", "-")
    for k in range(3):
        inst = sf.generate("fjsp", jobs=6, machines=4, seed=k)
        ref = dispatch(inst, rule, builder="active")
        arrays = template.encode(inst)
        for raw in (template.run_python(func, arrays), template.run_numba(compiled, arrays)):
            assert np.array_equal(raw[0], ref.machine) and np.array_equal(raw[1], ref.start)


def test_reference_values_come_from_the_exact_solvers_dp():
    inst = sf.generate("smtt", jobs=9, weighted=True, seed=3)
    value, _ = subset_dp(inst.processing, inst.due, inst.weight)
    assert smtt_optimum(inst.processing, inst.due, inst.weight) == value


def test_sandbox_workers_run_the_augmented_variant():
    from schedforge.discovery.sandbox import SandboxPool

    template = get_template("smtt-aug")
    train = template.sets("quick")["train"]
    with SandboxPool(template, {"train": train}) as pool:
        result = pool.evaluate(template.seeds["mdd"])
    expected = []
    for inst in train.instances:
        seq = rule_sequence(inst, "aug-mdd")
        late = np.maximum(0, np.cumsum(inst.processing[seq]) - inst.due[seq])
        expected.append(float(np.dot(inst.weight[seq], late)))
    assert result.ok and list(result.objectives) == expected


def test_gp_code_for_every_derived_feature_passes_the_sandbox_checks():
    from schedforge.discovery.gp import to_code
    from schedforge.discovery.sandbox import check_code

    for name in ("smtt", "rcpsp", "fjsp", "pods"):
        template = get_template(name)
        for feature in template.gp_terminals:
            code = to_code(["var", feature], template)
            check_code(code, template)
            assert f"    {feature} = " in code
