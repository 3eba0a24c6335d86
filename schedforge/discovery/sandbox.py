"""Verify and evaluate candidate heuristics safely.

A candidate is source code that defines the template's function. It goes
through three gates:

1. **Static check** (:func:`check_code`): it must parse, stay under a size
   limit, define exactly the template's function with the template's
   arguments, and use only allow-listed syntax: arithmetic, comparisons,
   ``if``/``else``, ``for`` loops over ``range``/``enumerate``/``zip`` or
   arrays (no ``while``), the allow-listed functions of ``numpy`` (as ``np``)
   and ``math``, a few array methods and safe built-ins. No imports (the
   lines ``import numpy as np`` and ``import math`` are tolerated and
   dropped, since both modules are provided), no dunder names, no other
   attribute access, no ``open``/``exec``/``eval``/``getattr``, no lambdas,
   nested functions, recursion, ``global``, ``try`` or ``with``. No store
   except into a local array: no assignment to attributes, no writes into
   the arguments, ``np``, ``math`` or built-ins, no ``out=``.
2. **Isolated run** (:class:`SandboxPool`): a worker process started with
   ``python -I`` in its own session (process group), with an empty
   environment (only thread-count variables), an empty working directory,
   its own network namespace (no network interface at all), as ``nobody``
   when started as root, and resource limits: address space, CPU seconds
   per candidate, no file writes, no new processes. The parent enforces a
   wall-clock limit and kills the worker's process group with ``SIGKILL``
   when it is exceeded; a worker that dies is replaced. The candidate runs
   on a copy of the instance data, with read-only ``np`` and ``math`` that
   hold only the allow-listed names and a restricted ``__builtins__``
   (:mod:`schedforge.discovery.guard`); after it, the worker checks that
   nothing it shares with candidates changed, else it is replaced. The
   candidate is compiled with numba (with bounds checks) when that pays off
   (see ``engine``), falling back to Python with the reason recorded.
   Replies are capped in the worker and read in linear time by the parent.
3. **Independent check** in the parent: the worker returns raw solutions
   (plain JSON, never pickle, since the worker runs untrusted code); the
   parent decodes them, checks them with the problem's validator and
   evaluates them with the problem's objective.

Every failure becomes a :class:`Evaluation` with a ``verdict`` and a
message that the evolution loop records and shows the model in its next
prompt.
"""

from __future__ import annotations

import ast
import contextlib
import ctypes
import hashlib
import json
import math
import os
import pickle
import pwd
import queue
import resource
import select
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from schedforge.core.procpool import kill_group, spawn
from schedforge.discovery.guard import (
    ALLOWED_MATH,
    ALLOWED_NUMPY,
    ARRAY_ATTRS,
    SAFE_BUILTINS,
    SharedState,
    candidate_globals,
)
from schedforge.discovery.templates import CandidateError, EvalSet, Template, get_template

#: Largest accepted candidate, in characters.
MAX_CODE_CHARS = 20_000
# Deeply nested source makes CPython 3.11's parser raise RecursionError and
# can leave it in a state where later parses fail with "AST constructor
# recursion depth mismatch"; a cheap scan keeps such code away from ast.parse.
MAX_NESTING = 60
#: Largest accepted syntax tree, in nodes.
MAX_NODES = 3_000

_TOLERATED_IMPORTS = {("numpy", "np"), ("math", None), ("numpy", None), ("math", "math")}

_ALLOWED_NODES = (
    ast.Module,
    ast.FunctionDef,
    ast.arguments,
    ast.arg,
    ast.Return,
    ast.Assign,
    ast.AugAssign,
    ast.If,
    ast.For,
    ast.Break,
    ast.Continue,
    ast.Pass,
    ast.Expr,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.IfExp,
    ast.Call,
    ast.keyword,
    ast.Name,
    ast.Attribute,
    ast.Constant,
    ast.Subscript,
    ast.Slice,
    ast.Tuple,
    ast.List,
    ast.ListComp,
    ast.GeneratorExp,
    ast.comprehension,
    ast.Load,
    ast.Store,
    ast.operator,
    ast.unaryop,
    ast.boolop,
    ast.cmpop,
)


class CandidateRejected(Exception):
    """The candidate failed the static check; the message says why, for the model."""


# --------------------------------------------------------------------------
# Static check


def _bracket_depth(code: str) -> int:
    """Deepest nesting of (), [] and {} in ``code`` (strings are not special-cased)."""
    depth = deepest = 0
    for char in code:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
    return deepest


