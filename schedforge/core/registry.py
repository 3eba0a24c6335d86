"""The registry of problems, file formats and methods.

Problem modules register a :class:`Problem` and their :class:`Format` s;
method modules register functions with the :func:`method` decorator. Modules
register themselves when imported, and they are imported lazily: the problem
modules (data model and formats, no solver code) when a problem or format is
first looked up, a family's method modules (:data:`METHOD_MODULES`) when its
methods are first looked up. ``import schedforge`` imports no family.

A *method spec* is ``NAME`` or ``NAME:VARIANT`` (``cp``, ``mip:highs``,
``rule:edd``, ``heuristic:my_rule``). A registered method function has the
signature ``f(instance, [variant,] *, budget, **options)``, where ``budget``
is the :class:`~schedforge.core.budget.Budget` of the call (time limit, seed,
threads); its other keyword-only parameters are its options, so an unknown
option is detected from the signature and never silently swallowed.
"""

from __future__ import annotations

import importlib
import inspect
import math
import pkgutil
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schedforge.core.errors import InvalidOption, UnknownMethod, UnknownProblem

# The package whose modules register the problems and their formats (data
# models, readers, generators: no solver code, so importing all is cheap).
PROBLEM_PACKAGE = "schedforge.problems"

# Per problem, the modules that register its methods; imported on first use.
# tests/core/test_registry.py checks that every module using @method is here.
METHOD_MODULES: dict[str, tuple[str, ...]] = {
    "smtt": (
        "schedforge.heuristics.smtt",
        "schedforge.heuristics.local_search.smtt",
        "schedforge.solvers.cp.smtt",
        "schedforge.solvers.mip.smtt",
        "schedforge.solvers.exact.smtt",
        "schedforge.discovery.export",
    ),
    "rcpsp": (
        "schedforge.heuristics.rcpsp",
        "schedforge.heuristics.rcpsp_ga",
        "schedforge.solvers.cp.rcpsp",
        "schedforge.solvers.mip.rcpsp",
        "schedforge.discovery.export",
    ),
    "fjsp": (
        "schedforge.heuristics.dispatch",
        "schedforge.heuristics.local_search.fjsp",
        "schedforge.heuristics.local_search.fjsp_tabu",
        "schedforge.solvers.cp.fjsp",
        "schedforge.solvers.mip.fjsp",
        "schedforge.solvers.rolling_horizon",
        "schedforge.discovery.export",
    ),
    "pods": (
        "schedforge.heuristics.kube",
        "schedforge.solvers.cp.pods.method",
        "schedforge.solvers.mip.pods",
        "schedforge.discovery.export",
    ),
}

# Arguments every method receives from solve(); never options. ``time_limit``,
# ``seed`` and ``threads`` reach a method only inside its budget.
_RESERVED = ("instance", "variant", "budget", "time_limit", "seed", "threads")


@dataclass(frozen=True)
class Problem:
    """A registered problem family.

    Parameters
    ----------
    name
        Short name (``"smtt"``).
    title
        Human-readable name.
    instance_type, solution_type
        The frozen dataclasses of the family.
    validate
        ``validate(instance, solution) -> list[str]``, empty when feasible.
    objective
        ``objective(instance, solution) -> float``, minimised.
    lower_bound
        ``lower_bound(instance) -> float``: a valid bound for any method
        that has none of its own, or ``None``.
    generate
        ``generate(*, seed, **params) -> instance``.
    gantt
        ``gantt(instance, solution) -> list[Bar]`` for plotting.
    """

    name: str
    title: str
    instance_type: type
    solution_type: type
    validate: Callable[[Any, Any], list[str]]
    objective: Callable[[Any, Any], float]
    lower_bound: Callable[[Any], float] | None = None
    generate: Callable[..., Any] | None = None
    gantt: Callable[[Any, Any], list] | None = None


