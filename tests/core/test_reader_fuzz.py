"""Property tests of every reader: a mutated valid file reads or fails cleanly.

For each format and each variant of it met in the wild (PSPLIB j30 and j120,
Shang's SDT text, the published SMTT JSON Lines, kubectl JSON and YAML, the
compact pods JSON ...), hypothesis mutates a valid file — flips bytes,
replaces tokens by odd numbers or text, deletes or repeats tokens, truncates;
for JSON also edits the parsed document (drops keys, puts odd values at any
path) — and the reader must either return instances or raise
:class:`ParseError` / :class:`InvalidInstance`, never another exception.
Every instance it returns must solve with a rule whose solution its own
validator accepts and whose objective is exact.

The tables read beside instances (reference CSVs, OR-Library value lists,
PSPLIB and FJSP ``bounds.csv``) and TOML experiment files get the same
mutations: a table of finite values or a :class:`SchedforgeError`.
"""

from __future__ import annotations

import json
import math
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import schedforge as sf
from schedforge.core.errors import InvalidInstance, ParseError, SchedforgeError
from schedforge.core.registry import problem_of
from tests.conftest import DATA

RULES = {"smtt": "rule:edd", "rcpsp": "rule:lft", "fjsp": "rule:fifo-eet", "pods": "kube"}
NUMPY_WORDS = re.compile(r"np\.|numpy|dtype|<U\d|type object|int64")

# Values that break readers that do not bound what they read.
ODD_TOKENS = [
    "0",
    "-1",
    "-0",
    "1.5",
    "1e300",
    "2147483647",
    "2147483648",
    "-2147483648",
    "9223372036854775808",
    "1" + "0" * 30,
    "9" * 5000,
    "NaN",
    "Infinity",
    "-Infinity",
    "nan",
    "null",
    "true",
    '"x"',
    "[]",
    "{}",
    "",
    "\u00e9",
    "\x00",
]


def _orlib_text() -> bytes:
    """Two OR-Library instances of 3 jobs (p, w, d blocks), 10 numbers a line."""
    values = [3, 1, 4, 1, 2, 3, 5, 2, 9, 2, 6, 5, 3, 1, 2, 4, 8, 6]
    rows = [values[k : k + 10] for k in range(0, len(values), 10)]
    return ("\n".join(" ".join(map(str, row)) for row in rows) + "\n").encode()


