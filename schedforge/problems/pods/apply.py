"""An applicable plan: ordered steps, their replay, and a ``kubectl`` script.

A solution says where every pod ends up; a cluster operator needs the
order in which to get there. :func:`plan_steps` orders the changes as
evictions first (every pod that leaves its node, through the Eviction API,
so PodDisruptionBudgets are enforced by the API server), then bindings,
highest priority first (pods under pod affinity or topology spread in the
order that binds them: :func:`.topology.bind_order`). Every intermediate placement is a subset of the
current placement minus the leavers, or of the final placement, on each
node, so no node is ever over its allocatable amounts or ``max_pods`` and
no anti-affinity or host-port pair ever meets. :func:`check_steps` replays
steps on the snapshot and names the first rule a step breaks;
:func:`kubectl_script` writes the steps as a shell script.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from typing import Any

import numpy as np

from schedforge.problems.pods.model import PodsInstance, PodsSolution
from schedforge.problems.pods.oracle import objective_vector, validate
from schedforge.problems.pods.topology import bind_order

__all__ = ["check_steps", "kubectl_script", "plan_steps", "replay", "steps_json"]

STEPS_FORMAT = "schedforge-pods-steps/1"


def plan_steps(instance: PodsInstance, solution: PodsSolution) -> dict[str, Any]:
    """The ordered steps that turn the snapshot into ``solution``, as JSON-ready data.

    ``steps`` holds ``{"action": "evict", "pod", "node"}`` for every
    running pod that leaves its node (``"then": node`` when it moves), then
    ``{"action": "bind", "pod", "node"}`` for every pod that starts on a
    node (a moved pod's binding is for the replacement its controller
    creates), highest priority first, then creation order; pods under
    required pod affinity or topology spread in the order
    :func:`.topology.bind_order` finds.
    """
    node = np.asarray(solution.node)
    current = instance.current_node
    names, nodes = instance.pod_names, instance.node_names
    steps: list[dict[str, Any]] = []
    for p in np.flatnonzero((current >= 0) & (node != current)):
        step = {"action": "evict", "pod": names[p], "node": nodes[current[p]]}
        if node[p] >= 0:
            step["then"] = nodes[node[p]]
        if not instance.stay_ok[p]:
            step["reason"] = "NoExecute taint"
        steps.append(step)
    binds, stuck = bind_order(instance, node)
    binds += stuck  # an invalid plan: `check_steps` names the rule they break
    for p in binds:
        step = {"action": "bind", "pod": names[p], "node": nodes[node[p]]}
        if current[p] >= 0:
            step["replaces"] = True  # the controller's replacement of the evicted pod
            step["owner"] = instance.owner[p]
        steps.append(step)
    for k, step in enumerate(steps, start=1):
        step["step"] = k
    return {
        "format": STEPS_FORMAT,
        "snapshot": instance.name,
        "value": str(objective_vector(instance, solution)),
        "steps": steps,
    }


def check_steps(instance: PodsInstance, plan: Mapping[str, Any]) -> list[str]:
    """Replay ``plan``'s steps on the snapshot: the first violated rule, or ``[]``.

    Each eviction must take a running pod that is not protected, terminating
    or another scheduler's off its node, within its PodDisruptionBudget;
    each binding must put a pod that is not running on a node that admits it
    (cordon, node selection, taints, gates), has room (every resource,
    ``max_pods``), holds no pod it conflicts with (host ports; anti-affinity on
    the node or in its topology domain), and, for a ``preemptionPolicy: Never`` pod, no room freed by an
    eviction; the pods already bound must satisfy its required pod affinity and
    hard topology spread constraints. The final placement must pass :func:`validate`.
    """
    steps = plan.get("steps") if isinstance(plan, Mapping) else None
    if not isinstance(steps, list):
        return ["the plan has no list 'steps'"]
    pod_index = {n: k for k, n in enumerate(instance.pod_names)}
    node_index = {n: k for k, n in enumerate(instance.node_names)}
    node = np.array(instance.current_node, dtype=np.int64)
    usage = np.zeros_like(instance.allocatable)
    placed = np.flatnonzero(node >= 0)
    np.add.at(usage, node[placed], instance.requests[placed])
    count = np.bincount(node[placed], minlength=instance.num_nodes)
    budget_left = np.array(instance.pdb_allowed, dtype=np.int64)
    emptied = np.zeros(instance.num_nodes, dtype=bool)
    ports = {(int(p), int(q)) for p, q in instance.port_pairs}
    for k, step in enumerate(steps, start=1):
        where = f"step {k}"
        if not isinstance(step, Mapping):
            return [f"{where}: expected an object"]
        action, pod_name, node_name = step.get("action"), step.get("pod"), step.get("node")
        where = (
            f"step {k} ({action} {pod_name} {'from' if action == 'evict' else 'to'} {node_name})"
        )
        if pod_name not in pod_index:
            return [f"{where}: no pod {pod_name!r} in the snapshot"]
        if node_name not in node_index:
            return [f"{where}: no node {node_name!r} in the snapshot"]
        p, n = pod_index[pod_name], node_index[node_name]
        if action == "evict":
            if node[p] != n:
                return [f"{where}: the pod does not run on that node"]
            if instance.fixed[p]:
                return [f"{where}: the pod is protected, terminating or not ours to evict"]
            b = instance.pdb[p]
            if b >= 0 and instance.stay_ok[p] and node[p] == instance.current_node[p]:
                if budget_left[b] <= 0:
                    return [
                        f"{where}: PodDisruptionBudget {instance.pdb_names[b]!r} allows no "
                        "further disruption (the Eviction API refuses it)"
                    ]
                budget_left[b] -= 1
            usage[n] -= instance.requests[p]
            count[n] -= 1
            node[p] = -1
            emptied[n] = True
        elif action == "bind":
            if node[p] >= 0:
                return [f"{where}: the pod already runs on {instance.node_names[node[p]]!r}"]
            if not instance.eligible[p, n]:
                return [f"{where}: {instance.refusal(p, n)}"]
            if instance.preempt_never[p] and instance.current_node[p] < 0 and emptied[n]:
                return [f"{where}: preemptionPolicy Never, but an eviction freed room there"]
            over = np.flatnonzero(usage[n] + instance.requests[p] > instance.allocatable[n])
            over = [r for r in over if instance.requests[p, r] > 0]
            if over:
                r = over[0]
                return [
                    f"{where}: node over capacity on {instance.resources[r]} "
                    f"({usage[n, r] + instance.requests[p, r]} > {instance.allocatable[n, r]})"
                ]
            if count[n] + 1 > instance.max_pods[n]:
                return [f"{where}: node over max_pods {instance.max_pods[n]}"]
            q = instance.clashes(p, n, node)
            if q >= 0:
                rule = "hostPort" if (min(p, q), max(p, q)) in ports else "pod anti-affinity"
                return [f"{where}: {rule} conflict with {instance.pod_names[q]!r}"]
            if instance.topology.active:
                why = instance.topology.refusal(p, n, node)
                if why:
                    return [f"{where}: {why}"]
            usage[n] += instance.requests[p]
            count[n] += 1
            node[p] = n
        else:
            return [f"{where}: unknown action {action!r} (evict or bind)"]
    return [f"after the steps: {problem}" for problem in validate(instance, PodsSolution(node))[:1]]


def replay(instance: PodsInstance, plan: Mapping[str, Any]) -> np.ndarray:
    """The placement after ``plan``'s steps (assumed valid by :func:`check_steps`)."""
    node = np.array(instance.current_node, dtype=np.int64)
    pod_index = {n: k for k, n in enumerate(instance.pod_names)}
    node_index = {n: k for k, n in enumerate(instance.node_names)}
    for step in plan["steps"]:
        p = pod_index[step["pod"]]
        node[p] = node_index[step["node"]] if step["action"] == "bind" else -1
    return node


