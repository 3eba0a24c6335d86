"""Kubernetes ``kubectl`` JSON/YAML reader and writer for pod packing.

Reads what ``kubectl get nodes,pods,priorityclasses -A -o json`` (or
``-o yaml``) prints: a ``List`` whose items are ``Node``, ``Pod`` and
``PriorityClass`` objects. Separate files (``kubectl get nodes -o json >
nodes.json`` and so on) are read together with :func:`read_kubectl`.

What is taken from the objects, following the kube-scheduler's view:

* **Nodes**: ``status.allocatable`` (not capacity); ``pods`` becomes
  ``max_pods``; labels, ``spec.taints``, ``spec.unschedulable``.
* **Pods** (``Succeeded``/``Failed`` ones are skipped), in creation order
  (``metadata.creationTimestamp``): the effective request per resource is
  ``max(Σ containers + Σ sidecars, max over init containers of (init +
  sidecars started before it)) + overhead``, sidecars being init containers
  with ``restartPolicy: Always``; a container with limits but no request
  requests its limits (API defaulting). ``spec.nodeName`` is the current
  node; the priority is ``spec.priority`` when admission filled it, else
  ``priorityClassName`` resolved through the PriorityClass objects (and the
  built-in ``system-cluster-critical``/``system-node-critical``), else the
  ``globalDefault`` class, else 0. ``nodeSelector``, required node affinity
  (``matchExpressions``; ``matchFields`` on ``metadata.name``), tolerations
  required pod anti-affinity and pod affinity (every term, ``matchLabels``
  and ``matchExpressions``, ``namespaces`` and ``namespaceSelector``, by
  ``topologyKey``) and ``topologySpreadConstraints`` (both
  ``whenUnsatisfiable`` values; :mod:`.kubectl_rules`) are kept; the other
  rules of :data:`RULES` are refused by name, or listed in
  ``metadata["ignored"]`` when ignored.
* **Protected** pods (must not move): namespace ``kube-system``, owned by a
  DaemonSet or a Node (static pods), or without a controller (nobody would
  recreate them); the annotation ``schedforge.io/protected: "true"|"false"``
  overrides.

Quantities follow the Kubernetes grammar: ``250m``, ``0.5``, ``1Gi``,
``100M``, ``1e3``, ``12Ki``, ...; cpu is stored in millicores and every
other resource in base units, both rounded up like the API server does.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from schedforge.core.errors import InvalidInstance, InvalidOption, ParseError
from schedforge.core.registry import Format, register_format
from schedforge.core.text import loads_json, read_text
from schedforge.problems.pods.kubectl_rules import (
    REQUIRED,
    anti_objects,
    pod_terms,
    rule_objects,
    spread_constraints,
)
from schedforge.problems.pods.kubectl_soft import read_preferences, write_preferences
from schedforge.problems.pods.model import MAX_AMOUNT, PodsInstance
from schedforge.problems.pods.rules import NODE_NAME_FIELD, requirement_matches

__all__ = ["RULES", "parse_quantity", "read_kubectl", "to_kubectl"]

EPOCH = datetime(2025, 1, 1)
PROTECTED_ANNOTATION = "schedforge.io/protected"
# The label to_kubectl gives the pods of a PodDisruptionBudget (its selector).
PDB_MEMBER_LABEL = "schedforge.io/pdb"
BUILTIN_CLASSES = {"system-cluster-critical": 2_000_000_000, "system-node-critical": 2_000_001_000}
_SUFFIX = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 1000),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
    "Ki": Fraction(2**10),
    "Mi": Fraction(2**20),
    "Gi": Fraction(2**30),
    "Ti": Fraction(2**40),
    "Pi": Fraction(2**50),
    "Ei": Fraction(2**60),
}
_QUANTITY = re.compile(
    r"^(?P<sign>[+-]?)(?P<num>\d+(?:\.\d*)?|\.\d+)"
    r"(?:(?P<exp>[eE][+-]?\d+)|(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$"
)


def parse_quantity(value: Any) -> Fraction:
    """A Kubernetes quantity (``"250m"``, ``"1Gi"``, ``"1e3"``, ``2``) as an exact fraction.

    Raises
    ------
    ValueError
        When ``value`` is not a quantity.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a quantity")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a quantity")
        return Fraction(str(value))
    text = str(value).strip()
    match = _QUANTITY.match(text)
    if not match:
        raise ValueError(f"{value!r} is not a Kubernetes quantity (e.g. 250m, 0.5, 1Gi, 1e3)")
    number = Fraction(match["num"])
    if match["exp"]:
        number *= Fraction(10) ** int(match["exp"][1:])
    else:
        number *= _SUFFIX[match["suffix"] or ""]
    return -number if match["sign"] == "-" else number


