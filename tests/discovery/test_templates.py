"""Every template: seeds pass the sandbox, engines agree, and the whole loop runs (gp, replay)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import schedforge as sf
from schedforge.discovery.evolve import DiscoveryConfig, Evolution
from schedforge.discovery.export import export_candidate
from schedforge.discovery.gp import to_code
from schedforge.discovery.sandbox import SandboxPool, check_code, compile_numba, load_function
from schedforge.discovery.templates import get_template, template_names

PROBLEMS = template_names()


def test_templates_exist_for_the_problems():
    assert {"smtt", "rcpsp", "fjsp", "pods"} <= set(PROBLEMS)


@pytest.mark.parametrize("problem", PROBLEMS)
def test_seeds_gp_seeds_and_engines(problem):
    template = get_template(problem)
    sets = template.sets("quick")
    assert set(sets) == {"train", "validation", "holdout"}
    assert all(r > 0 for s in sets.values() for r in s.references)
    for genome in template.gp_seeds.values():
        check_code(to_code(genome, template), template)
    for k, (name, code) in enumerate(template.seeds.items()):
        func = load_function(code, template)
        compiled = None
        if k < 2:  # compiling every seed costs test time and shows nothing more
            compiled, error = compile_numba(func, template)
            assert error is None, (name, error)
        for inst in sets["train"].instances:
            arrays = template.encode(inst)
            raw_py = template.run_python(func, arrays)
            if compiled is not None:
                assert np.array_equal(raw_py, template.run_numba(compiled, arrays)), name
            solution = template.decode(inst, np.asarray(raw_py).tolist())
            assert sf.get_problem(problem).validate(inst, solution) == []
    assert problem in template.prompt_text() or template.signature in template.prompt_text()


@pytest.mark.parametrize("problem", PROBLEMS)
@pytest.mark.parametrize("proposer", ["gp", "replay"])
def test_whole_loop_and_export(problem, proposer, tmp_path):
    template = get_template(problem)
    replay = None
    if proposer == "replay":
        answers = [*template.seeds.values(), "no code", "def broken(:\n"]
        replay = tmp_path / "answers.jsonl"
        replay.write_text("\n".join(json.dumps({"response": a}) for a in answers) + "\n")
    config = DiscoveryConfig(
        problem=problem,
        proposer=proposer,
        replay=str(replay) if replay else None,
        sets="quick",
        generations=2,
        offspring=4,
        jobs=2 if proposer == "gp" else 1,
    )
    evo = Evolution(tmp_path / "run", config)
    try:
        summary = evo.run()
        verdicts = {c["verdict"] for c in evo.archive.candidates("generation >= 1")}
    finally:
        evo.close()
    assert summary["best_train_gap"] is not None
    if proposer == "replay":
        assert {"duplicate", "no_code"} <= verdicts  # seeds again, then prose
        return  # export is the same for both proposers
    record = export_candidate(tmp_path / "run", f"{problem}_{proposer}")
    instance = template.sets("quick")["holdout"].instances[0]
    result = sf.solve(instance, f"heuristic:{record['name']}")
    assert result.status.has_solution


@pytest.mark.parametrize("problem", PROBLEMS)
def test_a_candidate_cannot_corrupt_the_next_ones_inputs(problem):
    template = get_template(problem)
    seed = next(iter(template.seeds.values()))
    arrays = [f.name for f in template.features if f.kind == "array"]
    head, _, body = seed.partition("\n")
    writes = "".join(f"    {a}[:] = 1.0e9 - 3.0 * {a}\n" for a in arrays)
    vandal = f"{head}\n{writes}{body}"
    sets = {"train": template.sets("quick")["train"]}
    with SandboxPool(template, sets) as pool:
        before = pool.evaluate(seed)
        pool.evaluate(vandal)
        after = pool.evaluate(seed)
    assert before.ok and after.objectives == before.objectives


def test_worst_group_fitness_and_pooled_selection():
    from schedforge.discovery.evolve import pooled_gap
    from schedforge.discovery.templates import set_fitness

    gaps, groups = [1.0, 3.0, -1.0, -3.0], ["n100", "n100", "n200", "n200"]
    assert set_fitness(gaps, groups, worst_group=False) == 0.0
    assert set_fitness(gaps, groups, worst_group=True) == 2.0
    assert set_fitness(gaps, (), worst_group=True) == 0.0
    row = {"train_gaps": [1.0, -1.0], "validation_gaps": [3.0, -3.0], "validation_gap": 0.0}
    fitness = {"worst_group": True, "groups": ["a", "b", "a", "b"]}
    assert pooled_gap(row) == 0.0
    assert pooled_gap(row, fitness) == 2.0
    assert pooled_gap({**row, "validation_gaps": None}) == float("inf")


def test_rcpsp_large_sets_never_touch_the_holdout():
    sets = get_template("rcpsp").sets("large")
    held = {i.name for i in sets["holdout"].instances}
    assert held.isdisjoint(i.name for i in sets["train"].instances)
    assert held.isdisjoint(i.name for i in sets["validation"].instances)
    sizes = {len(i.duration) for i in sets["train"].instances}
    assert sizes == {len(i.duration) for i in sets["holdout"].instances}


def test_smtt_large_sets_grouped_by_size_with_the_rule_as_reference():
    from schedforge.heuristics.smtt import rule_sequence

    for name, rule in (("smtt", "mddc"), ("smtt-aug", "aug-mddc")):
        sets = get_template(name).sets("large")
        train, validation = sets["train"], sets["validation"]
        for part in (train, validation):
            counts = {g: part.groups.count(g) for g in set(part.groups)}
            # Several per class and size: selection noise stays small at n = 200.
            assert set(counts) == {"n100", "n200"} and min(counts.values()) >= 90, counts
            inst, ref = part.instances[-1], part.references[-1]
            seq = rule_sequence(inst, rule)
            late = np.maximum(0, np.cumsum(inst.processing[seq]) - inst.due[seq])
            assert float(np.dot(inst.weight[seq], late)) == ref > 0
        data = {(tuple(i.processing), tuple(i.due)) for i in train.instances}
        assert data.isdisjoint((tuple(i.processing), tuple(i.due)) for i in validation.instances)
        held = {tuple(i.processing) for i in sets["holdout"].instances}
        assert held.isdisjoint(tuple(i.processing) for i in train.instances + validation.instances)


def test_smtt_scale_free_features_do_not_change_when_times_are_scaled():
    from schedforge.discovery.gp import to_code

    template = get_template("smtt")
    p, d = np.array([3.0, 5.0, 2.0]), np.array([4.0, 12.0, -1.0])
    for feature in ("tn", "srem", "mddr"):
        func = load_function(to_code(["var", feature], template), template)
        base = func(p, d, np.ones(3), 7.0, p.sum())
        scaled = func(10 * p, 10 * d, np.ones(3), 70.0, 10 * p.sum())
        assert np.allclose(base, scaled), feature
