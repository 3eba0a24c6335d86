"""Scheduling rules of a snapshot: modelled in validate(), the plan check and every method."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest

import schedforge as sf
from schedforge.core.errors import ParseError
from schedforge.problems.pods import PodsInstance, PodsSolution, objective, validate
from schedforge.problems.pods.apply import check_steps, kubectl_script, plan_steps, replay
from schedforge.problems.pods.kubectl import RULES, read_kubectl
from schedforge.problems.pods.limits import (
    disruption_costs,
    disruption_tier,
    resolve_moves_per_pod,
    weighted_value,
)

RULES_DIR = Path(__file__).parents[1] / "data" / "pods" / "rules"

# Fixture -> words the violation message must hold (the rule's name).
BROKEN = {
    "hostport": "hostPort",
    "anti_affinity": "anti-affinity",
    "anti_affinity_zone": "anti-affinity",
    "namespace_selector": "anti-affinity",
    "scheduling_gates": "schedulingGates",
    "scheduler_name": "schedulerName",
    "noexecute": "NoExecute",
    "pdb": "PodDisruptionBudget",
    "pdb_max_unavailable": "PodDisruptionBudget",
    "terminating": "terminating",
    "preemption_never": "preemptionPolicy Never",
    "pod_affinity": "pod affinity",
    "topology_spread": "topology spread",
    "topology_spread_zone": "topology spread",
}
METHODS = ["kube", "rule:ffd", "rule:bfd", "rule:most-allocated", "cp", "mip:highs", "mip:cbc"]


def load(name: str) -> PodsInstance:
    return read_kubectl(RULES_DIR / f"{name}.json")


def bad_plan(name: str) -> dict:
    return json.loads((RULES_DIR / f"{name}.bad.json").read_text())


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_the_bad_plan_of_each_rule_is_named_by_validate_and_the_check(name):
    inst = load(name)
    plan = bad_plan(name)
    checked = check_steps(inst, plan)
    assert checked and BROKEN[name] in checked[0], checked
    # validate() names the same rule on the placement the steps reach.
    problems = validate(inst, PodsSolution(replay(inst, plan)))
    assert any(BROKEN[name] in p for p in problems), problems


@pytest.mark.parametrize("name", sorted(BROKEN))
@pytest.mark.parametrize("method", METHODS)
def test_every_method_plan_on_every_fixture_passes_the_check(name, method):
    inst = load(name)
    result = sf.solve(inst, method, time_limit=2)
    plan = plan_steps(inst, result.solution)
    assert check_steps(inst, plan) == []
    assert "kubectl create --raw" in kubectl_script(plan)


def test_what_the_methods_do_with_the_rules():
    # The PodDisruptionBudget allows no disruption: the batch pod stays pending.
    inst = load("pdb")
    for method in ("kube", "cp", "mip:highs"):
        node = sf.solve(inst, method, time_limit=2).solution.node
        assert node[inst.pod_names.index("default/batch-0")] == -1
    # maxUnavailable 33 % of 3 lets one replica go: the ETL pod takes node-b.
    inst = load("pdb_max_unavailable")
    for method in ("kube", "cp"):
        res = sf.solve(inst, method, time_limit=2)
        assert res.solution.node[inst.pod_names.index("default/etl-0")] >= 0
    # The NoExecute taint evicts api-0: it moves to node-b, and so does api-1,
    # which tolerates the taint for 300 s only.
    inst = load("noexecute")
    node_b = inst.node_names.index("node-b")
    for method in ("kube", "cp", "mip:highs"):
        assert sf.solve(inst, method, time_limit=2).solution.node.tolist() == [node_b, node_b]
    # A gated pod and another scheduler's pod stay pending whatever the room.
    for name in ("scheduling_gates", "scheduler_name"):
        assert sf.solve(load(name), "cp", time_limit=2).solution.node.tolist() == [-1]
    # preemptionPolicy Never: the polite pod does not push the low one out.
    inst = load("preemption_never")
    for method in ("kube", "cp", "mip:highs"):
        node = sf.solve(inst, method, time_limit=2).solution.node
        assert node.tolist() == [0, -1]


@pytest.mark.parametrize(
    "name, rule",
    [
        ("refused_namespace_selector", "namespace-selector"),
    ],
)
def test_unmodelled_rules_are_refused_by_name_or_listed_when_ignored(name, rule):
    with pytest.raises(ParseError, match=rf"rule '{rule}'.*--ignore {rule}") as info:
        load(name)
    assert "items[1]" in str(info.value)  # the JSON path of the object
    inst = read_kubectl(RULES_DIR / f"{name}.json", ignore=[rule])
    assert any(f"({rule})" in item for item in inst.metadata["ignored"])
    assert rule in RULES


def tiny_ruled(seed: int) -> PodsInstance:
    """A random tiny snapshot with host ports, budgets, Never pods, anti-affinity and taints."""
    rng = np.random.default_rng(seed)
    pods, nodes = 5, 2
    current = rng.integers(-1, nodes, size=pods)
    ports = [("TCP//80",) if rng.random() < 0.4 else () for _ in range(pods)]
    labels = [{"app": "a" if p % 2 else "b"} for p in range(pods)]
    while True:
        inst_kwargs = dict(
            resources=("cpu",),
            node_names=("n0", "n1"),
            allocatable=[[1000], [1000]],
            pod_names=tuple(f"ns/p{p}" for p in range(pods)),
            requests=rng.integers(2, 7, size=(pods, 1)) * 100,
            priority=rng.integers(0, 2, size=pods) * 10,
            current_node=current,
            pod_labels=labels,
            anti_affinity_terms=[
                (
                    {
                        "selector": [{"key": "app", "operator": "In", "values": ["a"]}],
                        "namespaces": ["ns"],
                    },
                )
                if p == 1
                else ()
                for p in range(pods)
            ],
            host_ports=ports,
            preempt_never=rng.random(pods) < 0.3,
            pdb=[0 if p < 2 else -1 for p in range(pods)],
            pdb_names=("ns/first-two",),
            pdb_allowed=[int(rng.integers(0, 2))],
            node_taints=[[], [{"key": "k", "value": "v", "effect": "NoExecute"}]],
            tolerations=[
                [{"key": "k", "operator": "Exists", "effect": "NoExecute"}] if p % 3 else []
                for p in range(pods)
            ],
            name=f"tiny{seed}",
        )
        try:
            return PodsInstance(**inst_kwargs)
        except sf.InvalidInstance:
            current = np.where(rng.random(pods) < 0.5, -1, current)  # retry with fewer running


def brute_force(instance, max_moves=None, max_evictions=None, moves_per_pod=None) -> int:
    best = None
    running = instance.current_node >= 0
    forced = int(np.sum(running & ~instance.stay_ok))
    for node in itertools.product(range(-1, instance.num_nodes), repeat=instance.num_pods):
        node = np.array(node)
        if validate(instance, PodsSolution(node)):
            continue
        evictions = int(np.sum(running & (node < 0)))
        moves = int(np.sum(running & (node >= 0) & (node != instance.current_node)))
        if max_evictions is not None and evictions > max_evictions:
            continue
        if max_moves is not None and moves > max_moves:
            continue
        added = int(np.sum(node >= 0)) - int(np.sum(running))
        if moves_per_pod is not None and moves > moves_per_pod * (added + forced) + forced:
            continue
        value = objective(instance, PodsSolution(node))
        best = value if best is None else min(best, value)
    return best


def tiny_zoned(seed: int) -> PodsInstance:
    """A random tiny snapshot with anti-affinity by zone: n0, n1 in zone a, n2 in b, n3 in none."""
    rng = np.random.default_rng(100 + seed)
    pods = 5
    zone = "topology.kubernetes.io/zone"

    def term(app: str) -> dict:
        selector = [{"key": "app", "operator": "In", "values": [app]}]
        return {"selector": selector, "namespaces": ["ns"], "topology": zone}

    current = rng.integers(-1, 4, size=pods)
    while True:
        try:
            return PodsInstance(
                resources=("cpu",),
                node_names=("n0", "n1", "n2", "n3"),
                allocatable=[[1000], [1000], [600], [500]],
                pod_names=tuple(f"ns/p{p}" for p in range(pods)),
                requests=rng.integers(2, 6, size=(pods, 1)) * 100,
                priority=rng.integers(0, 2, size=pods) * 10,
                current_node=current,
                pod_labels=[{"app": "a" if p % 2 else "b"} for p in range(pods)],
                node_labels=[{zone: "a"}, {zone: "a"}, {zone: "b"}, {}],
                # p1 keeps away from app a (itself included), p4 from app b.
                anti_affinity_terms=[
                    (term("a"),) if p == 1 else (term("b"),) if p == 4 else () for p in range(pods)
                ],
                pdb=[0 if p < 2 else -1 for p in range(pods)],
                pdb_names=("ns/first-two",),
                pdb_allowed=[int(rng.integers(0, 2))],
                name=f"zoned{seed}",
            )
        except sf.InvalidInstance:
            current = np.where(rng.random(pods) < 0.5, -1, current)


@pytest.mark.parametrize("seed", range(4))
def test_zone_anti_affinity_matches_brute_force(seed):
    inst = tiny_zoned(seed)
    assert len(inst.zone_pairs)
    best = brute_force(inst)
    for method in ("cp", "mip:highs"):
        res = sf.solve(inst, method, time_limit=5)
        assert res.objective == best, (method, res.stats)
    for method in ("kube", "rule:ffd"):
        res = sf.solve(inst, method)
        assert check_steps(inst, plan_steps(inst, res.solution)) == []


def test_kube_does_not_preempt_against_zone_anti_affinity_elsewhere():
    zone = "topology.kubernetes.io/zone"
    inst = PodsInstance(
        resources=("cpu",),
        node_names=("n0", "n1"),
        allocatable=[[1000], [1000]],
        pod_names=("ns/q", "ns/r", "ns/p"),
        requests=[[600], [900], [800]],
        priority=[0, 0, 10],
        current_node=[0, 1, -1],
        pod_labels=[{"app": "x"}, {}, {}],
        node_labels=[{zone: "a"}, {zone: "a"}],
        owner=["ReplicaSet/q", "ReplicaSet/r", "ReplicaSet/p"],
        anti_affinity_terms=[
            (),
            (),
            (
                {
                    "selector": [{"key": "app", "operator": "In", "values": ["x"]}],
                    "namespaces": ["ns"],
                    "topology": zone,
                },
            ),
        ],
    )
    # Evicting r frees n1, but q keeps zone a closed there: only evicting q helps.
    node = sf.solve(inst, "kube").solution.node
    assert node.tolist()[1:] == [1, 0]
    assert node[0] != 0 and not validate(inst, PodsSolution(node))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(
    "limits",
    [
        {},
        {"max_moves": 0},
        {"max_evictions": 0, "max_moves": 1},
        {"max_moves": 1, "moves_per_pod": False},
        {"moves_per_pod": 0.5},
    ],
)
def test_cp_and_mip_match_brute_force_with_rules(seed, limits):
    inst = tiny_ruled(seed)
    forced = int(np.sum((inst.current_node >= 0) & ~inst.stay_ok))
    # The caps never go below what a NoExecute taint forces.
    caps = {k: max(v, forced) for k, v in limits.items() if k != "moves_per_pod"}
    # max_moves implies one move per added pod unless moves_per_pod says otherwise.
    per_pod = resolve_moves_per_pod(limits.get("max_moves"), limits.get("moves_per_pod"))
    if per_pod is not None:
        caps["moves_per_pod"] = per_pod
    best = brute_force(inst, **caps)
    for method in ("cp", "mip:highs"):
        res = sf.solve(inst, method, time_limit=5, **limits)
        assert not validate(inst, res.solution)
        assert res.objective >= best
        value = res.solution.node
        running = inst.current_node >= 0
        for key, count in (
            ("max_evictions", int(np.sum(running & (value < 0)))),
            ("max_moves", int(np.sum(running & (value >= 0) & (value != inst.current_node)))),
        ):
            if key in caps:
                assert count <= caps[key]
        if "moves_per_pod" in caps:
            moves = int(np.sum(running & (value >= 0) & (value != inst.current_node)))
            added = int(np.sum(value >= 0)) - int(np.sum(running))
            assert moves <= caps["moves_per_pod"] * (added + forced) + forced
        if res.status is sf.Status.OPTIMAL:
            assert res.objective == best, (method, res.stats)
        if not inst.preempt_never.any():
            assert res.objective == best


def _kubectl_with(pod_extra: dict, tmp_path: Path, *, spec: bool = True) -> Path:
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "n"},
        "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}},
    }
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns"}}
    if spec:
        pod["spec"] = {"containers": [{"name": "c", "resources": {"requests": pod_extra}}]}
    path = tmp_path / "snap.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [node, pod]}))
    return path


@pytest.mark.parametrize("cpu", ["1e30", 10**30, "1000000000000000k"])
def test_huge_requests_are_refused_with_the_json_path(tmp_path, cpu):
    path = _kubectl_with({"cpu": cpu}, tmp_path)
    with pytest.raises(
        ParseError, match=r"items\[1\]\.spec.*containers\[0\]\.resources\.cpu.*larger"
    ):
        read_kubectl(path)


def test_a_pod_without_spec_is_refused_with_the_json_path(tmp_path):
    with pytest.raises(ParseError, match=r"items\[1\]\.spec is missing"):
        read_kubectl(_kubectl_with({}, tmp_path, spec=False))


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity", "1e30"])
def test_compact_non_finite_or_huge_amounts_are_refused(tmp_path, bad):
    pod = '{"uid": "u1", "name": "p", "req_cpu_m": BAD, "req_mem_bytes": 1, "priority": 0}'
    text = (
        '{"nodes": [{"name": "n", "cap_cpu_m": 1000, "cap_mem_bytes": 1000}], "pods": ['
        + pod.replace("BAD", bad)
        + "]}"
    )
    path = tmp_path / "c.json"
    path.write_text(text)
    with pytest.raises(ParseError, match=r"pods\[0\]\.req_cpu_m"):
        sf.read(path, fmt="pods-compact")


def test_compact_pods_need_a_unique_uid(tmp_path):
    pod = {"name": "p", "req_cpu_m": 1, "req_mem_bytes": 1, "priority": 0}
    data = {"nodes": [{"name": "n", "cap_cpu_m": 10, "cap_mem_bytes": 10}], "pods": [pod]}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ParseError, match=r"pods\[0\]: missing uid"):
        sf.read(path, fmt="pods-compact")
    data["pods"] = [{**pod, "uid": "u"}, {**pod, "name": "q", "uid": "u"}]
    path.write_text(json.dumps(data))
    with pytest.raises(ParseError, match=r"pods\[1\]\.uid 'u' repeats pods\[0\]\.uid"):
        sf.read(path, fmt="pods-compact")


def test_compact_export_keeps_gpus_and_ephemeral_storage():
    from schedforge.problems.pods import from_compact, to_compact

    inst = PodsInstance(
        resources=("cpu", "memory", "nvidia.com/gpu", "ephemeral-storage"),
        node_names=("g",),
        allocatable=[[4000, 8 << 30, 2, 100 << 30]],
        pod_names=("ml/train",),
        requests=[[1000, 1 << 30, 1, 5 << 30]],
        priority=[0],
    )
    data = to_compact(inst)
    assert data["nodes"][0]["cap_gpu"] == 2 and data["pods"][0]["req_ephemeral_storage_bytes"]
    again = from_compact(data)
    assert again.resources == inst.resources
    assert again.requests.tolist() == inst.requests.tolist()
    assert again.allocatable.tolist() == inst.allocatable.tolist()


def test_solve_json_names_pods_and_nodes():
    from typer.testing import CliRunner

    from schedforge.cli import app

    out = CliRunner().invoke(
        app, ["solve", str(RULES_DIR / "hostport.json"), "-m", "cp", "-t", "1", "--json"]
    )
    data = json.loads(out.stdout)
    assert data["plan"]["placements"] == [
        {"pod": "default/ingress-b", "priority": 0, "node": "node-b"}
    ]


def test_pods_plan_and_check_commands(tmp_path):
    from typer.testing import CliRunner

    from schedforge.cli import app

    runner = CliRunner()
    snap = str(RULES_DIR / "pdb_max_unavailable.json")
    out = runner.invoke(app, ["pods", "plan", snap, "-m", "cp", "-t", "1", "-o", str(tmp_path)])
    assert out.exit_code == 0, out.output
    steps = json.loads((tmp_path / "steps.json").read_text())
    assert steps["steps"][0]["action"] == "evict"
    assert "kubectl create --raw" in (tmp_path / "apply.sh").read_text()
    assert "place  default/etl-0" in (tmp_path / "summary.txt").read_text()
    assert runner.invoke(app, ["pods", "check", snap, str(tmp_path)]).exit_code == 0
    bad = runner.invoke(
        app, ["pods", "check", snap, str(RULES_DIR / "pdb_max_unavailable.bad.json")]
    )
    assert bad.exit_code != 0


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_rules_survive_the_json_and_kubectl_writers(name, tmp_path):
    from schedforge.problems.pods.kubectl import to_kubectl

    inst = load(name)
    path = tmp_path / "k.json"
    path.write_text(json.dumps(to_kubectl(inst)))
    for again in (
        PodsInstance.from_dict(json.loads(json.dumps(inst.to_dict()))),
        read_kubectl(path),
    ):
        for field in (
            "conflicts",
            "zone_pairs",
            "domain",
            "pdb_allowed",
            "fixed",
            "allowed",
            "preempt_never",
            "managed",
        ):
            assert getattr(again, field).tolist() == getattr(inst, field).tolist(), field
        for field in ("affinity_terms", "spread"):
            assert _plain(getattr(again, field)) == _plain(getattr(inst, field)), field


def _plain(value):
    """Nested mappings and tuples as dicts and lists (comparable)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def test_pods_plan_refuses_an_unmodelled_rule_and_lists_it_when_ignored(
    tmp_path, monkeypatch, capsys
):
    import sys

    from typer.testing import CliRunner

    from schedforge import cli
    from schedforge.cli import app

    snap = str(RULES_DIR / "refused_namespace_selector.json")
    argv = ["schedforge", "pods", "plan", snap, "-m", "kube", "-o", str(tmp_path)]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as refused:
        cli.main()
    assert refused.value.code not in (0, None)
    err = " ".join(capsys.readouterr().err.split())
    assert "rule 'namespace-selector'" in err and "Traceback" not in err
    runner = CliRunner()
    args = [
        "pods",
        "plan",
        snap,
        "-m",
        "kube",
        "-o",
        str(tmp_path),
        "--ignore",
        "namespace-selector",
    ]
    out = runner.invoke(app, args)
    assert out.exit_code == 0, out.output
    assert "not modelled" in out.output and "(namespace-selector)" in out.output
    assert "(namespace-selector)" in (tmp_path / "summary.txt").read_text()
    check = ["pods", "check", snap, str(tmp_path), "--ignore", "namespace-selector"]
    assert runner.invoke(app, check).exit_code == 0


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_the_discovery_skeleton_keeps_every_rule(name):
    # Discovered pods heuristics run in this skeleton: any score gives a valid plan.
    from schedforge.discovery.templates_pods import PODS

    inst = load(name)
    arrays = PODS.encode(inst)

    def least_allocated(cpu_free, mem_free, *rest):
        return -(cpu_free + mem_free)

    solution = PODS.decode(inst, PODS.run_python(least_allocated, arrays))
    assert check_steps(inst, plan_steps(inst, solution)) == []


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("costs", [(0.5, 0.0), (2.0, 3.0), (0.0, 1.5)])
def test_weighted_disruption_mode_matches_brute_force(seed, costs):
    inst = tiny_ruled(seed)
    fractions = disruption_costs(*costs)
    best = None
    for node in itertools.product(range(-1, inst.num_nodes), repeat=inst.num_pods):
        node = np.array(node)
        if not validate(inst, PodsSolution(node)):
            value = weighted_value(inst, node, fractions)
            best = value if best is None else min(best, value)
    for method in ("cp", "mip:highs"):
        res = sf.solve(inst, method, time_limit=5, move_cost=costs[0], eviction_cost=costs[1])
        assert not validate(inst, res.solution)
        assert res.status is not sf.Status.OPTIMAL  # the lexicographic optimum is not the aim
        got = weighted_value(inst, res.solution.node, fractions)
        # Equal up to the charged tier (ties in evictions and moves may differ).
        last = disruption_tier(inst)
        assert got[: last + 1] == best[: last + 1], (method, res.stats)
        if not inst.preempt_never.any():
            assert res.stats["weighted_proven"] or method == "mip:highs"
