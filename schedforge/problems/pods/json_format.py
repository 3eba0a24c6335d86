"""The project's own JSON format for pod packing (``pods-json``)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from schedforge.core.errors import InvalidInstance, ParseError
from schedforge.core.registry import Format, register_format
from schedforge.core.text import read_json
from schedforge.problems.pods.model import PodsInstance

# --------------------------------------------------------------------------
# JSON formats: the project's own, and the compact one of "Priority Matters"


def load_json(path: Path) -> Any:
    """The JSON in ``path`` as UTF-8 text (else :class:`ParseError`).

    ``NaN`` and ``Infinity`` pass here: the pods readers check every amount
    and name its JSON path.
    """
    return read_json(path, constants=True)


def _read_json(path: Path):
    data = load_json(path)
    records = data if isinstance(data, list) else [data]
    for record in records:
        if not isinstance(record, dict) or record.get("problem") != "pods":
            raise ParseError(path, None, "expected an object with 'problem': 'pods'")
        try:
            yield PodsInstance.from_dict(record)
        except (InvalidInstance, TypeError) as exc:
            raise ParseError(path, None, str(exc)) from None


def _write_json(instances: Sequence[PodsInstance], path: Path) -> None:
    data: Any = instances[0].to_dict() if len(instances) == 1 else [i.to_dict() for i in instances]
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def _sniff_json(head: str) -> bool:
    return re.search(r'"problem"\s*:\s*"pods"', head) is not None


register_format(Format("pods-json", "pods", (".json",), _read_json, _write_json, _sniff_json))
