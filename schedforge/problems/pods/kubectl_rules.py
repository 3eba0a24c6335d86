"""Pod (anti-)affinity terms and topology spread constraints of ``kubectl`` objects.

Read side: :func:`pod_terms` turns the required terms of ``podAffinity`` or
``podAntiAffinity`` into the instance's terms, and
:func:`spread_constraints` the ``topologySpreadConstraints``. Write side:
:func:`rule_objects` gives the objects :func:`.kubectl.to_kubectl` writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from schedforge.problems.pods.rules import HOSTNAME, requirement_matches

if TYPE_CHECKING:
    from schedforge.problems.pods.kubectl import _Reader
    from schedforge.problems.pods.model import PodsInstance

__all__ = ["pod_terms", "rule_objects", "spread_constraints"]

REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"


def pod_terms(reader: _Reader, terms: Any, namespace: str, here: str) -> list[dict]:
    """The required terms of a pod (anti-)affinity: selector, namespaces, topology key.

    Every term: ``matchLabels`` and ``matchExpressions``, ``namespaces``
    and ``namespaceSelector`` (unioned; both absent means the pod's own
    namespace, an empty ``namespaceSelector`` every namespace; a non-empty
    one needs the Namespace objects: rule ``namespace-selector``). A term
    with a nil label selector, or one selecting no namespace, matches no
    pod: its ``selector`` is ``None``, and the caller decides what that
    means (no conflict for anti-affinity, never satisfied for affinity).
    """
    from schedforge.problems.pods.kubectl import _list, _selector_requirements

    out = []
    for k, term in enumerate(_list(terms)):
        at = f"{here}[{k}]"
        topology = term.get("topologyKey")
        if not isinstance(topology, str) or not topology:
            raise reader.fail(f"{at}.topologyKey: a required term needs a topology key")
        selector = term.get("labelSelector")
        nothing = {"selector": None, "namespaces": ["*"], "topology": topology}
        if selector is None:
            out.append(nothing)  # a nil selector matches no pod
            continue
        spaces = term.get("namespaces") or []
        if not isinstance(spaces, list) or not all(isinstance(n, str) for n in spaces):
            raise reader.fail(f"{at}.namespaces: expected a list of names")
        ns_selector = term.get("namespaceSelector")
        if ns_selector is not None:
            if not ns_selector:
                spaces = ["*"]  # an empty namespaceSelector selects every namespace
            elif reader.namespaces is None:
                reader.rule("namespace-selector", f"{at}.namespaceSelector")
                continue  # ignored: planned without the term
            else:
                reqs = _selector_requirements(ns_selector)
                spaces = spaces + [
                    ns
                    for ns, labels in reader.namespaces.items()
                    if all(requirement_matches(r, labels, "") for r in reqs)
                ]
                if not spaces:
                    out.append(nothing)  # selects no namespace: matches no pod
                    continue
        out.append(
            {
                "selector": _selector_requirements(selector),
                "namespaces": spaces or [namespace],
                "topology": topology,
            }
        )
    return out


def spread_constraints(
    reader: _Reader, spec: Mapping, labels: Mapping[str, str], where: str
) -> list[dict]:
    """The ``topologySpreadConstraints`` of a pod spec.

    ``matchLabelKeys`` add the pod's own values of those labels to the
    selector (as the API server does); a nil ``labelSelector`` matches no
    pod. Defaults: ``nodeAffinityPolicy: Honor``, ``nodeTaintsPolicy:
    Ignore``, no ``minDomains``.
    """
    from schedforge.problems.pods.kubectl import _list, _selector_requirements

    out = []
    for k, item in enumerate(_list(spec.get("topologySpreadConstraints"))):
        at = f"{where}.topologySpreadConstraints[{k}]"
        skew = item.get("maxSkew")
        if isinstance(skew, bool) or not isinstance(skew, int) or skew < 1:
            raise reader.fail(f"{at}.maxSkew: expected an integer >= 1, got {skew!r}")
        topology = item.get("topologyKey")
        if not isinstance(topology, str) or not topology:
            raise reader.fail(f"{at}.topologyKey: a constraint needs a topology key")
        when = item.get("whenUnsatisfiable") or "DoNotSchedule"
        if when not in ("DoNotSchedule", "ScheduleAnyway"):
            raise reader.fail(
                f"{at}.whenUnsatisfiable {when!r} is neither DoNotSchedule nor ScheduleAnyway"
            )
        min_domains = item.get("minDomains") or 0
        if isinstance(min_domains, bool) or not isinstance(min_domains, int) or min_domains < 0:
            raise reader.fail(f"{at}.minDomains: expected an integer >= 1, got {min_domains!r}")
        selector = _selector_requirements(item.get("labelSelector"))
        for key in item.get("matchLabelKeys") or []:
            if str(key) in labels:
                selector.append({"key": str(key), "operator": "In", "values": [labels[str(key)]]})
        policies = {}
        for field, name, default in (
            ("nodeAffinityPolicy", "node_affinity_policy", "Honor"),
            ("nodeTaintsPolicy", "node_taints_policy", "Ignore"),
        ):
            value = item.get(field) or default
            if value not in ("Honor", "Ignore"):
                raise reader.fail(f"{at}.{field} {value!r} is neither Honor nor Ignore")
            policies[name] = value
        out.append(
            {
                "max_skew": skew,
                "topology": topology,
                "selector": selector,
                "when": when,
                "min_domains": min_domains if when == "DoNotSchedule" else 0,
                **policies,
            }
        )
    return out


def _term_object(term: Mapping[str, Any]) -> dict[str, Any]:
    exprs = [
        {"key": r["key"], "operator": r["operator"], "values": list(r["values"])}
        for r in term["selector"]
    ]
    spaces = list(term["namespaces"])
    return {
        "labelSelector": {"matchExpressions": exprs},
        "topologyKey": term.get("topology", HOSTNAME),
        **({"namespaceSelector": {}} if "*" in spaces else {"namespaces": spaces}),
    }


def rule_objects(instance: PodsInstance, p: int) -> tuple[list[dict], list[dict]]:
    """The ``podAffinity`` required terms and ``topologySpreadConstraints`` of pod ``p``."""
    affinity = [_term_object(t) for t in instance.affinity_terms[p]]
    spread = []
    for c in instance.spread[p]:
        item = {
            "maxSkew": c["max_skew"],
            "topologyKey": c["topology"],
            "whenUnsatisfiable": c["when"],
            "labelSelector": {
                "matchExpressions": [
                    {"key": r["key"], "operator": r["operator"], "values": list(r["values"])}
                    for r in c["selector"]
                ]
            },
            "nodeAffinityPolicy": c["node_affinity_policy"],
            "nodeTaintsPolicy": c["node_taints_policy"],
        }
        if c["min_domains"]:
            item["minDomains"] = c["min_domains"]
        spread.append(item)
    return affinity, spread


def anti_objects(instance: PodsInstance, p: int) -> list[dict]:
    """The ``podAntiAffinity`` required terms of pod ``p``."""
    out = []
    if instance.anti_affinity[p] is not None:
        out.append(
            {
                "labelSelector": {"matchLabels": dict(instance.anti_affinity[p])},
                "topologyKey": HOSTNAME,
            }
        )
    return out + [_term_object(t) for t in instance.anti_affinity_terms[p]]