def _strip_tolerated_imports(tree: ast.Module) -> None:
    body = []
    for node in tree.body:
        if isinstance(node, ast.Import) and all(
            (alias.name, alias.asname) in _TOLERATED_IMPORTS for alias in node.names
        ):
            continue
        body.append(node)
    tree.body = body


def _dotted(node: ast.AST) -> str | None:
    """``"np.random.rand"`` for a chain of attributes on a name, else ``None``."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def _store_base(node: ast.AST) -> ast.AST:
    """The object a store like ``a[i][j] = ...`` writes into (``a``)."""
    while isinstance(node, ast.Subscript):
        node = node.value
    return node


def _check_node(
    node: ast.AST,
    template: Template,
    locals_: set[str],
    arrays: set[str],
    attribute_bases: set[int],
) -> None:
    """Check one node; ``arrays`` are the local variables a store may write into."""
    line = getattr(node, "lineno", None)
    where = f" (line {line})" if line else ""
    if isinstance(node, ast.Import | ast.ImportFrom):
        raise CandidateRejected(f"imports are not allowed{where}; np and math are provided")
    if isinstance(node, ast.While):
        raise CandidateRejected(f"while loops are not allowed{where}; use for ... in range(...)")
    if isinstance(node, ast.Lambda | ast.FunctionDef):
        raise CandidateRejected(f"nested functions and lambdas are not allowed{where}")
    if not isinstance(node, _ALLOWED_NODES):
        raise CandidateRejected(f"{type(node).__name__} is not allowed{where}")
    if isinstance(node, ast.Name):
        if node.id.startswith("__"):
            raise CandidateRejected(f"dunder name {node.id!r} is not allowed{where}")
        if isinstance(node.ctx, ast.Store) and node.id in ("np", "math", *SAFE_BUILTINS):
            raise CandidateRejected(f"cannot assign to {node.id!r}{where}")
        if node.id in ("np", "math") and id(node) not in attribute_bases:
            raise CandidateRejected(
                f"{node.id} can only be used as {node.id}.NAME{where} (a function or constant)"
            )
        if isinstance(node.ctx, ast.Load) and node.id not in locals_:
            allowed = {"np", "math", *SAFE_BUILTINS, "True", "False", "None"}
            if node.id not in allowed:
                raise CandidateRejected(
                    f"unknown name {node.id!r}{where}; only the arguments, local variables, "
                    "np, math and " + ", ".join(sorted(SAFE_BUILTINS)) + " are available"
                )
    if isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load):
        raise CandidateRejected(
            f"assigning to an attribute is not allowed{where}; only local arrays can be "
            "written (x[i] = ...)"
        )
    if isinstance(node, ast.Subscript) and not isinstance(node.ctx, ast.Load):
        base = _store_base(node)
        if not (isinstance(base, ast.Name) and base.id in arrays):
            what = f"{base.id!r}" if isinstance(base, ast.Name) else "this expression"
            hint = (
                " (an argument: make a local copy first, x = a.copy())"
                if isinstance(base, ast.Name) and base.id in template.argument_names
                else ""
            )
            raise CandidateRejected(
                f"writing into {what} is not allowed{where}{hint}; only local arrays can be written"
            )
    if isinstance(node, ast.keyword) and node.arg in (None, "out"):
        raise CandidateRejected(
            f"{'**keywords' if node.arg is None else 'out='} is not allowed{where}"
        )
    if isinstance(node, ast.Attribute):
        attr = node.attr
        if attr.startswith("_"):
            raise CandidateRejected(f"attribute {attr!r} is not allowed{where}")
        base = node.value
        dotted = _dotted(node)
        if dotted and dotted.split(".")[0] in ("np", "math") and dotted.count(".") > 1:
            raise CandidateRejected(f"{dotted} is not allowed{where}")
        if isinstance(base, ast.Name) and base.id == "np":
            if attr not in ALLOWED_NUMPY:
                raise CandidateRejected(f"np.{attr} is not allowed{where}")
        elif isinstance(base, ast.Name) and base.id == "math":
            if attr not in ALLOWED_MATH:
                raise CandidateRejected(f"math.{attr} is not allowed{where}")
        elif attr not in ARRAY_ATTRS:
            raise CandidateRejected(
                f"attribute .{attr} is not allowed{where}; array attributes allowed: "
                + ", ".join(sorted(ARRAY_ATTRS))
            )
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id == template.function_name:
            raise CandidateRejected(f"recursion is not allowed{where}")
        if node.func.id not in SAFE_BUILTINS and node.func.id not in locals_:
            raise CandidateRejected(f"calling {node.func.id!r} is not allowed{where}")
        if node.func.id in locals_:
            raise CandidateRejected(f"calling a variable is not allowed{where}")
    if isinstance(node, ast.Constant) and isinstance(node.value, bytes | complex):
        raise CandidateRejected(f"{type(node.value).__name__} constants are not allowed{where}")


def check_code(code: str, template: Template) -> ast.Module:
    """Parse ``code`` and check it against the allow-list.

    Returns
    -------
    ast.Module
        The tree, with tolerated imports removed.

    Raises
    ------
    CandidateRejected
        With a message that says what is not allowed and where.
    """
    if not isinstance(code, str) or not code.strip():
        raise CandidateRejected("no code")
    if len(code) > MAX_CODE_CHARS:
        raise CandidateRejected(
            f"the code is {len(code)} characters; the limit is {MAX_CODE_CHARS}"
        )
    nesting = _bracket_depth(code)
    if nesting > MAX_NESTING:
        raise CandidateRejected(
            f"brackets nest {nesting} deep; the limit is {MAX_NESTING} (simplify the expression)"
        )
    try:
        tree = ast.parse(code, mode="exec")
    except SyntaxError as exc:
        raise CandidateRejected(f"syntax error: {exc.msg} (line {exc.lineno})") from None
    except (RecursionError, MemoryError, ValueError, SystemError) as exc:
        raise CandidateRejected(f"cannot parse: {type(exc).__name__}") from None
    _strip_tolerated_imports(tree)
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    others = [n for n in tree.body if not isinstance(n, ast.FunctionDef)]
    for node in others:
        if isinstance(node, ast.Import | ast.ImportFrom):
            raise CandidateRejected(
                f"imports are not allowed (line {node.lineno}); np and math are provided"
            )
        if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            raise CandidateRejected(
                f"only one function definition is allowed at top level (line {node.lineno})"
            )
    if len(functions) != 1 or functions[0].name != template.function_name:
        names = ", ".join(f.name for f in functions) or "none"
        raise CandidateRejected(
            f"define exactly one function {template.signature} (found: {names})"
        )
    func = functions[0]
    args = func.args
    names = tuple(a.arg for a in args.args)
    if (
        names != template.argument_names
        or args.vararg
        or args.kwarg
        or args.kwonlyargs
        or args.posonlyargs
        or args.defaults
        or func.decorator_list
    ):
        raise CandidateRejected(f"the signature must be exactly {template.signature}")
    nodes = list(ast.walk(func))
    if len(nodes) > MAX_NODES:
        raise CandidateRejected(f"the function has {len(nodes)} syntax nodes; limit {MAX_NODES}")
    locals_ = set(names)
    for node in nodes:
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            locals_.add(node.id)
    # A store may write into a local variable only (an argument counts once
    # it is re-assigned in the body, as in ``p = p.copy()``).
    arrays = {n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)} - {
        "np",
        "math",
    }
    attribute_bases = {id(n.value) for n in nodes if isinstance(n, ast.Attribute)}
    for node in nodes:
        if node is func:
            continue
        _check_node(node, template, locals_, arrays, attribute_bases)
        if isinstance(node, ast.For | ast.comprehension):
            _check_iterable(node.iter)
    return tree


def _check_iterable(node: ast.AST) -> None:
    """A loop iterates over ``range``/``enumerate``/``zip`` or a variable (an array)."""
    if isinstance(node, ast.Name):
        return
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("range", "enumerate", "zip")
    ):
        return
    raise CandidateRejected(
        f"loops must iterate over range(...), enumerate, zip or an array (line {node.lineno})"
    )


class _Renamer(ast.NodeTransformer):
    """Rename local variables to v0, v1, ... in order of first appearance."""

    def __init__(self, keep: set[str]):
        self.keep = keep
        self.names: dict[str, str] = {}

    def visit_Name(self, node: ast.Name) -> ast.Name:
        if node.id not in self.keep:
            if node.id not in self.names and isinstance(node.ctx, ast.Store):
                self.names[node.id] = f"v{len(self.names)}"
            node.id = self.names.get(node.id, node.id)
        return node


def normalised_hash(code: str, template: Template | None = None) -> str:
    """SHA-256 of the code with docstrings, comments, layout and local names normalised.

    Two candidates that differ only in those hash the same, so the loop
    evaluates them once. Code that does not parse hashes its raw text.
    """
    try:
        tree = ast.parse(code)
        _strip_tolerated_imports(tree)
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if (
                isinstance(body, list)
                and body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
        keep = {"np", "math", *SAFE_BUILTINS}
        if template is not None:
            keep |= set(template.argument_names) | {template.function_name}
        else:
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef):
                    keep |= {a.arg for a in node.args.args} | {node.name}
        text = ast.unparse(_Renamer(keep).visit(tree))
    except (SyntaxError, RecursionError, MemoryError, ValueError, SystemError):
        text = code
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_function(code: str, template: Template) -> Callable[..., Any]:
    """Check ``code`` and return its function, bound to restricted globals.

    The globals (:func:`~schedforge.discovery.guard.candidate_globals`) hold
    fresh read-only ``np`` and ``math`` modules with the allow-listed names
    only and a copy of :data:`SAFE_BUILTINS`, so even a name the static check
    missed cannot reach ``open``, ``__import__`` or the real modules.
    """
    tree = check_code(code, template)
    namespace = candidate_globals()
    try:
        code_object = compile(tree, "<candidate>", "exec")
    except (RecursionError, MemoryError, SystemError) as exc:  # see MAX_NESTING
        raise CandidateRejected(f"cannot compile: {type(exc).__name__}") from None
    exec(code_object, namespace)  # checked by the allow-list above
    return namespace[template.function_name]


def compile_numba(func: Callable[..., Any], template: Template) -> tuple[Any, str | None]:
    """``(compiled, None)`` or ``(None, reason)`` when numba cannot compile ``func``.

    Compiled with bounds checks: an index out of range raises ``IndexError``
    as in Python instead of reading or writing outside the array.
    """
    try:
        from numba import njit

        return njit(template.numba_signature(), boundscheck=True)(func), None
    except Exception as exc:  # numba raises many typing/lowering error kinds
        first = str(exc).strip().splitlines()
        return None, f"{type(exc).__name__}: {first[0] if first else ''}"[:300]


def _candidate_error(exc: BaseException) -> str:
    """One line naming the error and the candidate's line, for the next prompt."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == "<candidate>":
            line = frame.lineno
    where = f" (line {line})" if line else ""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}{where}: {text}"[:300]