def _amount(resource: str, value: Any) -> int:
    """Integer amount of a resource: millicores for cpu, base units otherwise (rounded up)."""
    quantity = parse_quantity(value)
    scaled = quantity * 1000 if resource == "cpu" else quantity
    return math.ceil(scaled)


# Scheduling rules the reader refuses (named), unless the caller ignores them.
RULES = {
    "namespace-selector": "a namespaceSelector without the Namespace objects "
    "(add `kubectl get namespaces -o json`)",
}
DEFAULT_SCHEDULER = "default-scheduler"


class _Reader:
    """Turns a bag of Kubernetes objects into a :class:`PodsInstance`."""

    def __init__(self, path: Path, ignore: Sequence[str] = ()):
        unknown = sorted(set(ignore) - set(RULES))
        if unknown:
            raise InvalidOption(
                f"unknown rule(s) to ignore: {', '.join(unknown)}; known: {', '.join(RULES)}"
            )
        self.path = path
        self.ignore = set(ignore)
        self.nodes: list[tuple[dict, str]] = []
        self.pods: list[tuple[dict, str]] = []
        self.budgets: list[tuple[dict, str]] = []
        self.namespaces: dict[str, dict[str, str]] | None = None
        self.classes: dict[str, dict] = {}
        self.ignored: list[str] = []

    def fail(self, message: str) -> ParseError:
        return ParseError(self.path, None, message)

    def rule(self, name: str, where: str) -> None:
        """Refuse an unmodelled rule by name, or list it when ignored."""
        if name in self.ignore:
            self.ignored.append(f"{where}: {RULES[name]} ignored ({name})")
            return
        raise self.fail(
            f"{where}: {RULES[name]} is not modelled; schedforge refuses the snapshot "
            f"rather than plan without it (rule {name!r}: pass --ignore {name} to plan anyway)"
        )

    def add(self, document: Any, where: str) -> None:
        """Add a ``List`` or a single object."""
        if document is None:
            return
        if not isinstance(document, Mapping):
            raise self.fail(
                f"{where}: expected a Kubernetes object or List, got {type(document).__name__}"
            )
        kind = document.get("kind")
        if kind == "List" or (kind is None and "items" in document) or str(kind).endswith("List"):
            items = document.get("items") or []
            if not isinstance(items, list):
                raise self.fail(f"{where}: 'items' must be a list")
            implied = str(kind)[: -len("List")] if str(kind).endswith("List") else None
            for k, item in enumerate(items):
                if isinstance(item, Mapping) and "kind" not in item and implied:
                    item = {**item, "kind": implied}
                self.add(item, f"{where}.items[{k}]")
            return
        for key in ("metadata", "spec", "status"):
            if document.get(key) is not None and not isinstance(document[key], Mapping):
                raise self.fail(f"{where}.{key}: expected an object")
        if kind == "Node":
            self.nodes.append((document, where))
        elif kind == "Pod":
            self.pods.append((document, where))
        elif kind == "PodDisruptionBudget":
            self.budgets.append((document, where))
        elif kind == "Namespace":
            meta = _map(document.get("metadata"))
            self.namespaces = self.namespaces or {}
            self.namespaces[str(meta.get("name"))] = _string_map(meta.get("labels"))
        elif kind == "PriorityClass":
            name = _map(document.get("metadata")).get("name")
            self.classes[str(name)] = document
        else:
            self.ignored.append(f"{where}: object of kind {kind!r} skipped")

    # -- nodes ---------------------------------------------------------------

    def node_fields(self, resources: list[str]) -> dict[str, Any]:
        names, alloc, max_pods, labels, taints, cordoned = [], [], [], [], [], []
        for node, where in self.nodes:
            meta = _map(node.get("metadata"))
            name = meta.get("name")
            if not name:
                raise self.fail(f"{where}.metadata.name is missing")
            status = _map(node.get("status"))
            allocatable = status.get("allocatable")
            if not isinstance(allocatable, Mapping):
                raise self.fail(f"{where} (node {name!r}): status.allocatable is missing")
            at = f"{where}.status.allocatable"
            row = []
            for resource in resources:
                row.append(self.quantity(allocatable.get(resource, 0), resource, at))
            alloc.append(row)
            max_pods.append(self.quantity(allocatable.get("pods", 110), "pods", at))
            names.append(str(name))
            try:
                labels.append(_string_map(meta.get("labels")))
                spec = _map(node.get("spec"))
                node_taints = _list(spec.get("taints"))
            except ValueError as exc:
                raise self.fail(f"{where} (node {name!r}): {exc}") from None
            taints.append(
                [
                    {
                        "key": t.get("key", ""),
                        "value": t.get("value", ""),
                        "effect": t.get("effect"),
                    }
                    for t in node_taints
                ]
            )
            cordoned.append(bool(spec.get("unschedulable", False)))
        return dict(
            node_names=tuple(names),
            allocatable=np.array(alloc, dtype=np.int64).reshape(len(names), len(resources)),
            max_pods=max_pods,
            node_labels=tuple(labels),
            node_taints=tuple(tuple(t) for t in taints),
            unschedulable=cordoned,
        )

    def quantity(self, value: Any, resource: str, where: str) -> int:
        try:
            amount = _amount(resource, value)
        except ValueError as exc:
            raise self.fail(f"{where}.{resource}: {exc}") from None
        if amount < 0:
            raise self.fail(f"{where}.{resource} = {value!r} is negative")
        if amount > MAX_AMOUNT:
            raise self.fail(
                f"{where}.{resource} = {value!r} is larger than schedforge handles "
                f"({MAX_AMOUNT} {'millicores' if resource == 'cpu' else 'units'})"
            )
        return amount

    # -- pods ----------------------------------------------------------------

    def container_requests(self, container: Any, where: str) -> dict[str, int]:
        if not isinstance(container, Mapping):
            raise self.fail(f"{where}: expected a container object")
        resources = _map(container.get("resources"))
        requests = dict(_map(resources.get("limits")))  # API defaulting: requests = limits
        requests.update(_map(resources.get("requests")))
        return {str(r): self.quantity(v, str(r), f"{where}.resources") for r, v in requests.items()}

    def pod_requests(self, spec: Mapping, where: str) -> dict[str, int]:
        total: dict[str, int] = {}
        for k, container in enumerate(_list(spec.get("containers"))):
            for r, v in self.container_requests(container, f"{where}.containers[{k}]").items():
                total[r] = total.get(r, 0) + v
        sidecars: dict[str, int] = {}
        peak: dict[str, int] = {}
        for k, container in enumerate(_list(spec.get("initContainers"))):
            req = self.container_requests(container, f"{where}.initContainers[{k}]")
            if container.get("restartPolicy") == "Always":  # a sidecar keeps running
                for r, v in req.items():
                    sidecars[r] = sidecars.get(r, 0) + v
            else:
                for r in set(req) | set(sidecars):
                    peak[r] = max(peak.get(r, 0), req.get(r, 0) + sidecars.get(r, 0))
        effective = {}
        for r in set(total) | set(sidecars) | set(peak):
            effective[r] = max(total.get(r, 0) + sidecars.get(r, 0), peak.get(r, 0))
        for r, v in _map(spec.get("overhead")).items():
            effective[str(r)] = effective.get(str(r), 0) + self.quantity(
                v, str(r), f"{where}.overhead"
            )
        for r, v in effective.items():
            if v > MAX_AMOUNT:
                raise self.fail(f"{where}: the pod requests {v} of {r}, more than {MAX_AMOUNT}")
        return effective

    def host_ports(self, spec: Mapping, where: str) -> list[str]:
        """Host ports of every container (NodePorts), ``protocol/hostIP/port``."""
        out = []
        for group in ("initContainers", "containers"):
            for container in _list(spec.get(group)):
                for port in _list(container.get("ports")):
                    number = port.get("hostPort")
                    if not number and spec.get("hostNetwork"):
                        number = port.get("containerPort")  # API defaulting with hostNetwork
                    if not number:
                        continue
                    if isinstance(number, bool) or not isinstance(number, int):
                        raise self.fail(f"{where}.{group}: hostPort {number!r} is not an integer")
                    out.append(
                        f"{port.get('protocol') or 'TCP'}/{port.get('hostIP') or ''}/{number}"
                    )
        return out

    def priority(self, spec: Mapping, where: str) -> int:
        if spec.get("priority") is not None:
            value = spec["priority"]
            if isinstance(value, bool) or not isinstance(value, int) or abs(value) > 2**31:
                raise self.fail(f"{where}.priority {value!r} is not a 32-bit integer")
            return value
        name = spec.get("priorityClassName")
        if name:
            if name in self.classes:
                return int(self.classes[name].get("value", 0))
            if name in BUILTIN_CLASSES:
                return BUILTIN_CLASSES[name]
            known = sorted(set(self.classes) | set(BUILTIN_CLASSES))
            raise self.fail(
                f"{where}.priorityClassName {name!r} matches no PriorityClass; known: "
                f"{', '.join(known)} (add `kubectl get priorityclasses -o json`)"
            )
        defaults = [c for c in self.classes.values() if c.get("globalDefault")]
        return int(defaults[0].get("value", 0)) if defaults else 0

    def affinity_rules(self, spec: Mapping, namespace: str, where: str) -> tuple[list, list]:
        """Required anti-affinity and affinity terms (the preferred ones: :meth:`preferences`)."""
        affinity = _map(spec.get("affinity"))
        at = f"{where}.affinity"
        found = {}
        for kind in ("podAntiAffinity", "podAffinity"):
            here = f"{at}.{kind}.{REQUIRED}"
            found[kind] = pod_terms(self, _map(affinity.get(kind)).get(REQUIRED), namespace, here)
        anti = [t for t in found["podAntiAffinity"] if t["selector"] is not None]
        # A term that matches no pod is never satisfied: the pod can not be placed.
        never = [{"key": "", "operator": "In", "values": ["\0never"]}]
        near = [
            t if t["selector"] is not None else {**t, "selector": never}
            for t in found["podAffinity"]
        ]
        return anti, near

    def preferences(self, spec: Mapping, namespace: str, where: str) -> list[dict]:
        """Preferred node and pod (anti-)affinity terms with their weights (soft rules)."""
        return read_preferences(self, spec, namespace, where)

    def node_affinity(self, spec: Mapping) -> list:
        affinity = _map(_map(spec.get("affinity")).get("nodeAffinity"))
        required = _map(affinity.get("requiredDuringSchedulingIgnoredDuringExecution"))
        terms = []
        for term in required.get("nodeSelectorTerms") or []:
            exprs = [dict(e) for e in term.get("matchExpressions") or []]
            exprs += [{**e, "key": NODE_NAME_FIELD} for e in term.get("matchFields") or []]
            terms.append(exprs)
        return terms

    def protected(self, meta: Mapping, namespace: str, owner_kind: str | None) -> bool:
        flag = _map(meta.get("annotations")).get(PROTECTED_ANNOTATION)
        if flag is not None:
            return str(flag).lower() == "true"
        return namespace == "kube-system" or owner_kind in (None, "DaemonSet", "Node")

    def disruption_budgets(self, pods: list[dict]) -> tuple[list[str], list[int], list[int]]:
        """PodDisruptionBudgets: names, allowed disruptions, and each pod's budget.

        The allowance is ``status.disruptionsAllowed`` when the controller
        filled it, else computed like the disruption controller: healthy
        (running) matching pods minus the desired healthy count
        (``minAvailable``, or matching pods minus ``maxUnavailable``;
        percentages rounded up). A pod under several budgets can not be
        evicted (the Eviction API refuses it): it is protected.
        """
        names, allowed, of_pod = [], [], [-1] * len(pods)
        for budget, where in self.budgets:
            meta = _map(budget.get("metadata"))
            spec = _map(budget.get("spec"))
            namespace = str(meta.get("namespace") or "default")
            selector = spec.get("selector")
            if selector is None:
                continue  # policy/v1: a null selector selects no pod
            reqs = _selector_requirements(selector)
            members = [
                k
                for k, pod in enumerate(pods)
                if pod["namespace"] == namespace
                and all(requirement_matches(r, pod["labels"], "") for r in reqs)
            ]
            healthy = sum(1 for k in members if pods[k]["node"])
            status = _map(budget.get("status"))
            if isinstance(status.get("disruptionsAllowed"), int) and not isinstance(
                status.get("disruptionsAllowed"), bool
            ):
                allow = max(0, int(status["disruptionsAllowed"]))
            elif spec.get("minAvailable") is not None:
                allow = healthy - _scaled(spec["minAvailable"], len(members), self, where)
            elif spec.get("maxUnavailable") is not None:
                allow = healthy - (
                    len(members) - _scaled(spec["maxUnavailable"], len(members), self, where)
                )
            else:
                allow = healthy - len(members)  # neither given: nothing may go
            b = len(names)
            names.append(f"{namespace}/{meta.get('name')}")
            allowed.append(max(0, allow))
            for k in members:
                if of_pod[k] >= 0:
                    pods[k]["protected"] = True  # two budgets: the Eviction API refuses it
                of_pod[k] = b
        return names, allowed, of_pod

    def build(self) -> PodsInstance:
        if not self.nodes:
            raise self.fail("no Node objects found (add `kubectl get nodes -o json`)")
        active = []
        for k, (pod, where) in enumerate(self.pods):
            phase = _map(pod.get("status")).get("phase")
            if phase in ("Succeeded", "Failed"):
                continue
            meta = _map(pod.get("metadata"))
            active.append((str(meta.get("creationTimestamp") or ""), k, pod, where))
        active.sort(key=lambda item: (item[0], item[1]))
        pods = []
        for _, _, pod, where in active:
            meta = _map(pod.get("metadata"))
            spec = pod.get("spec")
            if not isinstance(spec, Mapping):
                raise self.fail(f"{where}.spec is missing: a Pod needs a spec with containers")
            if not meta.get("name"):
                raise self.fail(f"{where}.metadata.name is missing")
            namespace = str(meta.get("namespace") or "default")
            at = f"{where}.spec (pod {namespace}/{meta['name']})"
            try:
                pods.append(self.pod(meta, spec, namespace, at))
            except ParseError:
                raise
            except ValueError as exc:
                raise self.fail(f"{at}: {exc}") from None
            except (TypeError, AttributeError, KeyError):
                raise self.fail(f"{at}: a field holds a value of the wrong kind") from None
        self.finish(pods)
        return self.instance(pods)

    def pod(self, meta: Mapping, spec: Mapping, namespace: str, at: str) -> dict[str, Any]:
        """The facts of one Pod object."""
        owners = [o for o in _list(meta.get("ownerReferences")) if o.get("controller")]
        owner_kind = owners[0].get("kind") if owners else None
        managed = (
            not spec.get("schedulingGates")
            and (spec.get("schedulerName") or DEFAULT_SCHEDULER) == DEFAULT_SCHEDULER
        )
        return dict(
            name=f"{namespace}/{meta['name']}",
            namespace=namespace,
            requests=self.pod_requests(spec, at),
            priority=self.priority(spec, at),
            node=spec.get("nodeName"),
            # A terminating pod is going anyway: never a victim, never moved.
            protected=self.protected(meta, namespace, owner_kind)
            or bool(meta.get("deletionTimestamp")),
            labels=_string_map(meta.get("labels")),
            owner=f"{owner_kind}/{owners[0].get('name')}" if owners else "",
            selector=_string_map(spec.get("nodeSelector")),
            affinity=self.node_affinity(spec),
            tolerations=[dict(t) for t in _list(spec.get("tolerations"))],
            rules=self.affinity_rules(spec, namespace, at),
            spread=spread_constraints(self, spec, _string_map(meta.get("labels")), at),
            prefs=self.preferences(spec, namespace, at),
            ports=self.host_ports(spec, at),
            managed=managed,
            never=spec.get("preemptionPolicy") == "Never",
        )

    def finish(self, pods: list[dict]) -> None:
        """Resolve the budgets of the pods (their ``pdb`` index)."""
        self.budget_names, self.budget_allowed, of_pod = self.disruption_budgets(pods)
        for pod, b in zip(pods, of_pod, strict=True):
            pod["pdb"] = b

    def instance(self, pods: list[dict]) -> PodsInstance:
        """The instance of the pods' facts and the nodes."""
        extended = sorted({r for p in pods for r in p["requests"]} - {"cpu", "memory", "pods"})
        resources = ["cpu", "memory", *extended]
        fields = self.node_fields(resources)
        index = {n: k for k, n in enumerate(fields["node_names"])}
        current = []
        for pod in pods:
            if pod["node"] and pod["node"] not in index:
                raise self.fail(
                    f"pod {pod['name']}: spec.nodeName {pod['node']!r} is not among the nodes "
                    f"({', '.join(fields['node_names'])})"
                )
            current.append(index[pod["node"]] if pod["node"] else -1)
        try:
            return PodsInstance(
                resources=tuple(resources),
                pod_names=tuple(p["name"] for p in pods),
                requests=np.array(
                    [[p["requests"].get(r, 0) for r in resources] for p in pods], dtype=np.int64
                ).reshape(len(pods), len(resources)),
                priority=[p["priority"] for p in pods],
                current_node=current,
                protected=[p["protected"] for p in pods],
                pod_labels=tuple(p["labels"] for p in pods),
                owner=tuple(p["owner"] for p in pods),
                node_selector=tuple(p["selector"] for p in pods),
                node_affinity=tuple(p["affinity"] for p in pods),
                tolerations=tuple(p["tolerations"] for p in pods),
                anti_affinity_terms=tuple(p["rules"][0] for p in pods),
                affinity_terms=tuple(p["rules"][1] for p in pods),
                spread=tuple(p["spread"] for p in pods),
                preferences=tuple(p["prefs"] for p in pods),
                host_ports=tuple(p["ports"] for p in pods),
                managed=[p["managed"] for p in pods],
                preempt_never=[p["never"] for p in pods],
                pdb=[p["pdb"] for p in pods],
                pdb_names=tuple(self.budget_names),
                pdb_allowed=self.budget_allowed,
                name=self.path.stem,
                metadata={"source": str(self.path), "format": "kubectl", "ignored": self.ignored},
                **fields,
            )
        except InvalidInstance as exc:
            raise self.fail(str(exc)) from None