def _written(instance, name: str, tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("seed") / name
    sf.write(instance, path)
    return path.read_bytes()


def _head_lines(path, count: int) -> bytes:
    return b"".join(path.read_bytes().splitlines(keepends=True)[:count])


def _seeds(tmp_path_factory) -> dict[str, tuple[str, str, bytes]]:
    """Per variant name, (file name, format name, bytes of a valid file)."""
    smtt = sf.generate("smtt", jobs=6, weighted=True, seed=1)
    fjsp = sf.read(DATA / "fjsp" / "tiny_wrapped_job.fjs")
    pods = sf.generate("pods", seed=1)
    j30 = next(iter(sf.dataset("psplib:j30").paths()))
    j120 = next(iter(sf.dataset("psplib:j120").paths()))
    cetinkaya = next(iter(sf.dataset("smtt:cetinkaya-n20").paths()))
    sdt = next(iter(sf.dataset("smtt:shang-n100-sdt").paths()))
    return {
        "orlib-wt": ("wt3.txt", "orlib-wt", _orlib_text()),
        "smtt-txt": ("tiny3.txt", "smtt-txt", (DATA / "smtt" / "tiny3_weighted.txt").read_bytes()),
        "smtt-txt-sdt": ("SDT.txt", "smtt-txt", sdt.read_bytes()),
        "smtt-jsonl": (
            "set.jsonl",
            "smtt-jsonl",
            _written([smtt, smtt], "set.jsonl", tmp_path_factory),
        ),
        "smtt-jsonl-published": ("c.jsonl", "smtt-jsonl", _head_lines(cetinkaya, 2)),
        "smtt-json": ("one.json", "smtt-json", _written(smtt, "one.json", tmp_path_factory)),
        "psplib-sm": ("tiny.sm", "psplib-sm", (DATA / "rcpsp" / "tiny.sm").read_bytes()),
        "psplib-sm-j30": ("j301_1.sm", "psplib-sm", j30.read_bytes()),
        "psplib-sm-j120": ("j1201_1.sm", "psplib-sm", j120.read_bytes()),
        "patterson-rcp": ("tiny.rcp", "patterson-rcp", (DATA / "rcpsp" / "tiny.rcp").read_bytes()),
        "rcpsp-json": ("side.json", "rcpsp-json", (DATA / "rcpsp" / "tiny_side.json").read_bytes()),
        "fjs": ("tiny.fjs", "fjs", (DATA / "fjsp" / "tiny_wrapped_job.fjs").read_bytes()),
        "taillard": ("tiny.tai", "taillard", (DATA / "fjsp" / "tiny.tai").read_bytes()),
        "jsp": ("tiny.jsp", "jsp", (DATA / "fjsp" / "tiny.jsp").read_bytes()),
        "fjsp-json": ("f.json", "fjsp-json", _written(fjsp, "f.json", tmp_path_factory)),
        "pods-json": ("p.json", "pods-json", _written(pods, "p.json", tmp_path_factory)),
        "pods-compact": (
            "c.json",
            "pods-compact",
            (DATA / "pods" / "compact_small.json").read_bytes(),
        ),
        "kubectl-json": ("cluster.json", "kubectl", (DATA / "pods" / "cluster.json").read_bytes()),
        "kubectl-yaml": ("cluster.yaml", "kubectl", (DATA / "pods" / "cluster.yaml").read_bytes()),
    }


FORMATS = [
    "orlib-wt",
    "smtt-txt",
    "smtt-txt-sdt",
    "smtt-jsonl",
    "smtt-jsonl-published",
    "smtt-json",
    "psplib-sm",
    "psplib-sm-j30",
    "psplib-sm-j120",
    "patterson-rcp",
    "rcpsp-json",
    "fjs",
    "taillard",
    "jsp",
    "fjsp-json",
    "pods-json",
    "pods-compact",
    "kubectl-json",
    "kubectl-yaml",
]
JSON_FORMATS = [
    "smtt-jsonl",
    "smtt-jsonl-published",
    "smtt-json",
    "rcpsp-json",
    "fjsp-json",
    "pods-json",
    "pods-compact",
    "kubectl-json",
]


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    return _seeds(tmp_path_factory)


_TOKEN = re.compile(rb"[^\s,\[\]{}:]+")


@st.composite
def mutations(draw, data: bytes) -> bytes:
    """``data`` after one to three random edits."""
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["byte", "odd", "text", "delete", "repeat", "truncate"]))
        spans = [m.span() for m in _TOKEN.finditer(data)]
        if kind == "byte" or not spans:
            if not data:
                data = draw(st.binary(max_size=8))
                continue
            at = draw(st.integers(0, len(data) - 1))
            data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
        elif kind == "truncate":
            data = data[: draw(st.integers(0, len(data)))]
        else:
            start, end = spans[draw(st.integers(0, len(spans) - 1))]
            if kind == "odd":
                new = draw(st.sampled_from(ODD_TOKENS)).encode()
            elif kind == "text":
                new = draw(st.text(max_size=6)).encode("utf-8", "surrogatepass")
            elif kind == "delete":
                new = b""
            else:
                new = data[start:end] + b" " + data[start:end]
            data = data[:start] + new + data[end:]
    return data


# Values a JSON document may hold where a reader expects something else.
ODD_VALUES = [
    None,
    True,
    0,
    -1,
    1.5,
    2**31,
    2**63,
    10**30,
    -(10**30),
    1e300,
    "",
    "x",
    "1e30",
    "-5",
    [],
    {},
    [None],
    {"x": 1},
]


def _containers(node, found=None) -> list:
    """Every non-empty object and list in ``node``, ``node`` included."""
    found = [] if found is None else found
    if isinstance(node, dict | list) and node:
        found.append(node)
        for value in node.values() if isinstance(node, dict) else node:
            _containers(value, found)
    return found


