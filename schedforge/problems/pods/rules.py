"""Kubernetes matching rules: taints and tolerations, label selectors, node affinity."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")
# The topology key of one node (the default domain of pod (anti-)affinity).
HOSTNAME = "kubernetes.io/hostname"
UNSCHEDULABLE_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
# A node field, not a label: required node affinity ``matchFields`` may only
# use it, and it matches the node's name.
NODE_NAME_FIELD = "metadata.name"


# --------------------------------------------------------------------------
# Matching rules (Kubernetes semantics)


def tolerates(toleration: Mapping[str, str], taint: Mapping[str, str]) -> bool:
    """Whether a toleration tolerates a taint (Kubernetes ``ToleratesTaint``).

    An empty effect matches every effect; an empty key with ``Exists``
    matches every taint.
    """
    if toleration["effect"] and toleration["effect"] != taint["effect"]:
        return False
    if toleration["key"] and toleration["key"] != taint["key"]:
        return False
    if toleration["operator"] == "Exists":
        return True
    return toleration["value"] == taint["value"]


def requirement_matches(req: Mapping[str, Any], labels: Mapping[str, str], node_name: str) -> bool:
    key, op, values = req["key"], req["operator"], req["values"]
    present = key == NODE_NAME_FIELD or key in labels
    actual = node_name if key == NODE_NAME_FIELD else labels.get(key)
    if op == "In":
        return present and actual in values
    if op == "NotIn":
        return not present or actual not in values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if not present or not re.fullmatch(r"-?\d+", actual or ""):
        return False
    return int(actual) > int(values[0]) if op == "Gt" else int(actual) < int(values[0])


def selector_matches(selector: Mapping[str, str] | None, labels: Mapping[str, str]) -> bool:
    return selector is not None and all(labels.get(k) == v for k, v in selector.items())


def namespace_of(pod_name: str) -> str:
    return pod_name.split("/", 1)[0] if "/" in pod_name else "default"