def run_candidate(
    code: str,
    template: Template,
    encoded: Sequence[dict[str, np.ndarray]],
    *,
    engine: str = "auto",
    numba_threshold: int = 5000,
) -> dict[str, Any]:
    """Run ``code`` through the skeleton on every encoded instance (in this process).

    Parameters
    ----------
    code
        Candidate source.
    template
        Its template.
    encoded
        ``template.encode(instance)`` for each instance.
    engine
        ``"python"``, ``"numba"`` (compile; fall back to Python with the
        reason recorded) or ``"auto"``: compile only when the set has at
        least ``numba_threshold`` dispatch steps, where compiling (about
        0.1 s per candidate) costs less than it saves. The choice depends on
        the set only, never on timings, so runs stay reproducible.

    Returns
    -------
    dict
        ``verdict`` (``"ok"``, ``"rejected"``, ``"error"``, ``"invalid_output"``),
        ``message``, ``raw`` (one list per instance), ``engine``,
        ``numba_error``, ``compile_seconds``, ``run_seconds``.
    """
    out: dict[str, Any] = {"verdict": "ok", "message": "", "raw": [], "engine": "python"}
    out["numba_error"] = None
    out["compile_seconds"] = 0.0
    try:
        func = load_function(code, template)
    except CandidateRejected as exc:
        return {**out, "verdict": "rejected", "message": str(exc)}
    steps = sum(template.size_of(a) for a in encoded)
    compiled = None
    if engine == "numba" or (engine == "auto" and steps >= numba_threshold):
        start = time.perf_counter()
        compiled, out["numba_error"] = compile_numba(func, template)
        out["compile_seconds"] = time.perf_counter() - start
        if compiled is not None:
            out["engine"] = "numba"
    start = time.perf_counter()
    raw: list[list[int]] = []
    try:
        for shared in encoded:
            # A private copy: a candidate that writes into its arguments
            # cannot change the data the next candidate sees.
            arrays = {key: np.array(value, copy=True) for key, value in shared.items()}
            if compiled is not None:
                result = template.run_numba(compiled, arrays)
            else:
                result = template.run_python(func, arrays)
            raw.append(np.asarray(result).tolist())
    except CandidateError as exc:
        return {**out, "verdict": "invalid_output", "message": str(exc)}
    except MemoryError:
        return {**out, "verdict": "error", "message": "MemoryError: the memory limit was reached"}
    except Exception as exc:  # any error of untrusted code becomes a rejection
        return {**out, "verdict": "error", "message": _candidate_error(exc)}
    out["raw"] = raw
    out["run_seconds"] = time.perf_counter() - start
    return out


