"""The compact JSON of the "Priority Matters" solver (``pods-compact``)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from schedforge.core.errors import InvalidInstance, ParseError
from schedforge.core.registry import Format, register_format
from schedforge.problems.pods.json_format import load_json
from schedforge.problems.pods.model import MAX_AMOUNT, PodsInstance, PodsSolution

_COMPACT_NODE = ("name", "cap_cpu_m", "cap_mem_bytes")
_COMPACT_POD = ("uid", "name", "req_cpu_m", "req_mem_bytes", "priority")
# Optional amounts the export writes when the instance has them.
_COMPACT_EXTRA = {"gpu": "nvidia.com/gpu", "ephemeral_storage_bytes": "ephemeral-storage"}


def _compact_int(value: Any, path: Path, where: str, key: str) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value != int(value)
    ):
        raise ParseError(path, None, f"{where}.{key} = {value!r} is not an integer")
    if value < 0 and key != "priority":
        raise ParseError(path, None, f"{where}.{key} = {value} is negative")
    limit = 2**31 if key == "priority" else MAX_AMOUNT
    if abs(value) > limit:
        raise ParseError(path, None, f"{where}.{key} = {value} is larger than {limit}")
    return int(value)


def from_compact(data: Mapping[str, Any], *, path: str | Path = "<compact>", name: str = "pods"):
    """An instance from the compact JSON of the "Priority Matters" solver.

    Besides ``cap_cpu_m``/``cap_mem_bytes`` and ``req_cpu_m``/``req_mem_bytes``,
    the optional ``cap_gpu``/``req_gpu`` (``nvidia.com/gpu``) and
    ``cap_ephemeral_storage_bytes``/``req_ephemeral_storage_bytes`` are read.

    Raises
    ------
    ParseError
        With the JSON path: on a missing key (a pod needs its ``uid``), a
        non-integer, infinite, negative or too large amount, a duplicate name
        or uid, or a pod placed on a node that is not listed.
    """
    path = Path(path)
    if not isinstance(data, Mapping) or not isinstance(data.get("nodes"), list):
        raise ParseError(path, None, "expected an object with lists 'nodes' and 'pods'")
    pods_in = data.get("pods")
    if not isinstance(pods_in, list):
        # A missing list is not an empty cluster: the file was cut or mistyped.
        raise ParseError(path, None, "'pods' must be a list (give [] for no pods)")
    items = [("nodes", k, item) for k, item in enumerate(data["nodes"])]
    items += [("pods", k, item) for k, item in enumerate(pods_in)]
    extra = [
        key
        for key in _COMPACT_EXTRA
        if any(
            isinstance(i, Mapping) and (f"cap_{key}" in i or f"req_{key}" in i) for _, _, i in items
        )
    ]
    resources = ("cpu", "memory", *(_COMPACT_EXTRA[key] for key in extra))
    node_names, alloc = [], []
    for k, item in enumerate(data["nodes"]):
        where = f"nodes[{k}]"
        missing = [key for key in _COMPACT_NODE if not isinstance(item, dict) or key not in item]
        if missing:
            raise ParseError(path, None, f"{where}: missing {', '.join(missing)}")
        node_names.append(str(item["name"]))
        row = [_compact_int(item[key], path, where, key) for key in _COMPACT_NODE[1:]]
        row += [_compact_int(item.get(f"cap_{key}", 0), path, where, f"cap_{key}") for key in extra]
        alloc.append(row)
    index = {n: k for k, n in enumerate(node_names)}
    names, req, prio, current, protected, uids = [], [], [], [], [], []
    seen: dict[str, int] = {}
    for k, item in enumerate(pods_in):
        where = f"pods[{k}]"
        missing = [key for key in _COMPACT_POD if not isinstance(item, dict) or key not in item]
        if missing:
            raise ParseError(path, None, f"{where}: missing {', '.join(missing)}")
        uid = item["uid"]
        if not isinstance(uid, str) or not uid:
            raise ParseError(path, None, f"{where}.uid = {uid!r} must be a non-empty string")
        if uid in seen:
            raise ParseError(path, None, f"{where}.uid {uid!r} repeats pods[{seen[uid]}].uid")
        seen[uid] = k
        uids.append(uid)
        names.append(f"{item.get('namespace') or 'default'}/{item['name']}")
        row = [_compact_int(item[key], path, where, key) for key in ("req_cpu_m", "req_mem_bytes")]
        row += [_compact_int(item.get(f"req_{key}", 0), path, where, f"req_{key}") for key in extra]
        req.append(row)
        prio.append(_compact_int(item["priority"], path, where, "priority"))
        node = item.get("node")
        if node in (None, ""):
            current.append(-1)
        elif not isinstance(node, str) or node not in index:
            raise ParseError(
                path,
                None,
                f"{where}.node: pod {names[-1]!r} runs on node {node!r}, which is not listed",
            )
        else:
            current.append(index[node])
        flag = item.get("protected", False)
        if not isinstance(flag, bool):
            raise ParseError(path, None, f"{where}.protected = {flag!r} is not true or false")
        protected.append(flag)
    try:
        return PodsInstance(
            resources=resources,
            node_names=tuple(node_names),
            allocatable=np.array(alloc, dtype=np.int64).reshape(-1, len(resources)),
            pod_names=tuple(names),
            requests=np.array(req, dtype=np.int64).reshape(-1, len(resources)),
            priority=prio,
            current_node=current,
            protected=protected,
            name=name,
            metadata={"source": str(path), "format": "pods-compact", "uids": uids},
        )
    except InvalidInstance as exc:
        raise ParseError(path, None, str(exc)) from None


def to_compact(instance: PodsInstance, solution: PodsSolution | None = None) -> dict[str, Any]:
    """The compact JSON of "Priority Matters", with GPUs and ephemeral storage when present.

    With a ``solution``, pods carry their planned node instead of the
    current one. Other resources, and the scheduling rules (labels, taints,
    affinity, ports, budgets), have no place in the format: an instance
    with another resource is refused rather than exported without it.
    """
    for needed in ("cpu", "memory"):
        if needed not in instance.resources:
            raise InvalidInstance(f"the compact format needs a {needed!r} resource")
    by_resource = {r: k for k, r in _COMPACT_EXTRA.items()}
    other = [r for r in instance.resources if r not in ("cpu", "memory", *by_resource)]
    if other:
        raise InvalidInstance(
            f"the compact format has no field for {', '.join(other)}; use pods-json or kubectl"
        )
    cpu, mem = instance.resources.index("cpu"), instance.resources.index("memory")
    extra = [(by_resource[r], k) for k, r in enumerate(instance.resources) if r in by_resource]
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
                **{f"req_{key}": int(instance.requests[p, r]) for key, r in extra},
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
                **{f"cap_{key}": int(instance.allocatable[k, r]) for key, r in extra},
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