@dataclass(frozen=True)
class Format:
    """A file format for one problem.

    Parameters
    ----------
    name
        Short name (``"orlib-wt"``, ``"sm"``, ``"json"``).
    problem
        The problem it holds.
    extensions
        Lower-case file suffixes including the dot (``(".sm",)``).
    read_all
        ``read_all(path) -> Iterator[instance]``; raises ``ParseError``.
    write
        ``write(instances, path)`` for a sequence of instances, or ``None``
        for read-only formats.
    sniff
        ``sniff(head: str) -> bool`` decides from the first few KB of text
        whether a file is in this format, for extensions shared by several
        formats (``.txt``, ``.json``).
    multi
        Whether one file holds many instances.
    """

    name: str
    problem: str
    extensions: tuple[str, ...]
    read_all: Callable[[Path], Iterator[Any]]
    write: Callable[[Sequence[Any], Path], None] | None = None
    sniff: Callable[[str], bool] | None = None
    multi: bool = False


@dataclass(frozen=True)
class Method:
    """A registered method (or family of variants) for one problem."""

    problem: str
    name: str
    func: Callable[..., Any]
    variants: tuple[str, ...] | Callable[[], Iterable[str]] | None = None
    exact: bool = False
    summary: str = ""
    default_stop: str = ""
    threads: int = 1
    _options: dict[str, Any] = field(default_factory=dict, repr=False)

    def variant_names(self) -> tuple[str, ...]:
        """The valid variants (empty for a method without variants)."""
        if self.variants is None:
            return ()
        if callable(self.variants):
            return tuple(self.variants())
        return self.variants

    def specs(self) -> list[str]:
        """Every full method spec this entry provides."""
        names = self.variant_names()
        if self.variants is None:
            return [self.name]
        return [f"{self.name}:{v}" for v in names]

    @property
    def options(self) -> dict[str, Any]:
        """Option names with their defaults (from the function signature)."""
        return dict(self._options)


_problems: dict[str, Problem] = {}
_formats: list[Format] = []
_methods: dict[tuple[str, str], Method] = {}
_loaded_problems = False
_loaded_methods: set[str] = set()


def register_problem(problem: Problem) -> Problem:
    """Register a problem family (called by each problem module)."""
    _problems[problem.name] = problem
    return problem


def register_format(fmt: Format) -> Format:
    """Register a file format (called by problem modules)."""
    _formats.append(fmt)
    return fmt


