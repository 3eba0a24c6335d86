"""Soft rules: preferred node affinity and preferred pod (anti-)affinity, scored like kube-scheduler.

The expected normalised scores are those of the upstream scheduler's own
plugin tests (facts, ported as numbers, not code): kubernetes/kubernetes
``pkg/scheduler/framework/plugins/nodeaffinity/node_affinity_test.go``
(``TestNodeAffinityPriority``) and
``pkg/scheduler/framework/plugins/interpodaffinity/scoring_test.go``
(``TestPreferredAffinity``). Each case is a kubectl snapshot in
``tests/data/pods/rules/preferred_*.json`` with the same nodes, labels and
running pods; the pod to score is the pending ``default/incoming`` (in
``subteam1.team1`` for the namespace-selector cases).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import schedforge as sf
from schedforge.problems.pods import PodsSolution, validate
from schedforge.problems.pods.kubectl import read_kubectl
from schedforge.problems.pods.soft import (
    inter_pod_raw,
    node_affinity_raw,
    normalise_inter_pod,
    normalise_node_affinity,
    soft_score,
    spread_scores,
)

RULES_DIR = Path(__file__).parents[1] / "data" / "pods" / "rules"

# TestNodeAffinityPriority: fixture -> scores in the fixture's node order.
NODE_AFFINITY = {
    # "all nodes matches the preferred scheduling requirements of pod but with different priorities"
    "preferred_node_affinity": [18, 100, 36],
    # "only node1 matches the preferred scheduling requirements of pod"
    "preferred_node_affinity_one": [100, 0, 0],
    # "no node matches preferred scheduling requirements in NodeAffinity of pod ..."
    "preferred_node_affinity_none": [0, 0, 0],
}

# TestPreferredAffinity: fixture suffix -> scores in the fixture's node order.
INTER_POD = {
    # "Affinity: pod that matches topology key & pods in nodes will get high score ..."
    "match": [100, 0, 0],
    # "All the nodes that have the same topology key & label value with one of them ..."
    "same_domain": [100, 100, 0],
    # "Affinity: nodes in one region has more matching pods comparing to other region ..."
    "more_matches": [100, 0, 100, 100, 0],
    # "Affinity: different Label operators and values for pod affinity scheduling preference ..."
    "operators": [20, 100, 0],
    # "Affinity symmetry: considered only the preferredDuringSchedulingIgnoredDuringExecution ..."
    "symmetry": [0, 100, 0],
    # "Affinity symmetry with namespace selector"
    "symmetry_namespace_selector": [100, 0, 0],
    # "AntiAffinity symmetry with namespace selector"
    "anti_symmetry_namespace_selector": [0, 100, 100],
    # "Anti Affinity: pod that does not match existing pods in node will get high score"
    "anti": [0, 100],
    # "Anti Affinity: pod that does not match topology key & match the pods in nodes ..."
    "anti_no_key": [0, 100],
    # "Anti Affinity: one node has more matching pods comparing to other node ..."
    "anti_more": [0, 100],
    # "Anti Affinity symmetry: the existing pods in node which has anti affinity match ..."
    "anti_symmetry": [0, 100],
    # "Affinity and Anti Affinity: considered only preferredDuringScheduling... in both"
    "both": [100, 0],
    # "Affinity and Anti Affinity: ... the pod to schedule and existing pods have the same labels"
    "both_same_labels": [100, 0, 100, 100, 0],
    # "Affinity and Anti Affinity and symmetry: ..."
    "all_with_symmetry": [100, 0, 100, 0],
    # "Avoid panic when partial nodes in a topology don't have pods with affinity"
    "partial_domain": [0, 0],
    # "Affinity symmetry: considered RequiredDuringSchedulingIgnoredDuringExecution in pod
    # affinity symmetry" (hardPodAffinityWeight 1)
    "required_symmetry": [100, 100, 0],
}


def incoming(inst) -> int:
    return next(p for p, name in enumerate(inst.pod_names) if name.endswith("/incoming"))


@pytest.mark.parametrize("name", sorted(NODE_AFFINITY))
def test_node_affinity_scores_match_the_upstream_plugin_table(name):
    inst = read_kubectl(RULES_DIR / f"{name}.json")
    p = incoming(inst)
    feasible = np.ones(inst.num_nodes, dtype=bool)
    scores = normalise_node_affinity(node_affinity_raw(inst)[p], feasible)
    assert scores.tolist() == NODE_AFFINITY[name]


@pytest.mark.parametrize("case", sorted(INTER_POD))
def test_inter_pod_affinity_scores_match_the_upstream_plugin_table(case):
    inst = read_kubectl(RULES_DIR / f"preferred_pod_affinity_{case}.json")
    p = incoming(inst)
    feasible = np.ones(inst.num_nodes, dtype=bool)
    scores = normalise_inter_pod(inter_pod_raw(inst, p, inst.current_node), feasible)
    assert scores.tolist() == INTER_POD[case]


def test_kube_places_the_pod_on_the_preferred_node():
    # The nodes are alike but for their labels: NodeAffinity decides (node5 scores 100).
    inst = read_kubectl(RULES_DIR / "preferred_node_affinity.json")
    node = sf.solve(inst, "kube").solution.node
    assert inst.node_names[node[incoming(inst)]] == "node5"


@pytest.mark.parametrize("case", ["match", "anti", "all_with_symmetry"])
def test_kube_follows_the_inter_pod_affinity_score(case):
    inst = read_kubectl(RULES_DIR / f"preferred_pod_affinity_{case}.json")
    p = incoming(inst)
    node = sf.solve(inst, "kube").solution.node
    assert INTER_POD[case][node[p]] == 100


@pytest.mark.parametrize("method", ["cp", "mip:highs"])
def test_cp_and_mip_follow_the_soft_rules_below_the_tiers(method):
    inst = read_kubectl(RULES_DIR / "preferred_node_affinity.json")
    res = sf.solve(inst, method, time_limit=5)
    assert not validate(inst, res.solution)
    assert inst.node_names[res.solution.node[incoming(inst)]] == "node5"
    assert res.stats["soft_score"] == soft_score(inst, res.solution.node) == 11


def test_validate_accepts_a_plan_whatever_its_soft_score():
    inst = read_kubectl(RULES_DIR / "preferred_node_affinity.json")
    p = incoming(inst)
    for n in range(inst.num_nodes):
        node = inst.current_node.copy()
        node[p] = n
        assert not validate(inst, PodsSolution(node))
    assert soft_score(inst, np.array([0])) == 2  # node1 matches the weight-2 term only


def test_preferences_round_trip_through_the_project_json():
    inst = read_kubectl(RULES_DIR / "preferred_pod_affinity_symmetry_namespace_selector.json")
    again = type(inst).from_dict(inst.to_dict())
    assert again.preferences == inst.preferences
    terms = [t for terms in inst.preferences for t in terms]
    assert {t["kind"] for t in terms} == {"affinity"}
    # namespaces plus the namespaceSelector resolved through the Namespace objects.
    spaces = {s for t in terms for s in t["namespaces"]}
    assert {"subteam2.team2", "subteam1.team1", "subteam2.team1"} <= spaces


def test_a_weight_outside_1_to_100_is_an_error_with_its_place(tmp_path):
    text = (RULES_DIR / "preferred_node_affinity_one.json").read_text()
    bad = tmp_path / "bad.json"
    bad.write_text(text.replace('"weight": 2', '"weight": 0'))
    with pytest.raises(
        sf.ParseError, match=r"preferredDuringSchedulingIgnoredDuringExecution\[0\]"
    ):
        read_kubectl(bad)


@pytest.mark.parametrize(
    "name", ["preferred_node_affinity", "preferred_pod_affinity_all_with_symmetry"]
)
def test_preferences_round_trip_through_kubectl_json(tmp_path, name):
    inst = read_kubectl(RULES_DIR / f"{name}.json")
    out = tmp_path / "again.json"
    sf.write(inst, out, fmt="kubectl")
    again = read_kubectl(out)
    assert again.preferences == inst.preferences


# TestPodTopologySpreadScore (podtopologyspread/scoring_test.go): fixture suffix ->
# (candidate nodes, scores of the candidates); the other nodes failed the filters.
SPREAD = {
    # "one constraint on node, no existing pods"
    "no_pods": (["node-a", "node-b"], [100, 100]),
    # "one constraint on node, only one node is candidate"
    "one_candidate": (["node-a"], [100]),
    # "one constraint on node, all nodes have the same number of matching pods"
    "same_counts": (["node-a", "node-b"], [100, 100]),
    # "one constraint on node, all 4 nodes are candidates" (2/1/0/3)
    "four_nodes": (["node-a", "node-b", "node-c", "node-d"], [20, 60, 100, 0]),
    # "one constraint on node, all 4 nodes are candidates, maxSkew=2"
    "max_skew_2": (["node-a", "node-b", "node-c", "node-d"], [33, 66, 100, 16]),
    # "one constraint on node, all 4 nodes are candidates, maxSkew=3" (4/3/2/1)
    "max_skew_3": (["node-a", "node-b", "node-c", "node-d"], [44, 66, 77, 100]),
    # "one constraint on node, 3 out of 4 nodes are candidates"
    "three_of_four": (["node-a", "node-b", "node-x"], [33, 83, 100]),
    # "one constraint on node, 3 out of 4 nodes are candidates, one node doesn't match topology key"
    "missing_key": (["node-a", "node-b", "node-x"], [16, 0, 100]),
    # "one constraint on zone, 3 out of 4 nodes are candidates"
    "zone": (["node-a", "node-b", "node-x"], [75, 75, 100]),
    # "two Constraints on zone and node, 2 out of 4 nodes are candidates"
    "zone_and_node": (["node-a", "node-x"], [100, 63]),
}


@pytest.mark.parametrize("case", sorted(SPREAD))
def test_schedule_anyway_spread_scores_match_the_upstream_plugin_table(case):
    inst = read_kubectl(RULES_DIR / f"spread_anyway_{case}.json")
    names, expected = SPREAD[case]
    feasible = np.array([n in names for n in inst.node_names])
    scores = spread_scores(inst, incoming(inst), inst.current_node, feasible)
    assert scores[feasible].tolist() == expected


def test_kube_follows_the_schedule_anyway_spread_score():
    # 2/1/0/3 matching pods on four like nodes: node-c scores 100 (upstream table).
    inst = read_kubectl(RULES_DIR / "spread_anyway_four_nodes.json")
    node = sf.solve(inst, "kube").solution.node
    assert inst.node_names[node[incoming(inst)]] == "node-c"