def kubectl_script(plan: Mapping[str, Any]) -> str:
    """A POSIX shell script applying the steps with ``kubectl``.

    Evictions go through the Eviction API (``pods/eviction``): the API server
    refuses one that breaks a PodDisruptionBudget, and ``set -e`` then stops
    the script. Bindings use ``pods/binding``; a moved pod's binding waits
    for the pending replacement its controller creates and binds that.
    """
    lines = [
        "#!/bin/sh",
        f"# Plan for {plan.get('snapshot')}: {plan.get('value')}",
        "# Written by `schedforge pods plan`; check it first with `schedforge pods check`.",
        "set -eu",
        "",
        "evict() {  # namespace pod",
        '  printf \'{"apiVersion":"policy/v1","kind":"Eviction",'
        '"metadata":{"name":"%s","namespace":"%s"}}\' "$2" "$1" |',
        '    kubectl create --raw "/api/v1/namespaces/$1/pods/$2/eviction" -f -',
        "}",
        "",
        "bind() {  # namespace pod node",
        '  printf \'{"apiVersion":"v1","kind":"Binding","metadata":{"name":"%s",'
        '"namespace":"%s"},"target":{"apiVersion":"v1","kind":"Node","name":"%s"}}\' '
        '"$2" "$1" "$3" |',
        '    kubectl create --raw "/api/v1/namespaces/$1/pods/$2/binding" -f -',
        "}",
        "",
        "bind_replacement() {  # namespace owner-name node: the controller's new pending pod",
        "  for _ in $(seq 60); do",
        '    pod=$(kubectl get pods -n "$1" --field-selector=status.phase=Pending -o '
        "jsonpath='{range .items[*]}{.metadata.name} {.metadata.ownerReferences[0].name}"
        '{"\\n"}{end}\' | awk -v o="$2" \'$2 == o {print $1; exit}\')',
        '    if [ -n "$pod" ]; then bind "$1" "$pod" "$3"; return; fi',
        "    sleep 1",
        "  done",
        '  echo "no pending replacement of $2 in $1" >&2; exit 1',
        "}",
        "",
    ]
    for step in plan["steps"]:
        namespace, _, name = str(step["pod"]).rpartition("/")
        namespace = namespace or "default"
        args = " ".join(shlex.quote(a) for a in (namespace, name))
        target = shlex.quote(str(step["node"]))
        if step["action"] == "evict":
            lines.append(f"evict {args}  # step {step['step']}: from {step['node']}")
        elif step.get("replaces"):
            owner = str(step.get("owner") or "").rpartition("/")[2]
            lines.append(
                f"bind_replacement {shlex.quote(namespace)} {shlex.quote(owner)} {target}"
                f"  # step {step['step']}: {step['pod']} moves here"
            )
        else:
            lines.append(f"bind {args} {target}  # step {step['step']}")
    return "\n".join(lines) + "\n"


def steps_json(plan: Mapping[str, Any]) -> str:
    """The steps as indented JSON text."""
    return json.dumps(plan, indent=1) + "\n"