# --------------------------------------------------------------------------
# Worker process (runs untrusted code; speaks length-prefixed pickle in,
# JSON lines out).


def _read_message(stream) -> Any:
    header = stream.read(4)
    if len(header) < 4:
        return None
    (size,) = struct.unpack("!I", header)
    return pickle.loads(stream.read(size))  # from the trusted parent only


#: Largest reply a worker sends (longer ones become an ``error``), in bytes.
MAX_REPLY_BYTES = 16 << 20
_CLONE_NEWUSER, _CLONE_NEWNET = 0x10000000, 0x40000000


def _isolate() -> tuple[bool, str]:
    """Enter a network namespace without interfaces and leave root; ``(isolated, user)``.

    A worker started as root first enters a new network namespace (root may
    without a user namespace), then becomes ``nobody``: resource limits such
    as ``RLIMIT_NPROC`` bind nothing for root. Any other user enters new
    user and network namespaces when the kernel allows it. (No parent-death
    signal: it fires when the parent *thread* that started the worker ends,
    and pool threads come and go; a worker ends when its stdin closes.)
    """
    isolated = False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if os.geteuid() == 0:
            isolated = libc.unshare(_CLONE_NEWNET) == 0
            try:
                nobody = pwd.getpwnam("nobody")
                uid, gid = nobody.pw_uid, nobody.pw_gid
            except KeyError:
                uid = gid = 65534
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
        else:
            isolated = libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET) == 0
    except (OSError, AttributeError):
        pass
    if os.getuid() == 0:
        raise SystemExit("the sandbox worker could not leave root")
    try:
        user = pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        user = str(os.getuid())
    return isolated, user


