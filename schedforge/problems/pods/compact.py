"""The compact JSON of the "Priority Matters" solver (``pods-compact``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from schedforge.core.errors import InvalidInstance, ParseError
from schedforge.core.registry import Format, register_format
from schedforge.problems.pods.json_format import load_json
from schedforge.problems.pods.model import PodsInstance, PodsSolution

_COMPACT_NODE = ("name", "cap_cpu_m", "cap_mem_bytes")
_COMPACT_POD = ("name", "req_cpu_m", "req_mem_bytes", "priority")


def _compact_int(value: Any, path: Path, where: str, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ParseError(path, None, f"{where}: {key} = {value!r} is not an integer")
    if value < 0 and key != "priority":
        raise ParseError(path, None, f"{where}: {key} = {value} is negative")
    return int(value)


def from_compact(data: Mapping[str, Any], *, path: str | Path = "<compact>", name: str = "pods"):
    """An instance from the compact JSON of the "Priority Matters" solver.

    Raises
    ------
    ParseError
        On a missing key, a non-integer or negative amount, a duplicate name
        or a pod placed on a node that is not listed.
    """
    path = Path(path)
    if not isinstance(data, Mapping) or not isinstance(data.get("nodes"), list):
        raise ParseError(path, None, "expected an object with lists 'nodes' and 'pods'")
    pods_in = data.get("pods") or []
    if not isinstance(pods_in, list):
        raise ParseError(path, None, "'pods' must be a list")
    node_names, alloc = [], []
    for k, item in enumerate(data["nodes"]):
        where = f"nodes[{k}]"
        missing = [key for key in _COMPACT_NODE if not isinstance(item, dict) or key not in item]
        if missing:
            raise ParseError(path, None, f"{where}: missing {', '.join(missing)}")
        node_names.append(str(item["name"]))
        alloc.append([_compact_int(item[key], path, where, key) for key in _COMPACT_NODE[1:]])
    index = {n: k for k, n in enumerate(node_names)}
    names, req, prio, current, protected = [], [], [], [], []
    for k, item in enumerate(pods_in):
        where = f"pods[{k}]"
        missing = [key for key in _COMPACT_POD if not isinstance(item, dict) or key not in item]
        if missing:
            raise ParseError(path, None, f"{where}: missing {', '.join(missing)}")
        names.append(f"{item.get('namespace') or 'default'}/{item['name']}")
        req.append([_compact_int(item[key], path, where, key) for key in _COMPACT_POD[1:3]])
        prio.append(_compact_int(item["priority"], path, where, "priority"))
        node = item.get("node")
        if node in (None, ""):
            current.append(-1)
        elif node not in index:
            raise ParseError(
                path, None, f"{where}: pod {names[-1]!r} runs on node {node!r}, which is not listed"
            )
        else:
            current.append(index[node])
        protected.append(bool(item.get("protected", False)))
    uids = [str(item.get("uid", "")) for item in pods_in]
    try:
        return PodsInstance(
            resources=("cpu", "memory"),
            node_names=tuple(node_names),
            allocatable=np.array(alloc, dtype=np.int64).reshape(-1, 2),
            pod_names=tuple(names),
            requests=np.array(req, dtype=np.int64).reshape(-1, 2),
            priority=prio,
            current_node=current,
            protected=protected,
            name=name,
            metadata={"source": str(path), "format": "pods-compact", "uids": uids},
        )
    except InvalidInstance as exc:
        raise ParseError(path, None, str(exc)) from None


def to_compact(instance: PodsInstance, solution: PodsSolution | None = None) -> dict[str, Any]:
    """The compact JSON of "Priority Matters" (cpu and memory only).

    With a ``solution``, pods carry their planned node instead of the
    current one.
    """
    for needed in ("cpu", "memory"):
        if needed not in instance.resources:
            raise InvalidInstance(f"the compact format needs a {needed!r} resource")
    cpu, mem = instance.resources.index("cpu"), instance.resources.index("memory")
    node = instance.current_node if solution is None else np.asarray(solution.node)
    uids = list(instance.metadata.get("uids") or [])
    pods = []
    for p, full in enumerate(instance.pod_names):
        namespace, _, short = full.rpartition("/")
        pods.append(
            {
                "uid": uids[p] if p < len(uids) else full,
                "namespace": namespace or "default",
                "name": short,
                "req_cpu_m": int(instance.requests[p, cpu]),
                "req_mem_bytes": int(instance.requests[p, mem]),
                "priority": int(instance.priority[p]),
                "protected": bool(instance.protected[p]),
                "node": instance.node_names[node[p]] if node[p] >= 0 else None,
            }
        )
    return {
        "nodes": [
            {
                "name": n,
                "cap_cpu_m": int(instance.allocatable[k, cpu]),
                "cap_mem_bytes": int(instance.allocatable[k, mem]),
            }
            for k, n in enumerate(instance.node_names)
        ],
        "pods": pods,
    }


def _read_compact(path: Path):
    yield from_compact(load_json(path), path=path, name=path.stem)


def _write_compact(instances: Sequence[PodsInstance], path: Path) -> None:
    (inst,) = instances
    path.write_text(json.dumps(to_compact(inst), indent=1) + "\n", encoding="utf-8")


def _sniff_compact(head: str) -> bool:
    return '"cap_cpu_m"' in head or '"req_cpu_m"' in head


register_format(
    Format("pods-compact", "pods", (".json",), _read_compact, _write_compact, _sniff_compact)
)
