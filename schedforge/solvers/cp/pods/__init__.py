"""Lexicographic CP-SAT for pod packing with priorities: method ``cp``.

The model works on *pod classes*: pods that are interchangeable for every
constraint (same priority, requests, admissible nodes and anti-affinity
class; typically the replicas of one ReplicaSet) share integer variables
``y[g, n]`` = how many pods of class ``g`` run on node ``n``. This removes
the symmetry between replicas that a 0/1 pod-node model has, and makes the
model small enough to build and solve in process within a 1 s window on a
32-node cluster. :func:`disaggregate` turns counts back into a node per pod,
keeping running pods where they are first, then moving running pods, then
placing pending ones, so that evictions and moves are exactly the ones the
model counts.

``cp`` solves one model per tier, highest priority first, each maximising
the pods of its tier with the optima of the tiers above fixed, and finally
one model minimising evictions, then moves (weighted exactly), with every
tier fixed (Christensen, Giallorenzo & Mauro 2025, lexicographic model;
extended with any number of resources, pod-count limits, taints, node
selection, required node affinity and hostname anti-affinity). The first
hint is the better of the kube-scheduler simulation with and without
preemption; each model is warm-started from the best plan so far, so the
result is never lexicographically worse than ``kube``.

References
----------
Christensen, Giallorenzo & Mauro (2025). Priority Matters: Optimising
Kubernetes Clusters Usage with Constraint-Based Pod Packing. arXiv:2511.08373.
"""

from schedforge.solvers.cp.pods.classes import (
    PodClasses,
    aggregate,
    disaggregate,
    greedy_fill,
    pod_classes,
    relabel,
    restrict,
)
from schedforge.solvers.cp.pods.method import cp

__all__ = [
    "PodClasses",
    "aggregate",
    "cp",
    "disaggregate",
    "greedy_fill",
    "pod_classes",
    "relabel",
    "restrict",
]
