"""Property tests of every reader: a mutated valid file reads or fails cleanly.

For each format (pods formats excepted: they have their own), hypothesis
mutates a valid file — flips bytes, replaces tokens by odd numbers or text,
deletes or repeats tokens, truncates — and the reader must either return
instances or raise :class:`ParseError` / :class:`InvalidInstance`, never
another exception. Every instance it returns must solve with a rule whose
solution its own validator accepts and whose objective is exact.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import schedforge as sf
from schedforge.core.errors import InvalidInstance, ParseError
from schedforge.core.registry import problem_of
from tests.conftest import DATA

RULES = {"smtt": "rule:edd", "rcpsp": "rule:lft", "fjsp": "rule:fifo-eet"}

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


def _seeds(tmp_path_factory) -> dict[str, tuple[str, bytes]]:
    """Per format name, (file name, bytes of a valid file)."""
    smtt = sf.generate("smtt", jobs=6, weighted=True, seed=1)
    fjsp = sf.read(DATA / "fjsp" / "tiny_wrapped_job.fjs")
    return {
        "orlib-wt": ("wt3.txt", _orlib_text()),
        "smtt-txt": ("tiny3.txt", (DATA / "smtt" / "tiny3_weighted.txt").read_bytes()),
        "smtt-jsonl": ("set.jsonl", _written([smtt, smtt], "set.jsonl", tmp_path_factory)),
        "smtt-json": ("one.json", _written(smtt, "one.json", tmp_path_factory)),
        "psplib-sm": ("tiny.sm", (DATA / "rcpsp" / "tiny.sm").read_bytes()),
        "patterson-rcp": ("tiny.rcp", (DATA / "rcpsp" / "tiny.rcp").read_bytes()),
        "rcpsp-json": ("side.json", (DATA / "rcpsp" / "tiny_side.json").read_bytes()),
        "fjs": ("tiny.fjs", (DATA / "fjsp" / "tiny_wrapped_job.fjs").read_bytes()),
        "taillard": ("tiny.tai", (DATA / "fjsp" / "tiny.tai").read_bytes()),
        "jsp": ("tiny.jsp", (DATA / "fjsp" / "tiny.jsp").read_bytes()),
        "fjsp-json": ("f.json", _written(fjsp, "f.json", tmp_path_factory)),
    }


FORMATS = [
    "orlib-wt",
    "smtt-txt",
    "smtt-jsonl",
    "smtt-json",
    "psplib-sm",
    "patterson-rcp",
    "rcpsp-json",
    "fjs",
    "taillard",
    "jsp",
    "fjsp-json",
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


def _check_instance(instance) -> None:
    """The instance solves with a rule; solve() validates the solution itself."""
    problem = problem_of(instance)
    result = sf.solve(instance, RULES[problem.name], time_limit=10, seed=0)
    if result.solution is not None:
        assert problem.validate(instance, result.solution) == []
        assert result.objective == problem.objective(instance, result.solution)


@pytest.mark.parametrize("fmt", FORMATS)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_mutated_file_reads_or_fails_cleanly(fmt, data, seeds, tmp_path):
    name, valid = seeds[fmt]
    path = tmp_path / name
    path.write_bytes(data.draw(mutations(valid), label="file"))
    try:
        instances = list(sf.read_all(path, fmt=fmt))
    except (ParseError, InvalidInstance) as exc:
        # Messages speak the user's words, never NumPy's.
        assert not re.search(r"np\.|numpy|dtype|<U\d|type object|int64", str(exc)), str(exc)
        return
    for instance in instances:
        _check_instance(instance)


@pytest.mark.parametrize("fmt", FORMATS)
def test_valid_seed_files_read(fmt, seeds, tmp_path):
    """The files the mutations start from are valid (else the test above proves little)."""
    name, valid = seeds[fmt]
    path = tmp_path / name
    path.write_bytes(valid)
    instances = list(sf.read_all(path, fmt=fmt))
    assert instances
    for instance in instances:
        _check_instance(instance)