def _vm_size_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _digest(sets: dict[str, list[dict[str, np.ndarray]]]) -> bytes:
    """A digest of the worker's instance data (compared after every candidate)."""
    h = hashlib.blake2b(digest_size=16)
    for name in sorted(sets):
        for arrays in sets[name]:
            for key in sorted(arrays):
                h.update(key.encode())
                h.update(np.ascontiguousarray(arrays[key]).tobytes())
    return h.digest()


def _reply_text(reply: dict[str, Any]) -> str:
    """One JSON line; messages shortened and the whole capped at :data:`MAX_REPLY_BYTES`."""
    for key, limit in (("message", 500), ("numba_error", 300)):
        if isinstance(reply.get(key), str):
            reply[key] = reply[key][:limit]
    try:
        text = json.dumps(reply)
    except (TypeError, ValueError) as exc:
        text = json.dumps({"verdict": "error", "message": f"unserialisable result: {exc}"[:500]})
    if len(text) > MAX_REPLY_BYTES:
        size = len(text) / 1e6
        message = f"the result is {size:.0f} MB; the limit is {MAX_REPLY_BYTES / 1e6:.0f} MB"
        text = json.dumps({"verdict": "error", "message": message})
    return text


def serve_job(
    job: dict[str, Any],
    template: Template,
    sets: dict[str, list[dict[str, np.ndarray]]],
    state: SharedState,
) -> tuple[str, bool]:
    """Run one candidate in this (worker) process: ``(reply line, worker must exit)``.

    After the candidate, the shared state (``state``, the instance data) is
    compared with its snapshot; when anything changed the verdict is
    ``tampered`` and the worker must exit so that the next candidate runs in
    a fresh process.
    """
    try:
        reply = run_candidate(
            job["code"],
            template,
            sets[job["set"]],
            engine=job["engine"],
            numba_threshold=job["numba_threshold"],
        )
    except MemoryError:
        reply = {"verdict": "error", "message": "MemoryError: the memory limit was reached"}
    changed = state.changes({"instance data": _digest(sets)})
    if changed:
        state.restore()  # so that the code below runs on intact built-ins
        shown = ", ".join(changed[:5]) + (", ..." if len(changed) > 5 else "")
        reply = {
            "verdict": "tampered",
            "message": f"the candidate changed shared state ({shown}); its worker was replaced",
        }
    return _reply_text(reply), bool(changed)