def _list(value: Any) -> list:
    """A list of objects; ``None`` is empty."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise ValueError(f"expected a list of objects, got {json.dumps(value)[:60]}")
    return value


def _map(value: Any) -> Mapping:
    """An object; ``None`` is empty."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"expected an object, got {json.dumps(value, default=str)[:60]}")
    return value


def _string_map(value: Any) -> dict[str, str]:
    """Labels or a selector: an object of text values; ``None`` is empty."""
    return {str(a): str(b) for a, b in _map(value).items()}


def _selector_requirements(selector: Any) -> list[dict]:
    """A LabelSelector (``matchLabels`` and ``matchExpressions``) as requirements."""
    if not isinstance(selector, Mapping):
        return [{"key": "", "operator": "In", "values": ["\0never"]}]
    reqs = [
        {"key": str(k), "operator": "In", "values": [str(v)]}
        for k, v in _map(selector.get("matchLabels")).items()
    ]
    for expr in _list(selector.get("matchExpressions")):
        if expr.get("operator") not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise ValueError(f"label selector operator {expr.get('operator')!r} is unknown")
        reqs.append(
            {
                "key": str(expr.get("key")),
                "operator": expr.get("operator"),
                "values": [str(v) for v in expr.get("values") or []],
            }
        )
    return reqs