def method(
    problem: str,
    name: str,
    *,
    variants: Sequence[str] | Callable[[], Iterable[str]] | None = None,
    exact: bool = False,
    default_stop: str,
    threads: int = 1,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator registering a method function for ``problem`` under ``name``.

    Parameters
    ----------
    problem
        Problem name.
    name
        Method name (the part of the spec before ``:``).
    variants
        The allowed variants (the part after ``:``), a callable returning
        them (for dynamic sets such as discovered heuristics), or ``None``.
    exact
        Whether the method can prove optimality.
    default_stop
        One line saying when the method stops without a time limit
        (``solve(..., time_limit=None)``): the README's stopping-rule table
        is generated from it.
    threads
        The thread count the method uses when ``solve()`` is given none
        (``threads=None``); more than 1 must be said in its docstring.
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(func)
        opts = {
            p.name: p.default
            for p in sig.parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in _RESERVED
        }
        budget = sig.parameters.get("budget")
        if budget is None or budget.kind is not inspect.Parameter.KEYWORD_ONLY:
            raise TypeError(f"method {problem}/{name}: missing keyword-only parameter 'budget'")
        clash = sorted(set(opts) & {"time_limit", "seed", "threads", "workers", "num_workers"})
        if clash:
            raise TypeError(f"method {problem}/{name}: {clash} belong to the budget, not options")
        if not default_stop.strip() or "\n" in default_stop:
            raise TypeError(f"method {problem}/{name}: default_stop must be one line")
        if (variants is not None) != ("variant" in sig.parameters):
            raise TypeError(f"method {problem}/{name}: 'variant' parameter iff variants given")
        doc = inspect.getdoc(func) or ""
        _methods[(problem, name)] = Method(
            problem=problem,
            name=name,
            func=func,
            variants=tuple(variants) if isinstance(variants, list | tuple) else variants,
            exact=exact,
            default_stop=default_stop.strip(),
            threads=threads,
            summary=doc.splitlines()[0] if doc else "",
            _options=opts,
        )
        return func

    return decorate


def load_problems() -> None:
    """Import the problem modules once (they register problems and formats)."""
    global _loaded_problems
    if not _loaded_problems:
        package = importlib.import_module(PROBLEM_PACKAGE)
        for info in pkgutil.iter_modules(package.__path__, PROBLEM_PACKAGE + "."):
            importlib.import_module(info.name)
        _loaded_problems = True


def load_methods(problem: str) -> None:
    """Import the method modules of ``problem`` once (they self-register)."""
    if problem in _loaded_methods:
        return
    # Marked first: a method module may look up its own problem while loading.
    _loaded_methods.add(problem)
    try:
        for module in METHOD_MODULES.get(problem, ()):
            importlib.import_module(module)
    except BaseException:
        _loaded_methods.discard(problem)
        raise


def load_plugins() -> None:
    """Import every problem and method module (for listings of everything)."""
    load_problems()
    for name in list(_problems):
        load_methods(name)


def problems() -> list[str]:
    """Names of all registered problems."""
    load_problems()
    return sorted(_problems)


def get_problem(name: str) -> Problem:
    """The registered :class:`Problem` called ``name``."""
    load_problems()
    try:
        return _problems[name]
    except KeyError:
        raise UnknownProblem(
            f"unknown problem {name!r}; available: {', '.join(sorted(_problems))}"
        ) from None


def problem_of(instance: Any) -> Problem:
    """The registered problem an instance belongs to."""
    name = getattr(instance, "problem", None)
    if not isinstance(name, str):
        raise UnknownProblem(f"{type(instance).__name__} is not a schedforge instance")
    return get_problem(name)


def formats(problem: str | None = None) -> list[Format]:
    """Registered formats, optionally of one problem."""
    load_problems()
    return [f for f in _formats if problem is None or f.problem == problem]


def methods(problem: str) -> list[str]:
    """Every method spec available for ``problem``, sorted.

    Examples
    --------
    >>> "rule:edd" in methods("smtt")
    True
    """
    get_problem(problem)
    load_methods(problem)
    specs = [s for m in _methods.values() if m.problem == problem for s in m.specs()]
    return sorted(specs)


def method_entries(problem: str) -> list[Method]:
    """The registered :class:`Method` entries of ``problem``."""
    get_problem(problem)
    load_methods(problem)
    return sorted((m for m in _methods.values() if m.problem == problem), key=lambda m: m.name)


def stopping_rules_markdown() -> str:
    """The Markdown table of every method's stopping rule and default threads.

    One row per built-in method (variants shown as ``name:<variant>``;
    methods registered by plugins are left out):
    what stops it when ``solve()`` gets no ``time_limit``, and its thread
    count when it gets no ``threads``. The README carries this table
    (``schedforge methods --stopping-rules`` prints it; a test keeps the two
    equal).
    """
    lines = [
        "| problem | method | without `time_limit` it stops | default `threads` |",
        "|---|---|---|---|",
    ]
    for problem in problems():
        for entry in method_entries(problem):
            if not entry.func.__module__.startswith("schedforge."):
                continue
            shown = entry.name if entry.variants is None else f"{entry.name}:<variant>"
            lines.append(f"| {problem} | `{shown}` | {entry.default_stop} | {entry.threads} |")
    return "\n".join(lines) + "\n"


def parse_spec(spec: str) -> tuple[str, str | None]:
    """Split ``"NAME:VARIANT"`` into its parts (variant ``None`` if absent)."""
    name, sep, variant = spec.strip().partition(":")
    return name, (variant if sep else None)


def resolve(problem: str, spec: str) -> tuple[Method, str | None]:
    """Look up a method spec; raise :class:`UnknownMethod` listing the valid ones."""
    get_problem(problem)
    load_methods(problem)
    name, variant = parse_spec(spec)
    entry = _methods.get((problem, name))
    valid = methods(problem)
    if entry is None or (variant is None) != (entry.variants is None):
        raise UnknownMethod(f"unknown method {spec!r} for {problem}; available: {', '.join(valid)}")
    if variant is not None and variant not in entry.variant_names():
        raise UnknownMethod(f"unknown method {spec!r} for {problem}; available: {', '.join(valid)}")
    return entry, variant


def parse_value(text: str) -> Any:
    """Turn an option value written as text (CLI, method-spec query, TOML string)
    into ``None``, ``bool``, ``int``, ``float`` or ``str``.

    Only ``None`` spelled so means no value (``stall=None``): ``none`` stays
    text, a valid value of some text options (``fixing=none``).
    """
    lowered = text.lower()
    if text == "None":
        return None
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return text
    # "nan" and "inf" stay text: no option takes them, and the type check
    # then names the option instead of passing a NaN to a method.
    return number if math.isfinite(number) else text


def check_options(entry: Method, spec: str, options: dict[str, Any]) -> None:
    """Raise :class:`InvalidOption` for option names the method does not accept,
    or values of a kind its signature does not take (``stall='abc'``).

    Kinds come from the annotations of the method function (``int | None``,
    ``float``, ``bool``, ``str``, ``Literal[...]``); ranges are checked by the
    method itself when it starts.
    """
    unknown = sorted(set(options) - set(entry.options))
    if unknown:
        accepted = ", ".join(sorted(entry.options)) or "none"
        raise InvalidOption(
            f"method {spec!r} does not accept option(s) {', '.join(unknown)}; "
            f"accepted: {accepted} (plus time_limit, seed, threads)"
        )
    hints = _option_hints(entry.func)
    for name, value in options.items():
        allowed = hints.get(name)
        if allowed is not None and not any(_fits(value, kind) for kind in allowed):
            words = " or ".join(dict.fromkeys(_KIND_WORDS.get(k, repr(k)) for k in allowed))
            shown = "None" if value is None else repr(value)
            raise InvalidOption(f"method {spec!r}: option {name} must be {words}, got {shown}")
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
            # The compiled kernels take 64-bit integers; 2**53 keeps sums of them safe too.
            raise InvalidOption(f"method {spec!r}: option {name} = {value} is outside ±2**53")


_KIND_WORDS = {int: "an integer", float: "a number", bool: "true/false", str: "text", None: "None"}


def _option_hints(func: Callable[..., Any]) -> dict[str, tuple[Any, ...]]:
    """Per option, the plain kinds (and literal values) its annotation allows.

    Options with an annotation outside these simple kinds are left out, so
    they are not checked here.
    """
    try:
        hints = typing.get_type_hints(func)
    except Exception:  # an annotation that does not resolve: check nothing
        return {}
    out: dict[str, tuple[Any, ...]] = {}
    for name, hint in hints.items():
        kinds = _kinds(hint)
        if kinds is not None:
            out[name] = kinds
    return out


def _kinds(hint: Any) -> tuple[Any, ...] | None:
    if hint is type(None) or hint is None:
        return (None,)
    if hint in (int, float, bool, str):
        return (hint,)
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return tuple(("literal", v) for v in typing.get_args(hint))
    if origin in (typing.Union, types.UnionType):
        parts = [_kinds(arg) for arg in typing.get_args(hint)]
        if any(p is None for p in parts):
            return None
        return tuple(k for p in parts for k in p)  # type: ignore[union-attr]
    return None


def _fits(value: Any, kind: Any) -> bool:
    if kind is None:
        return value is None
    if isinstance(kind, tuple):  # ("literal", v)
        return value == kind[1] and type(value) is type(kind[1])
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)
