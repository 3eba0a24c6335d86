"""Normalisation of the per-node and per-pod fields of :class:`.model.PodsInstance`.

Each function turns the value a caller gives (lists, dicts, JSON) into the
frozen form the instance stores, or raises :class:`InvalidInstance` naming
the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from schedforge.core.errors import InvalidInstance
from schedforge.core.instance import frozen_mapping, int_array
from schedforge.problems.pods.rules import HOSTNAME, SELECTOR_OPERATORS, TAINT_EFFECTS

# Normalisation helpers for the label/taint/affinity fields


def _labels(value: Any, where: str) -> Mapping[str, str]:
    if value is None:
        return frozen_mapping({})
    if not isinstance(value, Mapping):
        raise InvalidInstance(f"{where}: expected a mapping of label key to value")
    for key, val in value.items():
        if not isinstance(key, str) or not isinstance(val, str):
            raise InvalidInstance(f"{where}: label {key!r}={val!r} must map a string to a string")
    return frozen_mapping(value)


def _no_labels() -> Mapping[str, str]:
    return frozen_mapping({})


def _requirement(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping) or "key" not in value or "operator" not in value:
        raise InvalidInstance(f"{where}: a requirement needs 'key' and 'operator'")
    op = value["operator"]
    if op not in SELECTOR_OPERATORS:
        raise InvalidInstance(
            f"{where}: unknown operator {op!r}; expected one of {', '.join(SELECTOR_OPERATORS)}"
        )
    values = tuple(str(v) for v in value.get("values") or ())
    if op in ("In", "NotIn") and not values:
        raise InvalidInstance(f"{where}: operator {op} needs at least one value")
    if op in ("Gt", "Lt") and (len(values) != 1 or not re.fullmatch(r"-?\d+", values[0])):
        raise InvalidInstance(f"{where}: operator {op} needs exactly one integer value")
    return frozen_mapping({"key": str(value["key"]), "operator": op, "values": values})


def _taint(value: Any, where: str) -> Mapping[str, str]:
    if not isinstance(value, Mapping) or "key" not in value or "effect" not in value:
        raise InvalidInstance(f"{where}: a taint needs 'key' and 'effect'")
    if value["effect"] not in TAINT_EFFECTS:
        raise InvalidInstance(
            f"{where}: unknown taint effect {value['effect']!r}; "
            f"expected one of {', '.join(TAINT_EFFECTS)}"
        )
    return frozen_mapping(
        {
            "key": str(value["key"]),
            "value": str(value.get("value") or ""),
            "effect": value["effect"],
        }
    )


def _toleration(value: Any, where: str) -> Mapping[str, str]:
    if not isinstance(value, Mapping):
        raise InvalidInstance(f"{where}: a toleration must be a mapping")
    op = value.get("operator") or "Equal"
    if op not in ("Equal", "Exists"):
        raise InvalidInstance(f"{where}: toleration operator {op!r} must be Equal or Exists")
    key = str(value.get("key") or "")
    if not key and op != "Exists":
        raise InvalidInstance(f"{where}: a toleration without a key needs operator Exists")
    effect = str(value.get("effect") or "")
    if effect and effect not in TAINT_EFFECTS:
        raise InvalidInstance(f"{where}: unknown toleration effect {effect!r}")
    seconds = value.get("tolerationSeconds", value.get("seconds"))
    if seconds not in (None, "") and (
        isinstance(seconds, bool) or not re.fullmatch(r"-?\d+", str(seconds))
    ):
        raise InvalidInstance(f"{where}: tolerationSeconds {seconds!r} is not an integer")
    return frozen_mapping(
        {
            "key": key,
            "operator": op,
            "value": str(value.get("value") or ""),
            "effect": effect,
            "seconds": "" if seconds in (None, "") else str(int(seconds)),
        }
    )


def _per_item(values: Any, count: int, field_name: str, convert, default) -> tuple:
    if values is None:
        return tuple(default() for _ in range(count))
    values = tuple(values)
    if len(values) != count:
        raise InvalidInstance(f"{field_name}: {len(values)} entries, expected {count}")
    return tuple(convert(v, f"{field_name}[{k}]") for k, v in enumerate(values))


def _list_of(convert):
    def inner(value: Any, where: str) -> tuple:
        if value is None:
            return ()
        if isinstance(value, Mapping | str):
            raise InvalidInstance(f"{where}: expected a list")
        return tuple(convert(v, f"{where}[{k}]") for k, v in enumerate(value))

    return inner


def _affinity(value: Any, where: str) -> tuple:
    """Required node affinity: a list of terms, each a list of requirements."""
    return _list_of(_list_of(_requirement))(value, where)


def _selector(value: Any, where: str) -> Mapping[str, str] | None:
    return None if value is None else _labels(value, where)


def _anti_term(value: Any, where: str) -> Mapping[str, Any]:
    """A required anti-affinity term: requirements, namespaces, topology key."""
    if not isinstance(value, Mapping) or "selector" not in value:
        raise InvalidInstance(f"{where}: an anti-affinity term needs 'selector' and 'namespaces'")
    namespaces = value.get("namespaces") or ()
    if isinstance(namespaces, str):
        raise InvalidInstance(f"{where}: namespaces must be a list")
    topology = value.get("topology") or HOSTNAME
    if not isinstance(topology, str):
        raise InvalidInstance(f"{where}: topology must be a label key")
    term = {
        "selector": _list_of(_requirement)(value["selector"], f"{where}.selector"),
        "namespaces": tuple(str(n) for n in namespaces),
    }
    if topology != HOSTNAME:  # hostname terms keep their old two-field form
        term["topology"] = topology
    return frozen_mapping(term)


def _port(value: Any, where: str) -> str:
    """A host port ``protocol/hostIP/port`` (hostIP empty for every address)."""
    parts = str(value).split("/")
    if len(parts) != 3 or not parts[2].isdigit() or not 0 < int(parts[2]) < 65536:
        raise InvalidInstance(f"{where}: host port {value!r} is not protocol/hostIP/port")
    return str(value)


def _int_list(values: Any, count: int, field_name: str, default: int) -> np.ndarray:
    arr = (
        np.full(count, default, dtype=np.int64) if values is None else int_array(values, field_name)
    )
    if len(arr) != count:
        raise InvalidInstance(f"{field_name}: {len(arr)} entries, expected {count}")
    arr.setflags(write=False)
    return arr


def _flags(values: Any, count: int, field_name: str) -> np.ndarray:
    arr = np.zeros(count, dtype=np.int64) if values is None else int_array(values, field_name)
    if len(arr) != count or np.any((arr != 0) & (arr != 1)):
        raise InvalidInstance(f"{field_name}: expected {count} flags of 0/1 (false/true)")
    out = arr.astype(bool)
    out.setflags(write=False)
    return out