def _scaled(value: Any, total: int, reader: _Reader, where: str) -> int:
    """An IntOrString of a budget: an integer, or a percentage of ``total`` rounded up."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value)
    if text.endswith("%") and text[:-1].isdigit():
        return math.ceil(int(text[:-1]) * total / 100)
    raise reader.fail(f"{where}.spec: {value!r} is neither an integer nor a percentage")


def _load(path: Path) -> list[Any]:
    """The documents of a JSON or (multi-document) YAML file."""
    text = read_text(path)
    if path.suffix.lower() == ".json" or text.lstrip().startswith(("{", "[")):
        data = loads_json(text, path, constants=True)  # amounts are checked one by one
        return data if isinstance(data, list) else [data]
    import yaml

    try:
        return list(yaml.safe_load_all(text))
    except RecursionError:
        raise ParseError(path, None, "invalid YAML (nested too deeply)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ParseError(path, line, f"invalid YAML ({getattr(exc, 'problem', exc)})") from None


def read_kubectl(*paths: str | Path, ignore: Sequence[str] = ()) -> PodsInstance:
    """One instance from one or more ``kubectl ... -o json|yaml`` files.

    A scheduling rule schedforge does not model (:data:`RULES`) is an error
    naming it, unless ``ignore`` lists it: then the plan is made without it
    and ``metadata["ignored"]`` says where it was dropped.

    Examples
    --------
    >>> inst = read_kubectl("nodes.json", "pods.json", "priorityclasses.json")  # doctest: +SKIP
    """
    if not paths:
        raise ValueError("give at least one file")
    reader = _Reader(Path(paths[0]), ignore)
    try:
        for path in map(Path, paths):
            reader.path = path
            for k, document in enumerate(_load(path)):
                reader.add(document, f"document {k + 1}")
        reader.path = Path(paths[0])
        return reader.build()
    except (ParseError, InvalidInstance, InvalidOption):
        raise
    except ValueError as exc:
        raise reader.fail(str(exc)) from None
    except (TypeError, AttributeError, KeyError):
        # A field of a Node, PodDisruptionBudget or PriorityClass holding, say,
        # a list where an object belongs (pods are checked one by one).
        raise reader.fail("a field holds a value of the wrong kind") from None


def _quantity_text(resource: str, amount: int) -> str:
    if resource == "cpu":
        return f"{amount}m"
    return str(amount)


def to_kubectl(instance: PodsInstance) -> dict[str, Any]:
    """A ``List`` of Node and Pod objects (``kubectl get nodes,pods -o json`` shape).

    Requests become one container's requests; priorities are written as
    ``spec.priority``; the protected flag as the ``schedforge.io/protected``
    annotation.
    """
    items: list[dict[str, Any]] = []
    for n, name in enumerate(instance.node_names):
        allocatable = {
            r: _quantity_text(r, int(instance.allocatable[n, k]))
            for k, r in enumerate(instance.resources)
        }
        allocatable["pods"] = str(int(instance.max_pods[n]))
        spec: dict[str, Any] = {}
        if instance.node_taints[n]:
            spec["taints"] = [
                {k: v for k, v in dict(t).items() if v} for t in instance.node_taints[n]
            ]
        if instance.unschedulable[n]:
            spec["unschedulable"] = True
        items.append(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": name, "labels": dict(instance.node_labels[n])},
                "spec": spec,
                "status": {"allocatable": allocatable, "capacity": dict(allocatable)},
            }
        )
    for p, full in enumerate(instance.pod_names):
        namespace, _, name = full.rpartition("/")
        meta: dict[str, Any] = {
            "name": name,
            "namespace": namespace or "default",
            # Creation order is the scheduler's tie-break: one second apart.
            "creationTimestamp": (EPOCH + timedelta(seconds=p)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "labels": dict(instance.pod_labels[p]),
            "annotations": {PROTECTED_ANNOTATION: str(bool(instance.protected[p])).lower()},
        }
        if instance.owner[p]:
            kind, _, owner = instance.owner[p].partition("/")
            meta["ownerReferences"] = [{"kind": kind, "name": owner, "controller": True}]
        requests = {
            r: _quantity_text(r, int(instance.requests[p, k]))
            for k, r in enumerate(instance.resources)
            if instance.requests[p, k] > 0
        }
        spec = {
            "containers": [{"name": "main", "resources": {"requests": requests}}],
            "priority": int(instance.priority[p]),
        }
        if instance.current_node[p] >= 0:
            spec["nodeName"] = instance.node_names[instance.current_node[p]]
        if instance.node_selector[p]:
            spec["nodeSelector"] = dict(instance.node_selector[p])
        if instance.tolerations[p]:
            spec["tolerations"] = [_toleration_object(t) for t in instance.tolerations[p]]
        affinity: dict[str, Any] = {}
        if instance.node_affinity[p]:
            terms = []
            for term in instance.node_affinity[p]:
                exprs = [
                    {"key": r["key"], "operator": r["operator"], "values": list(r["values"])}
                    for r in term
                    if r["key"] != NODE_NAME_FIELD
                ]
                fields = [
                    {"key": r["key"], "operator": r["operator"], "values": list(r["values"])}
                    for r in term
                    if r["key"] == NODE_NAME_FIELD
                ]
                terms.append(
                    {"matchExpressions": exprs, **({"matchFields": fields} if fields else {})}
                )
            affinity["nodeAffinity"] = {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}
            }
        anti = anti_objects(instance, p)
        if anti:
            affinity["podAntiAffinity"] = {REQUIRED: anti}
        near, spread = rule_objects(instance, p)
        if near:
            affinity["podAffinity"] = {REQUIRED: near}
        if spread:
            spec["topologySpreadConstraints"] = spread
        write_preferences(instance.preferences[p], affinity)
        if affinity:
            spec["affinity"] = affinity
        if instance.host_ports[p]:
            ports = []
            for port in instance.host_ports[p]:
                protocol, ip, number = port.split("/")
                item = {"containerPort": int(number), "hostPort": int(number), "protocol": protocol}
                ports.append({**item, "hostIP": ip} if ip else item)
            spec["containers"][0]["ports"] = ports
        if not instance.managed[p]:
            spec["schedulingGates"] = [{"name": "schedforge.io/not-ours"}]
        if instance.preempt_never[p]:
            spec["preemptionPolicy"] = "Never"
        phase = "Running" if instance.current_node[p] >= 0 else "Pending"
        items.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": meta,
                "spec": spec,
                "status": {"phase": phase},
            }
        )
    for b, full in enumerate(instance.pdb_names):
        namespace, _, name = full.rpartition("/")
        members = [
            instance.pod_names[p].rpartition("/")[2] for p in np.flatnonzero(instance.pdb == b)
        ]
        # Select the members by name: the budget holds exactly these pods.
        selector = {
            "matchExpressions": [
                {"key": PDB_MEMBER_LABEL, "operator": "In", "values": [name]},
            ]
        }
        for item in items:
            meta = item["metadata"]
            if item["kind"] == "Pod" and meta["name"] in members and meta["namespace"] == namespace:
                meta["labels"][PDB_MEMBER_LABEL] = name
        items.append(
            {
                "apiVersion": "policy/v1",
                "kind": "PodDisruptionBudget",
                "metadata": {"name": name, "namespace": namespace or "default"},
                "spec": {"selector": selector},
                "status": {"disruptionsAllowed": int(instance.pdb_allowed[b])},
            }
        )
    return {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}


def _toleration_object(toleration: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {k: v for k, v in dict(toleration).items() if v and k != "seconds"}
    if toleration.get("seconds"):
        out["tolerationSeconds"] = int(toleration["seconds"])
    return out


def _read_all(path: Path) -> Iterator[PodsInstance]:
    yield read_kubectl(path)


def _write(instances: Sequence[PodsInstance], path: Path) -> None:
    (inst,) = instances
    data = to_kubectl(inst)
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    else:
        path.write_text(json.dumps(data, indent=4) + "\n", encoding="utf-8")


def _sniff(head: str) -> bool:
    return bool(
        re.search(r'"?kind"?\s*:\s*"?(List|Node|Pod|NodeList|PodList|PriorityClass)\b', head)
        and re.search(r'"?apiVersion"?\s*:', head)
    )


register_format(Format("kubectl", "pods", (".json", ".yaml", ".yml"), _read_all, _write, _sniff))