@st.composite
def json_mutations(draw, document):
    """``document`` after one to three edits at random paths: drop, replace, repeat."""
    document = json.loads(json.dumps(document))
    for _ in range(draw(st.integers(1, 3))):
        containers = _containers(document)
        if not containers:
            break
        node = containers[draw(st.integers(0, len(containers) - 1))]
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        key = keys[draw(st.integers(0, len(keys) - 1))]
        kind = draw(st.sampled_from(["drop", "odd", "repeat"]))
        if kind == "drop":
            del node[key]
        elif kind == "odd":
            node[key] = json.loads(json.dumps(draw(st.sampled_from(ODD_VALUES))))
        elif isinstance(node, list):
            node.insert(key, json.loads(json.dumps(node[key])))
        else:
            node[key] = [node[key], node[key]]
    return document


def _check_instance(instance) -> None:
    """The instance solves with a rule; solve() validates the solution itself."""
    problem = problem_of(instance)
    result = sf.solve(instance, RULES[problem.name], time_limit=10, seed=0)
    if result.solution is not None:
        assert problem.validate(instance, result.solution) == []
        assert result.objective == problem.objective(instance, result.solution)


def _reads_or_fails_cleanly(path, fmt: str) -> None:
    try:
        instances = list(sf.read_all(path, fmt=fmt))
    except (ParseError, InvalidInstance) as exc:
        # Messages speak the user's words, never NumPy's.
        assert not NUMPY_WORDS.search(str(exc)), str(exc)
        return
    for instance in instances:
        _check_instance(instance)


FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize("variant", FORMATS)
@FUZZ
@given(data=st.data())
def test_mutated_file_reads_or_fails_cleanly(variant, data, seeds, tmp_path):
    name, fmt, valid = seeds[variant]
    path = tmp_path / name
    path.write_bytes(data.draw(mutations(valid), label="file"))
    _reads_or_fails_cleanly(path, fmt)


@pytest.mark.parametrize("variant", JSON_FORMATS)
@FUZZ
@given(data=st.data())
def test_mutated_json_document_reads_or_fails_cleanly(variant, data, seeds, tmp_path):
    name, fmt, valid = seeds[variant]
    path = tmp_path / name
    if name.endswith(".jsonl"):
        lines = [json.loads(line) for line in valid.decode().splitlines() if line.strip()]
        mutated = data.draw(json_mutations(lines), label="lines")
        path.write_text("".join(json.dumps(line) + "\n" for line in mutated))
    else:
        mutated = data.draw(json_mutations(json.loads(valid)), label="document")
        path.write_text(json.dumps(mutated))
    _reads_or_fails_cleanly(path, fmt)


@pytest.mark.parametrize("variant", FORMATS)
def test_valid_seed_files_read(variant, seeds, tmp_path):
    """The files the mutations start from are valid (else the tests above prove little)."""
    name, fmt, valid = seeds[variant]
    path = tmp_path / name
    path.write_bytes(valid)
    instances = list(sf.read_all(path, fmt=fmt))
    assert instances
    for instance in instances:
        _check_instance(instance)


# ------------------------------------------------------------ tables and TOML


def _table_seeds() -> dict[str, tuple[str, bytes]]:
    psplib = sf.dataset("psplib:j30").paths()[0].parent.parent / "tables" / "bounds.csv"
    fjsp = sf.dataset("fjsp:barnes").paths()[0].parent.parent / "bounds.csv"
    smtt = sf.dataset("smtt:shang-n100").paths()[0].parent / "optima.csv"
    orlib = sf.dataset("orlib:wt40").paths()[0].parent / "wtopt40.txt"
    return {
        "psplib-bounds": ("bounds.csv", _head_lines(psplib, 6)),
        "fjsp-bounds": ("bounds.csv", _head_lines(fjsp, 6)),
        "smtt-optima": ("optima.csv", _head_lines(smtt, 6)),
        "orlib-values": ("wtopt40.txt", _head_lines(orlib, 6)),
    }


@pytest.fixture(scope="module")
def table_seeds():
    return _table_seeds()


