"""What a solution changes: placements, moves and evictions, per tier."""

from __future__ import annotations

from typing import Any

import numpy as np

from schedforge.problems.pods.model import PodsInstance, PodsSolution
from schedforge.problems.pods.oracle import objective_vector

# --------------------------------------------------------------------------
# Plan and chart


def plan(instance: PodsInstance, solution: PodsSolution) -> dict[str, Any]:
    """What the solution changes, as a JSON-ready dictionary.

    Keys: ``placements`` (pending pods that start, with their node),
    ``moves`` (``from``/``to``), ``evictions``, ``pending`` (pods still not
    running) and ``tiers`` (per priority: pods, running before and after).
    """
    node = np.asarray(solution.node)
    current = instance.current_node
    names, nodes = instance.pod_names, instance.node_names

    def entry(p: int, **extra: Any) -> dict[str, Any]:
        return {"pod": names[p], "priority": int(instance.priority[p]), **extra}

    tiers = []
    for t, prio in enumerate(instance.tiers):
        members = instance.tier_of == t
        tiers.append(
            {
                "priority": prio,
                "pods": int(members.sum()),
                "running_before": int(np.sum(members & (current >= 0))),
                "running_after": int(np.sum(members & (node >= 0))),
            }
        )
    return {
        "instance": instance.name,
        "value": str(objective_vector(instance, solution)),
        "placements": [
            entry(p, node=nodes[node[p]])
            for p in range(instance.num_pods)
            if current[p] < 0 and node[p] >= 0
        ],
        "moves": [
            entry(p, **{"from": nodes[current[p]], "to": nodes[node[p]]})
            for p in range(instance.num_pods)
            if current[p] >= 0 and node[p] >= 0 and node[p] != current[p]
        ],
        "evictions": [
            entry(p, node=nodes[current[p]])
            for p in range(instance.num_pods)
            if current[p] >= 0 and node[p] < 0
        ],
        "pending": [entry(p) for p in range(instance.num_pods) if node[p] < 0],
        "tiers": tiers,
    }


def plan_report(instance: PodsInstance, solution: PodsSolution) -> str:
    """A human-readable plan: per tier, what moves where, what is evicted, what starts."""
    info = plan(instance, solution)
    lines = [f"plan for {info['instance']}: {info['value']}"]
    for tier in info["tiers"]:
        prio = tier["priority"]
        lines.append(
            f"priority {prio}: {tier['running_before']} -> {tier['running_after']} "
            f"of {tier['pods']} pods running"
        )
        for item in info["placements"]:
            if item["priority"] == prio:
                lines.append(f"  place  {item['pod']} on {item['node']}")
        for item in info["moves"]:
            if item["priority"] == prio:
                lines.append(f"  move   {item['pod']} {item['from']} -> {item['to']}")
        for item in info["evictions"]:
            if item["priority"] == prio:
                lines.append(f"  evict  {item['pod']} from {item['node']}")
        waiting = [i["pod"] for i in info["pending"] if i["priority"] == prio]
        if waiting:
            lines.append(f"  still pending: {', '.join(waiting)}")
    return "\n".join(lines)
