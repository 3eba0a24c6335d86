"""A table of bad command lines: each ends with one ``error:`` line, never a traceback.

The commands run in this process through :func:`schedforge.cli.main` (fast);
every one must fail before any run starts.
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys

import pytest

from schedforge import cli
from tests.conftest import DATA

SMTT = str(DATA / "smtt" / "tiny3.txt")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Malformed inputs and occupied output paths, by name."""
    root = tmp_path_factory.mktemp("bad")
    (root / "dir.fjs").mkdir()
    (root / "binary.jsonl").write_bytes(b'\xff\xfe{"p": [1], "d": [1]}\n')
    (root / "nan.jsonl").write_text('{"p": [1, NaN], "d": [1, 2]}\n')
    (root / "huge.txt").write_text("1 2\n" + "1" + "0" * 30 + " 5\n")
    (root / "huge.json").write_text('{"problem": "smtt", "processing": [1e30], "due": [1]}')
    (root / "nul.txt").write_bytes(b"1 2\n3\x00 4\n")
    (root / "nojob.json").write_text('{"problem": "smtt", "due": [1]}')
    sm = (DATA / "rcpsp" / "tiny.sm").read_text().splitlines()
    big = [line.replace("  2      1    3 ", "  2      1    " + "9" * 31 + " ") for line in sm]
    (root / "huge.sm").write_text("\n".join(big) + "\n")
    (root / "taken.txt").write_text("a file where a folder is expected\n")
    cluster = json.loads((DATA / "pods" / "cluster.json").read_text())
    pods = [item for item in cluster["items"] if item["kind"] == "Pod"]
    del pods[0]["spec"]
    (root / "nospec.json").write_text(json.dumps(cluster))
    pods[1]["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "1e30"}}
    pods[0]["spec"] = {"containers": []}
    (root / "hugecpu.json").write_text(json.dumps(cluster))
    compact = json.loads((DATA / "pods" / "compact_small.json").read_text())
    del compact["pods"][0]["uid"]
    (root / "nouid.json").write_text(json.dumps(compact))
    compact = (DATA / "pods" / "compact_small.json").read_text()
    (root / "nancpu.json").write_text(compact.replace('"req_cpu_m": 100,', '"req_cpu_m": NaN,', 1))
    (root / "nopods.json").write_text(json.dumps({"nodes": json.loads(compact)["nodes"]}))
    (root / "deep.yaml").write_text(
        "apiVersion: v1\nkind: List\nitems: " + "[" * 50000 + "]" * 50000
    )
    cluster = json.loads((DATA / "pods" / "cluster.json").read_text())
    node = next(item for item in cluster["items"] if item["kind"] == "Node")
    node["metadata"]["labels"] = ["a", "b"]
    (root / "labels.json").write_text(json.dumps(cluster))
    (root / "syntax_plugin.py").write_text("def broken(:\n")
    (root / "raising_plugin.py").write_text("raise RuntimeError('boom')\n")
    (root / "inf.csv").write_text("instance,optimum\ntiny3,1e999\n")
    (root / "latin1.csv").write_bytes(b"instance,optimum\ntiny3\xe9,5\n")
    (root / "types.toml").write_text('instances = 5\nmethods = ["rule:edd"]\ntime_limit = 1\n')
    (root / "methods.toml").write_text(f'instances = ["{SMTT}"]\nmethods = [1]\ntime_limit = 1\n')
    (root / "options.toml").write_text(
        f'instances = ["{SMTT}"]\ntime_limit = 1\n[[method]]\nspec = "ils:mddc"\noptions = 3\n'
    )
    (root / "empty").mkdir()
    other = sqlite3.connect(root / "other.sqlite")
    other.execute("CREATE TABLE t (x)")
    other.commit()
    other.close()
    return {p.name: str(p) for p in root.iterdir()} | {"root": str(root)}


def _bench(*args: str) -> list[str]:
    return ["bench", SMTT, "-m", "rule:edd", "-t", "1", *args]


# (arguments, a word the message must hold); {name} is a file of the fixture.
CASES = [
    (["solve", "missing.txt", "-m", "rule:edd"], "no such file"),
    (["solve", "{dir.fjs}", "-m", "rule:edd"], "folder"),
    (["solve", "{binary.jsonl}", "-m", "rule:edd"], "not UTF-8"),
    (["solve", "{nan.jsonl}", "-m", "rule:edd"], "NaN"),
    (["solve", "{huge.txt}", "-m", "rule:edd"], "too large"),
    (["solve", "{huge.json}", "-m", "rule:edd"], "outside"),
    (["solve", "{nul.txt}", "-m", "rule:edd"], "binary"),
    (["solve", "{nojob.json}", "-m", "rule:edd"], "missing"),
    (["solve", "{huge.sm}", "-m", "rule:lft"], "outside"),
    (["solve", "{nospec.json}", "-m", "kube"], "spec is missing"),
    (["solve", "{hugecpu.json}", "-m", "kube"], "larger than"),
    (["solve", "{nouid.json}", "-m", "kube"], "uid"),
    (["solve", "{nancpu.json}", "-m", "kube"], "req_cpu_m"),
    (["solve", "{nopods.json}", "-m", "kube"], "'pods' must be a list"),
    (["solve", "{deep.yaml}", "-m", "kube"], "nested too deeply"),
    (["solve", "{labels.json}", "-m", "kube"], "expected an object"),
    (["solve", "/dev/zero", "-m", "rule:edd"], "pipe or a device"),
    (["solve", SMTT, "-m", "rule:edd", "--seed", "-1"], "seed"),
    (["solve", SMTT, "-m", "rule:edd", "--seed", str(2**70)], "seed"),
    (["solve", SMTT, "-m", "rule:edd", "-t", "0"], "time_limit"),
    (["solve", SMTT, "-m", "rule:edd", "-t", "-1"], "time_limit"),
    (["solve", SMTT, "-m", "rule:edd", "-t", "nan"], "time_limit"),
    (["solve", SMTT, "-m", "rule:edd", "-t", "abc"], "time-limit"),
    (["solve", SMTT, "-m", "rule:edd", "--threads", "0"], "threads"),
    (["solve", SMTT, "-m", "cp", "--threads", "100000", "-t", "1"], "from 1 to 1024"),
    (["solve", SMTT, "-m", "ils:mddc?stall=99999999999999999999"], "outside"),
    (["solve", SMTT, "-m", "rule:edd", "--gantt", "{root}/nowhere/g.png"], "does not exist"),
    (["solve", SMTT, "-m", "rule:edd", "--gantt", "{root}/g.xyz"], "extension"),
    (["solve", SMTT, "-m", "rule:edd", "--gantt", "{empty}"], "extension"),
    (["solve", SMTT, "-m", "rule:edd", "--time", "3"], "--help"),
    (["solve", SMTT, "-m", "rule:nope"], "available:"),
    (["solve", SMTT, "-m", "ils:mddc?stall=abc"], "stall must be an integer or None"),
    (["solve", SMTT, "-m", "ils:mddc?stall=1.5"], "stall"),
    (["solve", SMTT, "-m", "ils:mddc?stall=3", "-o", "stall=4"], "twice"),
    (["solve", SMTT, "-m", "ils:mddc?stal=3"], "stal"),
    (["solve", SMTT, "-m", "rule:edd?k"], "name=value"),
    (["solve", SMTT, "-m", "rule:edd", "-o", "k=nan"], "k must be"),
    (["solve", SMTT, "-m", "rule:edd", "--index", "0"], "1-based"),
    (["solve", SMTT, "-m", "rule:edd", "--format", "nope"], "unknown format"),
    (_bench("-t", "0"), "--time-limit must be"),
    (_bench("-t", "inf"), "--time-limit must be"),
    (_bench("--grace", "-5"), "--grace"),
    (_bench("--grace", "nan"), "--grace"),
    (_bench("--seeds", "-1"), "seed"),
    (_bench("--seeds", str(2**70)), "seed"),
    (_bench("--seeds", "a,b"), "seeds"),
    (_bench("--jobs", "0"), "--jobs"),
    (_bench("-o", "{taken.txt}"), "is a file"),
    (_bench("--export", "{root}/x.txt"), ".csv or .parquet"),
    (_bench("--executor", "nope"), "executor"),
    (_bench("-m", "ils:mddc?stall=x"), "stall"),
    (_bench("-m", "ils:mddc?seed=3"), "seed"),
    (_bench("--reference", "{inf.csv}"), "finite"),
    (_bench("--reference", "{latin1.csv}"), "not UTF-8"),
    (["bench", "{types.toml}"], "instances must be text"),
    (["bench", "{methods.toml}"], "methods must be text"),
    (["bench", "{options.toml}"], "options must be a table"),
    (_bench("-m", "cp?threads=0"), "threads must be"),
    (_bench("-m", "ils:mddc?stall=99999999999999999999"), "outside"),
    (_bench("--plugin", "{syntax_plugin.py}"), "SyntaxError"),
    (_bench("--plugin", "{raising_plugin.py}"), "RuntimeError: boom"),
    (_bench("--plugin", "no_such_module_here"), "no module named"),
    (["bench", SMTT, "-t", "1"], "--method"),
    (["bench", SMTT, "-m", "rule:edd"], "--time-limit"),
    (["bench", "{root}/none/*.txt", "-m", "rule:edd", "-t", "1"], "no such file"),
    (["report", "{root}/nothing-here"], "no benchmark database"),
    (["report", "{root}", "--html", "{root}/r.pdf"], "unknown extension"),
    (["report", "{root}", "--markdown", "{taken.txt}/r.md"], "is a file"),
    (["solve", SMTT, "-m", "rule:edd", "--gantt", "{taken.txt}/g.png"], "is a file"),
    (["generate", "smtt", "--out", "{taken.txt}"], "is a file"),
    (["discover", "smtt", "--generations", "1", "--out", "{taken.txt}"], "is a file"),
    (["datasets", "export", "orlib:wt40", "{taken.txt}"], "is a file"),
    (["generate", "smtt", "--count", "0"], "--count"),
    (["generate", "smtt", "--seed", "-1", "--out", "{root}/gen"], "--seed"),
    (["discover", "smtt", "--cpu-seconds", "-1", "--out", "{root}/d"], "cpu-seconds"),
    (["discover", "smtt", "--seed", "-1", "--out", "{root}/d"], "seed"),
    (["discover", "smtt", "--jobs", "0", "--out", "{root}/d"], "jobs"),
    (["generate", "smtt", "--jobz", "3"], "jobz"),
    (["generate", "smtt", "--jobs", "1000000000", "--out", "{root}/gen"], "jobs = 1000000000"),
    (["generate", "rcpsp", "--jobs", "100000", "--out", "{root}/gen"], "jobs = 100000"),
    (["generate", "pods", "--nodes", "10000", "--pods-per-node", "1000", "--out", "{root}/g"], "x"),
    (["methods", "nope"], "unknown problem"),
    (["warmup", "nope"], "unknown problem"),
]


@pytest.mark.parametrize(("args", "word"), CASES, ids=[" ".join(c[0])[-60:] for c in CASES])
def test_bad_command_line_gives_one_error_line(args, word, files, monkeypatch, capsys):
    argv = [re.sub(r"\{([^}]+)\}", lambda m: files[m.group(1)], a) for a in args]
    monkeypatch.setattr(sys, "argv", ["schedforge", *argv])
    monkeypatch.chdir(files["root"])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code not in (0, None)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err
    assert word in " ".join(err.split()), err
    for numpy_word in ("<U", "np.", "numpy", "type object", "dtype"):
        assert numpy_word not in err, err


def _run(args, monkeypatch, capsys, root) -> tuple[int | None, str, str]:
    monkeypatch.setattr(sys, "argv", ["schedforge", *args])
    monkeypatch.chdir(root)
    code = 0
    try:
        cli.main()
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_an_unknown_flag_suggests_no_unrelated_flag(files, monkeypatch, capsys):
    code, _, err = _run(
        ["solve", SMTT, "-m", "rule:edd", "--tim", "3"], monkeypatch, capsys, files["root"]
    )
    assert code not in (0, None)
    assert "--tim" in err and "--help" in err
    assert "--format" not in err and "Did you mean" not in err


def test_a_none_option_works_from_solve(files, monkeypatch, capsys):
    """The documented ``stall=None`` spelling runs from the command line."""
    args = ["solve", SMTT, "-m", "ils:mddc?stall=None", "-t", "0.2", "--json"]
    code, out, err = _run(args, monkeypatch, capsys, files["root"])
    assert code in (0, None), err
    result = json.loads(out)
    assert result["status"] in ("OPTIMAL", "FEASIBLE")
    assert result["method"].startswith("ils:mddc")


def test_bench_checks_method_options_before_the_first_run(files, tmp_path, monkeypatch, capsys):
    """A bad option of the second method stops bench before the first method runs."""
    out = tmp_path / "runs"
    args = ["bench", SMTT, "-m", "rule:edd", "-m", "ils:mddc?stall=x", "-t", "1", "-o", str(out)]
    code, _, err = _run(args, monkeypatch, capsys, files["root"])
    assert code not in (0, None)
    assert "stall" in err and "Traceback" not in err
    assert not (out / "results.sqlite").exists()
