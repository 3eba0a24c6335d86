"""Gantt-style chart of a pod placement: stacked resource usage per node."""

from __future__ import annotations

import numpy as np

from schedforge.core.instance import Bar
from schedforge.problems.pods.model import PodsInstance, PodsSolution


def gantt(instance: PodsInstance, solution: PodsSolution) -> list[Bar]:
    """Stacked resource usage per node: one row per node, one bar per pod.

    A bar's width is the pod's share (in %) of the node's allocatable CPU
    (the first resource when there is no ``cpu``), stacked from 0, so a row
    shows how full the node is. Bars are grouped (coloured) by priority;
    moved and newly placed pods are highlighted. Pods that do not run are
    drawn on a last row ``(not running)`` relative to the mean node.
    """
    r = instance.resources.index("cpu") if "cpu" in instance.resources else 0
    node = np.asarray(solution.node)
    bars: list[Bar] = []
    for n in range(instance.num_nodes):
        capacity = max(int(instance.allocatable[n, r]), 1)
        start = 0.0
        for p in np.flatnonzero(node == n):
            share = 100.0 * instance.requests[p, r] / capacity
            bars.append(
                Bar(
                    row=instance.node_names[n],
                    start=start,
                    end=start + share,
                    label=instance.pod_names[p].split("/")[-1],
                    group=f"priority {instance.priority[p]}",
                    highlight=bool(node[p] != instance.current_node[p]),
                )
            )
            start += share
    mean = max(float(instance.allocatable[:, r].mean()), 1.0)
    start = 0.0
    for p in np.flatnonzero(node < 0):
        share = 100.0 * instance.requests[p, r] / mean
        bars.append(
            Bar(
                row="(not running)",
                start=start,
                end=start + share,
                label=instance.pod_names[p].split("/")[-1],
                group=f"priority {instance.priority[p]}",
                highlight=bool(instance.current_node[p] >= 0),
            )
        )
        start += share
    return bars