def _worker_main() -> None:
    stdin = sys.stdin.buffer
    stdout = sys.stdout
    init = _read_message(stdin)
    if init is None:
        return
    template = get_template(init["template"])
    sets: dict[str, list[dict[str, np.ndarray]]] = init["sets"]
    limits = init["limits"]
    # Run a seed once before the limits apply: it imports what the skeleton
    # needs (numba kernels of the heuristics modules) while that is allowed.
    first = next(iter(sets.values()))[:1]
    run_candidate(next(iter(template.seeds.values())), template, first, engine="python")
    steps = max(sum(template.size_of(a) for a in enc) for enc in sets.values())
    if init["engine"] == "numba" or (init["engine"] == "auto" and steps >= init["threshold"]):
        with contextlib.suppress(Exception):
            # Compile the skeleton before the limits apply (it needs memory once).
            seed = load_function(next(iter(template.seeds.values())), template)
            probe, _ = compile_numba(seed, template)
            template.run_numba(probe, next(iter(sets.values()))[0])
    memory = int(limits["memory_mb"]) * 1024 * 1024
    size = _vm_size_bytes()
    # From here on the worker may not read files outside the checkout (as
    # nobody, an interpreter installed under /root is out of reach): every
    # module it needs is imported above.
    isolated, user = _isolate()
    applied = []
    for name, value in (
        ("RLIMIT_AS", size + memory),
        ("RLIMIT_FSIZE", 0),
        ("RLIMIT_CORE", 0),
        ("RLIMIT_NPROC", 0),
    ):
        # Linux has them all; elsewhere a missing one is reported, not fatal
        # (the parent's wall-clock kill and the static check still apply).
        limit = getattr(resource, name, None)
        if limit is None or (name == "RLIMIT_AS" and value == memory):
            continue
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(limit, (value, value))
            applied.append(name)
    # Everything shared with candidate code, as it is before the first one.
    state = SharedState({"instance data": _digest(sets)})
    ready = {"ready": True, "network_isolated": isolated, "limits": applied, "user": user}
    stdout.write(json.dumps(ready) + "\n")
    stdout.flush()
    while True:
        job = _read_message(stdin)
        if job is None:
            return
        used = resource.getrusage(resource.RUSAGE_SELF)
        cpu = used.ru_utime + used.ru_stime
        soft = math.ceil(cpu + float(limits["cpu_seconds"]))
        resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.RLIM_INFINITY))
        text, leave = serve_job(job, template, sets, state)
        stdout.write(text + "\n")
        stdout.flush()
        if leave:
            return


# --------------------------------------------------------------------------
# Parent side


@dataclass(frozen=True)
class Limits:
    """Per-candidate resource limits.

    Parameters
    ----------
    cpu_seconds
        CPU time per evaluation (compile + run), enforced by ``RLIMIT_CPU``.
    wall_seconds
        Wall-clock time per evaluation, enforced by the parent with ``SIGKILL``.
    memory_mb
        Address space the candidate may add to the worker, ``RLIMIT_AS``.
    """

    cpu_seconds: float = 10.0
    wall_seconds: float = 20.0
    memory_mb: int = 512


