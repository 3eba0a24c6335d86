"""Reading the preferred (soft) affinity terms of a kubectl Pod spec.

Kept apart from :mod:`schedforge.problems.pods.kubectl` (which reads
everything else) so that each module has one job; the terms' meaning is in
:mod:`schedforge.problems.pods.soft`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schedforge.problems.pods.rules import NODE_NAME_FIELD


def read_preferences(reader, spec: Mapping, namespace: str, where: str) -> list[dict]:
    """Preferred node and pod (anti-)affinity terms of ``spec``, with their weights.

    ``reader`` is the kubectl reader; a pod affinity term (selector,
    namespaces and ``namespaceSelector``, topology key) is parsed exactly as
    a required one (:func:`schedforge.problems.pods.kubectl_rules.pod_terms`).
    """
    from schedforge.problems.pods.kubectl import _list, _map
    from schedforge.problems.pods.kubectl_rules import pod_terms

    affinity = _map(spec.get("affinity"))
    at = f"{where}.affinity"
    out = []
    node_terms = _map(affinity.get("nodeAffinity")).get(
        "preferredDuringSchedulingIgnoredDuringExecution"
    )
    for k, item in enumerate(_list(node_terms)):
        here = f"{at}.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[{k}]"
        term = _map(_map(item).get("preference"))
        reqs = [dict(e) for e in _list(term.get("matchExpressions"))]
        reqs += [{**e, "key": NODE_NAME_FIELD} for e in _list(term.get("matchFields"))]
        out.append({"kind": "node", "weight": _weight(reader, item, here), "requirements": reqs})
    for kind, name in (("podAffinity", "affinity"), ("podAntiAffinity", "anti-affinity")):
        preferred = _map(affinity.get(kind)).get("preferredDuringSchedulingIgnoredDuringExecution")
        for k, item in enumerate(_list(preferred)):
            here = f"{at}.{kind}.preferredDuringSchedulingIgnoredDuringExecution[{k}]"
            weight = _weight(reader, item, here)
            term = _map(item).get("podAffinityTerm")
            if not isinstance(term, Mapping):
                raise reader.fail(f"{here}.podAffinityTerm: expected an object")
            for parsed in pod_terms(reader, [term], namespace, f"{here}.podAffinityTerm"):
                if parsed["selector"] is not None:  # a term matching no pod scores nothing
                    out.append({"kind": name, "weight": weight, **parsed})
    return out


def _weight(reader, item: Any, here: str) -> int:
    """The weight of a preferred term, an integer in 1..100 (the API's range)."""
    weight = item.get("weight") if isinstance(item, Mapping) else None
    if isinstance(weight, bool) or not isinstance(weight, int) or not 1 <= weight <= 100:
        raise reader.fail(f"{here}.weight: {weight!r} is not an integer in 1..100")
    return weight


def write_preferences(terms, affinity: dict) -> None:
    """Add the preferred terms of one pod to its kubectl ``affinity`` object (in place)."""
    preferred = "preferredDuringSchedulingIgnoredDuringExecution"
    for term in terms:
        if term["kind"] == "node":
            exprs = [
                _requirement_object(r) for r in term["requirements"] if r["key"] != NODE_NAME_FIELD
            ]
            fields = [
                _requirement_object(r) for r in term["requirements"] if r["key"] == NODE_NAME_FIELD
            ]
            preference = {"matchExpressions": exprs, **({"matchFields": fields} if fields else {})}
            node = affinity.setdefault("nodeAffinity", {})
            node.setdefault(preferred, []).append(
                {"weight": term["weight"], "preference": preference}
            )
            continue
        spaces = list(term["namespaces"])
        pod_term = {
            "labelSelector": {
                "matchExpressions": [_requirement_object(r) for r in term["selector"]]
            },
            "topologyKey": term["topology"],
            **({"namespaceSelector": {}} if "*" in spaces else {"namespaces": spaces}),
        }
        kind = "podAffinity" if term["kind"] == "affinity" else "podAntiAffinity"
        affinity.setdefault(kind, {}).setdefault(preferred, []).append(
            {"weight": term["weight"], "podAffinityTerm": pod_term}
        )


def _requirement_object(req: Mapping[str, Any]) -> dict:
    out = {"key": req["key"], "operator": req["operator"]}
    if req["operator"] in ("In", "NotIn", "Gt", "Lt"):
        out["values"] = list(req["values"])
    return out
