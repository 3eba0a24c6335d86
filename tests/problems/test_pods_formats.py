"""The kubectl JSON/YAML reader and writer for pods."""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import schedforge as sf
from schedforge.problems.pods import PodsInstance
from schedforge.problems.pods.kubectl import parse_quantity, read_kubectl, to_kubectl
from tests.conftest import DATA

PODS = DATA / "pods"
MIB = 2**20


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("250m", Fraction(1, 4)),
        ("0.5", Fraction(1, 2)),
        ("1Gi", Fraction(2**30)),
        ("100M", Fraction(10**8)),
        ("1e3", Fraction(1000)),
        ("1E3", Fraction(1000)),
        ("1e-1", Fraction(1, 10)),
        ("12Ki", Fraction(12 * 1024)),
        ("2", Fraction(2)),
        (".5", Fraction(1, 2)),
        ("1E", Fraction(10**18)),
        (3, Fraction(3)),
        (0.25, Fraction(1, 4)),
    ],
)
def test_quantities(text, value):
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["250mm", "1.2.3", "Gi", "", "1 Gi", "0x10", True])
def test_bad_quantities(text):
    with pytest.raises(ValueError):
        parse_quantity(text)


def test_reads_separate_kubectl_files():
    inst = read_kubectl(PODS / "nodes.json", PODS / "pods.json", PODS / "priorityclasses.json")
    assert inst.resources == ("cpu", "memory", "nvidia.com/gpu")
    assert inst.node_names == ("control-plane", "worker-1", "worker-2")
    # Allocatable, not capacity; pods become max_pods.
    assert inst.allocatable[1].tolist() == [3800, int(7.5 * 2**30), 1]
    assert inst.max_pods.tolist() == [110, 110, 4]
    assert inst.unschedulable.tolist() == [False, False, True]
    names = list(inst.pod_names)
    assert "batch/old-job-abcde" not in names  # Succeeded pods hold nothing
    # Creation order, then: kube-proxy, web-x1, web-z8 (same second), report, api, gpu, debug.
    assert names[0] == "kube-system/kube-proxy-7xk2p" and names[-1] == "default/debug"
    by_name = {n: k for k, n in enumerate(names)}
    web = by_name["shop/web-7d4b9c6f5-x1lqz"]
    # Init container (500m) beats the containers' sum (250m + 100m); memory 256 + 64 Mi.
    assert inst.requests[web].tolist() == [500, 320 * MIB, 0]
    assert inst.priority[web] == 100_000  # PriorityClass "high"
    (term,) = inst.anti_affinity_terms[web]
    assert [dict(r) for r in term["selector"]] == [
        {"key": "app", "operator": "In", "values": ("web",)}
    ]
    assert term["namespaces"] == ("shop",)
    report = by_name["batch/report-28012345-4fj2k"]
    # 0.5 CPU + 100m sidecar + 50m overhead; 100M + 50Mi + 32Mi.
    assert inst.requests[report].tolist() == [650, 100_000_000 + 82 * MIB, 0]
    assert inst.priority[report] == 1000  # globalDefault "standard"
    gpu = by_name["ml/gpu-train-0"]
    assert inst.requests[gpu].tolist() == [1000, 2 * 2**30, 1]  # requests default to limits
    assert inst.owner[gpu] == "StatefulSet/gpu-train"
    proxy = by_name["kube-system/kube-proxy-7xk2p"]
    assert inst.priority[proxy] == 2_000_001_000 and inst.protected[proxy]
    assert inst.protected[by_name["default/debug"]]  # no controller would recreate it
    assert not inst.protected[web]
    assert inst.current_node[web] == 1 and inst.current_node[gpu] == -1
    # The api pod requires zone b, whose only node is cordoned.
    assert not inst.eligible[by_name["shop/api-5f6d7c8b9-qq7tw"]].any()
    # kube-proxy tolerates everything, including the control-plane taint.
    assert inst.eligible[proxy].tolist() == [True, True, True]


@pytest.mark.parametrize("name", ["cluster.json", "cluster.yaml"])
def test_reads_one_list_file_in_json_and_yaml(name):
    inst = sf.read(PODS / name)
    separate = read_kubectl(PODS / "nodes.json", PODS / "pods.json", PODS / "priorityclasses.json")
    assert np.array_equal(inst.requests, separate.requests)
    assert inst.pod_names == separate.pod_names
    res = sf.solve(inst, "cp", time_limit=5)
    assert res.status.has_solution


MALFORMED = {
    "CompactPodOnMissingNode.json": "which is not listed",
    "CompactNegativeRequest.json": "is negative",
    "CompactMissingRequest.json": "missing req_mem_bytes",
    "CompactOverloadedNode.json": "overloaded on cpu",
    "CompactFractionalCpu.json": "is not an integer",
    "CompactTruncated.json": "invalid JSON",
    "KubectlBadQuantity.json": "'250mm' is not a Kubernetes quantity",
    "KubectlPodOnMissingNode.json": "spec.nodeName 'worker-9' is not among the nodes",
    "KubectlUnknownPriorityClass.json": "priorityClassName 'urgent' matches no PriorityClass",
    "KubectlNegativeRequest.json": "cpu = '-100m' is negative",
    "KubectlNoNodes.json": "no Node objects found",
    "KubectlMissingAllocatable.json": "status.allocatable is missing",
    "KubectlBadIndentation.yaml": "invalid YAML",
}


@pytest.mark.parametrize("name", sorted(p.name for p in PODS.iterdir() if p.name[0].isupper()))
def test_malformed_files_raise_clear_errors(name):
    assert name in MALFORMED, f"say what error {name} must raise"
    with pytest.raises(sf.ParseError, match=re.escape(MALFORMED[name])) as info:
        sf.read(PODS / name)
    assert name in str(info.value)


@settings(max_examples=10, deadline=None)
@given(
    nodes=st.integers(1, 4),
    ppn=st.integers(1, 3),
    options=st.lists(st.booleans(), min_size=4, max_size=4),
    seed=st.integers(0, 1000),
)
def test_kubectl_writer_round_trip(tmp_path_factory, nodes, ppn, options, seed):
    gpus, taints, selectors, anti = options
    inst = sf.generate(
        "pods",
        nodes=nodes,
        pods_per_node=ppn,
        priorities=2,
        gpus=gpus,
        taints=taints,
        selectors=selectors,
        anti_affinity=anti,
        seed=seed,
    )
    placed = inst.with_placement(sf.solve(inst, "kube").solution.node)
    path = tmp_path_factory.mktemp("kubectl") / "cluster.yaml"
    sf.write(placed, path, fmt="kubectl")
    back = sf.read(path)
    assert isinstance(back, PodsInstance)
    for field in ("node_names", "pod_names", "resources"):
        assert getattr(back, field) == getattr(placed, field)
    for field in ("allocatable", "requests", "priority", "current_node", "max_pods"):
        assert np.array_equal(getattr(back, field), getattr(placed, field)), field
    assert np.array_equal(back.eligible, placed.eligible)
    assert np.array_equal(back.conflicts, placed.conflicts)
    assert to_kubectl(back)["kind"] == "List"