@dataclass
class Evaluation:
    """The verdict on one candidate over one set.

    ``verdict`` is ``"ok"`` (valid solutions on every instance) or the reason
    for rejection: ``rejected`` (static check), ``error`` (exception),
    ``invalid_output`` (NaN, wrong shape), ``invalid_solution`` (failed the
    problem's validator), ``timeout`` (wall clock), ``cpu_limit``,
    ``crashed`` (the worker died), ``tampered`` (shared state of the worker
    changed; it was replaced).
    """

    verdict: str
    message: str = ""
    objectives: list[float] = field(default_factory=list)
    gaps: list[float] = field(default_factory=list)
    engine: str = "python"
    numba_error: str | None = None
    seconds: float = 0.0
    network_isolated: bool | None = None
    limits: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the candidate passed."""
        return self.verdict == "ok"

    @property
    def mean_gap(self) -> float:
        """Mean gap in percent (``inf`` when rejected)."""
        return float(np.mean(self.gaps)) if self.ok and self.gaps else math.inf


class LineReader:
    """Lines from a file descriptor, with a deadline per line and a length limit.

    Linear in the line's length: each chunk is searched once for the end of
    line. A line longer than ``limit`` is not read further: :meth:`read_line`
    returns ``None`` and :attr:`oversized` is set (the worker caps its
    replies, so only a broken worker sends one).
    """

    def __init__(self, fd: int, limit: int = MAX_REPLY_BYTES + 4096):
        self.fd = fd
        self.limit = limit
        self.oversized = False
        self._buffer = bytearray()  # bytes read past the last complete line

    def read_line(self, timeout: float) -> bytes | None:
        """The next line without its end of line; ``None`` on timeout, end of file or overflow."""
        deadline = time.monotonic() + timeout
        buffer = self._buffer
        searched = 0
        while True:
            end = buffer.find(b"\n", searched)
            if end >= 0:
                line = bytes(buffer[:end])
                del buffer[: end + 1]
                return line
            searched = len(buffer)
            if searched > self.limit:
                self.oversized = True
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:
                return None
            buffer += chunk


class _Worker:
    """One sandbox worker process, driven by one thread at a time."""

    def __init__(self, init_blob: bytes, limits: Limits):
        self.limits = limits
        self.workdir = tempfile.TemporaryDirectory(prefix="schedforge-sandbox-")
        env = {
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "NUMBA_NUM_THREADS": "1",
        }
        self.proc = spawn(  # own process group, killed as a whole
            [sys.executable, "-I", "-m", "schedforge.discovery.sandbox"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=self.workdir.name,
        )
        self.reader: LineReader | None = None
        self._send(init_blob)
        ready = self._read_line(120.0)
        if ready is None:
            self.kill()
            raise RuntimeError("the sandbox worker failed to start")
        info = json.loads(ready)
        self.network_isolated = bool(info.get("network_isolated"))
        self.limits_applied = list(info.get("limits", []))
        self.user = str(info.get("user", ""))

    def _send(self, blob: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(struct.pack("!I", len(blob)) + blob)
        self.proc.stdin.flush()

    def _read_line(self, timeout: float) -> bytes | None:
        assert self.proc.stdout is not None
        if self.reader is None:
            self.reader = LineReader(self.proc.stdout.fileno())
        return self.reader.read_line(timeout)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the worker's whole process group and reap it."""
        kill_group(self.proc)
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(Exception):
                stream.close()
        self.workdir.cleanup()

    def evaluate(self, job: dict[str, Any]) -> dict[str, Any]:
        try:
            self._send(pickle.dumps(job))
        except (BrokenPipeError, OSError):
            self.kill()
            return {"verdict": "crashed", "message": "the sandbox worker died before the run"}
        line = self._read_line(self.limits.wall_seconds)
        if line is not None:
            try:
                reply = json.loads(line)
            except ValueError:
                reply = {"verdict": "crashed", "message": "the sandbox worker sent garbage"}
            if not isinstance(reply, dict):
                reply = {"verdict": "crashed", "message": "the sandbox worker sent garbage"}
            reply["network_isolated"] = self.network_isolated
            reply["limits"] = self.limits_applied
            if reply.get("verdict") == "tampered":
                self.kill()  # it is leaving anyway; never hand it another candidate
            return reply
        timed_out = self.alive()
        self.kill()
        code = self.proc.returncode
        if self.reader is not None and self.reader.oversized:
            return {
                "verdict": "error",
                "message": f"the reply is longer than {MAX_REPLY_BYTES / 1e6:.0f} MB",
            }
        if timed_out:
            return {
                "verdict": "timeout",
                "message": f"killed after the wall-clock limit of {self.limits.wall_seconds:g} s",
            }
        if code == -signal.SIGXCPU or code == -signal.SIGKILL:
            return {
                "verdict": "cpu_limit",
                "message": f"killed after the CPU limit of {self.limits.cpu_seconds:g} s",
            }
        return {"verdict": "crashed", "message": f"the sandbox worker died (exit code {code})"}