@pytest.mark.parametrize("variant", ["psplib-bounds", "fjsp-bounds", "smtt-optima", "orlib-values"])
@FUZZ
@given(data=st.data())
def test_mutated_reference_table_loads_or_fails_cleanly(variant, data, table_seeds, tmp_path):
    from schedforge.bench.reference import load_reference

    name, valid = table_seeds[variant]
    path = tmp_path / name
    path.write_bytes(data.draw(mutations(valid), label="table"))
    try:
        table = load_reference(path)
    except SchedforgeError as exc:
        assert not NUMPY_WORDS.search(str(exc)), str(exc)
        return
    for value, _ in [*table.by_name.values(), *table.by_path.values()]:
        assert math.isfinite(value)


@FUZZ
@given(data=st.data())
def test_mutated_psplib_bounds_attach_or_fail_cleanly(data, table_seeds, tmp_path):
    """A .sm file reads its values from ../tables/bounds.csv: damage there fails cleanly."""
    (tmp_path / "j30").mkdir(exist_ok=True)
    (tmp_path / "tables").mkdir(exist_ok=True)
    sm = tmp_path / "j30" / "j301_1.sm"
    sm.write_bytes(next(iter(sf.dataset("psplib:j30").paths())).read_bytes())
    _, valid = table_seeds["psplib-bounds"]
    (tmp_path / "tables" / "bounds.csv").write_bytes(data.draw(mutations(valid), label="table"))
    from schedforge.problems import rcpsp_formats

    rcpsp_formats._BOUNDS_CACHE.clear()
    _reads_or_fails_cleanly(sm, "psplib-sm")


@FUZZ
@given(data=st.data())
def test_mutated_fjsp_bounds_attach_or_fail_cleanly(data, table_seeds, tmp_path):
    """A .fjs file reads its bounds from a bounds.csv above it: damage there fails cleanly."""
    (tmp_path / "barnes").mkdir(exist_ok=True)
    fjs = tmp_path / "barnes" / "mt10c1.fjs"
    fjs.write_bytes(next(iter(sf.dataset("fjsp:barnes").paths())).read_bytes())
    _, valid = table_seeds["fjsp-bounds"]
    (tmp_path / "bounds.csv").write_bytes(data.draw(mutations(valid), label="table"))
    from schedforge.problems import fjsp_formats

    fjsp_formats._bounds_table.cache_clear()
    _reads_or_fails_cleanly(fjs, "fjs")


EXPERIMENT = b"""instances = ["tiny3.txt"]
methods = ["rule:edd", "ils:mddc?stall=None"]
time_limit = 2.0
seeds = [0, 1, 2]
jobs = 1
grace = 1.5
out = "runs/x"
warmup = true
export = ["runs/x/runs.csv"]

[[method]]
spec = "ils:atc"
options = { stall = 10, k = 2.0 }
"""


@FUZZ
@given(data=st.data())
def test_mutated_experiment_file_plans_or_fails_cleanly(data, tmp_path):
    """Everything bench does with a TOML file before its first run: a plan or one error."""
    from schedforge.bench.experiment import load_experiment, make_config
    from schedforge.bench.grid import build_grid, expand_instances

    (tmp_path / "tiny3.txt").write_bytes((DATA / "smtt" / "tiny3.txt").read_bytes())
    path = tmp_path / "experiment.toml"
    path.write_bytes(data.draw(mutations(EXPERIMENT), label="toml"))
    try:
        config = make_config(load_experiment(path), {})
        config.check()
        build_grid(
            expand_instances(config.instances), config.methods, config.seeds, config.time_limit
        )
    except SchedforgeError as exc:
        assert not NUMPY_WORDS.search(str(exc)), str(exc)


def test_valid_tables_and_experiment_load(table_seeds, tmp_path):
    from schedforge.bench.experiment import load_experiment, make_config
    from schedforge.bench.grid import build_grid, expand_instances
    from schedforge.bench.reference import load_reference

    for name, valid in table_seeds.values():
        (tmp_path / name).write_bytes(valid)
        assert len(load_reference(tmp_path / name)) > 0
    (tmp_path / "tiny3.txt").write_bytes((DATA / "smtt" / "tiny3.txt").read_bytes())
    (tmp_path / "experiment.toml").write_bytes(EXPERIMENT)
    config = make_config(load_experiment(tmp_path / "experiment.toml"), {})
    config.check()
    tasks = build_grid(
        expand_instances(config.instances), config.methods, config.seeds, config.time_limit
    )
    assert len(tasks) == 9
