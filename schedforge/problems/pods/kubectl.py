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
  and required pod anti-affinity with ``topologyKey:
  kubernetes.io/hostname`` (``matchLabels``, and ``In`` expressions with one
  value) are kept; other affinity terms are listed in
  ``metadata["ignored"]``.
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

from schedforge.core.errors import InvalidInstance, ParseError
from schedforge.core.registry import Format, register_format
from schedforge.problems.pods.model import PodsInstance
from schedforge.problems.pods.rules import NODE_NAME_FIELD

__all__ = ["parse_quantity", "read_kubectl", "to_kubectl"]

HOSTNAME = "kubernetes.io/hostname"
EPOCH = datetime(2025, 1, 1)
PROTECTED_ANNOTATION = "schedforge.io/protected"
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


class _Reader:
    """Turns a bag of Kubernetes objects into a :class:`PodsInstance`."""

    def __init__(self, path: Path):
        self.path = path
        self.nodes: list[dict] = []
        self.pods: list[dict] = []
        self.classes: dict[str, dict] = {}
        self.ignored: list[str] = []

    def fail(self, message: str) -> ParseError:
        return ParseError(self.path, None, message)

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
        if kind == "Node":
            self.nodes.append(document)
        elif kind == "Pod":
            self.pods.append(document)
        elif kind == "PriorityClass":
            name = (document.get("metadata") or {}).get("name")
            self.classes[str(name)] = document
        else:
            self.ignored.append(f"{where}: object of kind {kind!r} skipped")

    # -- nodes ---------------------------------------------------------------

    def node_fields(self, resources: list[str]) -> dict[str, Any]:
        names, alloc, max_pods, labels, taints, cordoned = [], [], [], [], [], []
        for k, node in enumerate(self.nodes):
            meta = node.get("metadata") or {}
            name = meta.get("name")
            if not name:
                raise self.fail(f"node {k}: metadata.name is missing")
            status = node.get("status") or {}
            allocatable = status.get("allocatable")
            if not isinstance(allocatable, Mapping):
                raise self.fail(f"node {name!r}: status.allocatable is missing")
            row = []
            for resource in resources:
                row.append(self.quantity(allocatable.get(resource, 0), resource, f"node {name!r}"))
            alloc.append(row)
            max_pods.append(self.quantity(allocatable.get("pods", 110), "pods", f"node {name!r}"))
            names.append(str(name))
            labels.append({str(a): str(b) for a, b in (meta.get("labels") or {}).items()})
            spec = node.get("spec") or {}
            taints.append(
                [
                    {
                        "key": t.get("key", ""),
                        "value": t.get("value", ""),
                        "effect": t.get("effect"),
                    }
                    for t in spec.get("taints") or []
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
            raise self.fail(f"{where}: {resource}: {exc}") from None
        if amount < 0:
            raise self.fail(f"{where}: {resource} = {value!r} is negative")
        return amount

    # -- pods ----------------------------------------------------------------

    def container_requests(self, container: Mapping, where: str) -> dict[str, int]:
        resources = container.get("resources") or {}
        requests = dict(resources.get("limits") or {})  # API defaulting: requests = limits
        requests.update(resources.get("requests") or {})
        name = container.get("name", "?")
        return {
            str(r): self.quantity(v, str(r), f"{where} container {name!r}")
            for r, v in requests.items()
        }

    def pod_requests(self, spec: Mapping, where: str) -> dict[str, int]:
        total: dict[str, int] = {}
        for container in spec.get("containers") or []:
            for r, v in self.container_requests(container, where).items():
                total[r] = total.get(r, 0) + v
        sidecars: dict[str, int] = {}
        peak: dict[str, int] = {}
        for container in spec.get("initContainers") or []:
            req = self.container_requests(container, where)
            if container.get("restartPolicy") == "Always":  # a sidecar keeps running
                for r, v in req.items():
                    sidecars[r] = sidecars.get(r, 0) + v
            else:
                for r in set(req) | set(sidecars):
                    peak[r] = max(peak.get(r, 0), req.get(r, 0) + sidecars.get(r, 0))
        effective = {}
        for r in set(total) | set(sidecars) | set(peak):
            effective[r] = max(total.get(r, 0) + sidecars.get(r, 0), peak.get(r, 0))
        for r, v in (spec.get("overhead") or {}).items():
            effective[str(r)] = effective.get(str(r), 0) + self.quantity(
                v, str(r), f"{where} overhead"
            )
        return effective

    def priority(self, spec: Mapping, where: str) -> int:
        if spec.get("priority") is not None:
            value = spec["priority"]
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.fail(f"{where}: spec.priority {value!r} is not an integer")
            return value
        name = spec.get("priorityClassName")
        if name:
            if name in self.classes:
                return int(self.classes[name].get("value", 0))
            if name in BUILTIN_CLASSES:
                return BUILTIN_CLASSES[name]
            known = sorted(set(self.classes) | set(BUILTIN_CLASSES))
            raise self.fail(
                f"{where}: priorityClassName {name!r} matches no PriorityClass; known: "
                f"{', '.join(known)} (add `kubectl get priorityclasses -o json`)"
            )
        defaults = [c for c in self.classes.values() if c.get("globalDefault")]
        return int(defaults[0].get("value", 0)) if defaults else 0

    def anti_affinity(self, spec: Mapping, where: str) -> dict[str, str] | None:
        terms = ((spec.get("affinity") or {}).get("podAntiAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution"
        ) or []
        selector: dict[str, str] | None = None
        for term in terms:
            if term.get("topologyKey") != HOSTNAME:
                self.ignored.append(
                    f"{where}: anti-affinity on {term.get('topologyKey')!r} not modelled"
                )
                continue
            labels = dict((term.get("labelSelector") or {}).get("matchLabels") or {})
            for expr in (term.get("labelSelector") or {}).get("matchExpressions") or []:
                if expr.get("operator") == "In" and len(expr.get("values") or []) == 1:
                    labels[expr["key"]] = expr["values"][0]
                else:
                    self.ignored.append(f"{where}: anti-affinity expression {expr} not modelled")
            selector = {**(selector or {}), **{str(k): str(v) for k, v in labels.items()}}
        return selector

    def node_affinity(self, spec: Mapping) -> list:
        required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution"
        ) or {}
        terms = []
        for term in required.get("nodeSelectorTerms") or []:
            exprs = [dict(e) for e in term.get("matchExpressions") or []]
            exprs += [{**e, "key": NODE_NAME_FIELD} for e in term.get("matchFields") or []]
            terms.append(exprs)
        return terms

    def protected(self, meta: Mapping, namespace: str, owner_kind: str | None) -> bool:
        flag = (meta.get("annotations") or {}).get(PROTECTED_ANNOTATION)
        if flag is not None:
            return str(flag).lower() == "true"
        return namespace == "kube-system" or owner_kind in (None, "DaemonSet", "Node")

    def build(self) -> PodsInstance:
        if not self.nodes:
            raise self.fail("no Node objects found (add `kubectl get nodes -o json`)")
        active = []
        for k, pod in enumerate(self.pods):
            phase = (pod.get("status") or {}).get("phase")
            if phase in ("Succeeded", "Failed"):
                continue
            meta = pod.get("metadata") or {}
            active.append((str(meta.get("creationTimestamp") or ""), k, pod))
        active.sort(key=lambda item: (item[0], item[1]))
        pods = []
        for _, k, pod in active:
            meta = pod.get("metadata") or {}
            spec = pod.get("spec") or {}
            if not meta.get("name"):
                raise self.fail(f"pod {k}: metadata.name is missing")
            namespace = str(meta.get("namespace") or "default")
            where = f"pod {namespace}/{meta['name']}"
            owners = [o for o in meta.get("ownerReferences") or [] if o.get("controller")]
            owner_kind = owners[0].get("kind") if owners else None
            pods.append(
                dict(
                    name=f"{namespace}/{meta['name']}",
                    requests=self.pod_requests(spec, where),
                    priority=self.priority(spec, where),
                    node=spec.get("nodeName"),
                    protected=self.protected(meta, namespace, owner_kind),
                    labels={str(a): str(b) for a, b in (meta.get("labels") or {}).items()},
                    owner=f"{owner_kind}/{owners[0].get('name')}" if owners else "",
                    selector={str(a): str(b) for a, b in (spec.get("nodeSelector") or {}).items()},
                    affinity=self.node_affinity(spec),
                    tolerations=[dict(t) for t in spec.get("tolerations") or []],
                    anti=self.anti_affinity(spec, where),
                )
            )
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
                anti_affinity=tuple(p["anti"] for p in pods),
                name=self.path.stem,
                metadata={"source": str(self.path), "format": "kubectl", "ignored": self.ignored},
                **fields,
            )
        except InvalidInstance as exc:
            raise self.fail(str(exc)) from None


def _load(path: Path) -> list[Any]:
    """The documents of a JSON or (multi-document) YAML file."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ParseError(path, None, "not a text file") from None
    if path.suffix.lower() == ".json" or text.lstrip().startswith(("{", "[")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ParseError(path, exc.lineno, f"invalid JSON ({exc.msg})") from None
        return data if isinstance(data, list) else [data]
    import yaml

    try:
        return list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ParseError(path, line, f"invalid YAML ({getattr(exc, 'problem', exc)})") from None


def read_kubectl(*paths: str | Path) -> PodsInstance:
    """One instance from one or more ``kubectl ... -o json|yaml`` files.

    Examples
    --------
    >>> inst = read_kubectl("nodes.json", "pods.json", "priorityclasses.json")  # doctest: +SKIP
    """
    if not paths:
        raise ValueError("give at least one file")
    reader = _Reader(Path(paths[0]))
    for path in map(Path, paths):
        reader.path = path
        for k, document in enumerate(_load(path)):
            reader.add(document, f"document {k + 1}")
    reader.path = Path(paths[0])
    return reader.build()


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
            spec["tolerations"] = [
                {k: v for k, v in dict(t).items() if v} for t in instance.tolerations[p]
            ]
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
        if instance.anti_affinity[p] is not None:
            affinity["podAntiAffinity"] = {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "labelSelector": {"matchLabels": dict(instance.anti_affinity[p])},
                        "topologyKey": HOSTNAME,
                    }
                ]
            }
        if affinity:
            spec["affinity"] = affinity
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
    return {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}


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