class SandboxPool:
    """A pool of sandbox workers that evaluates candidates of one template.

    Parameters
    ----------
    template
        The problem's template.
    sets
        Named evaluation sets (``train``, ``validation``, ``holdout``).
    limits
        Per-candidate limits.
    jobs
        Number of worker processes (parallel evaluations).
    engine
        ``"auto"``, ``"numba"`` or ``"python"`` (see :func:`run_candidate`).
    numba_threshold
        Dispatch steps from which ``auto`` compiles.
    encoded
        The sets already encoded (``{name: [template.encode(instance), ...]}``),
        instead of ``sets``: such a pool runs candidates (:meth:`run_checked`)
        but cannot judge them (a Dask worker's pool, whose client judges).

    Notes
    -----
    Thread-safe: :meth:`evaluate` may be called from ``jobs`` threads at once.
    Use as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        template: Template,
        sets: dict[str, EvalSet],
        *,
        limits: Limits | None = None,
        jobs: int = 1,
        engine: str = "auto",
        numba_threshold: int = 5000,
        encoded: dict[str, list[dict[str, np.ndarray]]] | None = None,
    ):
        if engine not in ("auto", "numba", "python"):
            raise ValueError(f"engine must be auto, numba or python, got {engine!r}")
        self.template = template
        self.sets = sets
        self.limits = limits or Limits()
        self.jobs = max(1, int(jobs))
        self.engine = engine
        self.numba_threshold = numba_threshold
        self._encoded = encoded
        self._init_blob: bytes | None = None  # made when the first worker starts
        self._idle: queue.Queue[_Worker | None] = queue.Queue()
        for _ in range(self.jobs):
            self._idle.put(None)  # started lazily by the thread that needs it
        self._lock = threading.Lock()
        self._workers: list[_Worker] = []
        self.restarts = 0

    def encoded_sets(self) -> dict[str, list[dict[str, np.ndarray]]]:
        """Every set's instances as the workers get them (:meth:`Template.encode`)."""
        return {
            name: [self.template.encode(inst) for inst in s.instances]
            for name, s in self.sets.items()
        }

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every worker."""
        with self._lock:
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.kill()

    def _start(self) -> _Worker:
        with self._lock:
            if self._init_blob is None:
                self._init_blob = pickle.dumps(
                    {
                        "template": self.template.key,
                        "engine": self.engine,
                        "threshold": self.numba_threshold,
                        "limits": {
                            "cpu_seconds": self.limits.cpu_seconds,
                            "memory_mb": self.limits.memory_mb,
                        },
                        "sets": self._encoded or self.encoded_sets(),
                    }
                )
        worker = _Worker(self._init_blob, self.limits)
        with self._lock:
            self._workers.append(worker)
        return worker

    def evaluate(self, code: str, set_name: str = "train") -> Evaluation:
        """Evaluate ``code`` on the set ``set_name``; never raises for bad candidates."""
        start = time.perf_counter()
        try:
            check_code(code, self.template)
        except CandidateRejected as exc:
            return Evaluation("rejected", str(exc), seconds=time.perf_counter() - start)
        evaluation = self.judge(self.run_checked(code, set_name), set_name)
        evaluation.seconds = time.perf_counter() - start
        return evaluation

    def run_checked(self, code: str, set_name: str) -> dict[str, Any]:
        """Run code that passed :func:`check_code` in a worker; the worker's raw reply.

        The reply is untrusted: :meth:`judge` turns it into an :class:`Evaluation`.
        """
        worker = self._idle.get()
        try:
            if worker is None or not worker.alive():
                worker = self._start()
            reply = worker.evaluate(
                {
                    "code": code,
                    "set": set_name,
                    "engine": self.engine,
                    "numba_threshold": self.numba_threshold,
                }
            )
            if not worker.alive():
                with self._lock:
                    if worker in self._workers:
                        self._workers.remove(worker)
                    self.restarts += 1
                worker = None
        finally:
            self._idle.put(worker)
        return reply

    def evaluate_many(self, codes: Sequence[str], set_name: str = "train") -> list[Evaluation]:
        """Evaluate several candidates with up to ``jobs`` in parallel, results in order."""
        if self.jobs == 1 or len(codes) <= 1:
            return [self.evaluate(code, set_name) for code in codes]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            return list(pool.map(lambda c: self.evaluate(c, set_name), codes))

    def judge(self, reply: dict[str, Any], set_name: str) -> Evaluation:
        """Decode, validate and score a worker's raw reply on ``set_name`` (in the parent)."""
        from schedforge.core.registry import get_problem

        eval_set = self.sets[set_name]

        evaluation = Evaluation(
            verdict=str(reply.get("verdict", "crashed")),
            message=str(reply.get("message", ""))[:500],
            engine=str(reply.get("engine", "python")),
            numba_error=reply.get("numba_error"),
            network_isolated=reply.get("network_isolated"),
            limits=list(reply.get("limits") or []),
        )
        if not evaluation.ok:
            return evaluation
        problem = get_problem(self.template.problem)
        raw = reply.get("raw")
        if not isinstance(raw, list) or len(raw) != len(eval_set):
            evaluation.verdict = "invalid_solution"
            evaluation.message = "the worker returned the wrong number of solutions"
            return evaluation
        for inst, ref, item in zip(eval_set.instances, eval_set.references, raw, strict=True):
            try:
                solution = self.template.decode(inst, item)
                violations = problem.validate(inst, solution)
            except Exception as exc:  # malformed raw output from the worker
                violations = [f"undecodable solution ({type(exc).__name__})"]
            if violations:
                evaluation.verdict = "invalid_solution"
                evaluation.message = f"{inst.name}: {violations[0]}"
                evaluation.objectives, evaluation.gaps = [], []
                return evaluation
            value, gap = self.template.value_and_gap(inst, solution, ref)
            evaluation.objectives.append(value)
            evaluation.gaps.append(gap)
        return evaluation


if __name__ == "__main__":
    _worker_main()
