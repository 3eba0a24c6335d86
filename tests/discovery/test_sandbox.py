"""The sandbox: static allow-list, isolation and limits, hostile candidates, engines."""

from __future__ import annotations

import numpy as np
import pytest

from schedforge.discovery.sandbox import (
    CandidateRejected,
    Limits,
    SandboxPool,
    check_code,
    compile_numba,
    load_function,
    normalised_hash,
    run_candidate,
)
from schedforge.discovery.templates import (
    smtt_dispatch_numba,
    smtt_dispatch_python,
    smtt_optimum,
)

SIG = "def priority(p, d, w, t, rem):\n"

# Each is rejected by the static check, with a message naming the problem.
STATIC_REJECTS = {
    "import_os": ("import os\n" + SIG + "    os.fork()\n    return d\n", "imports"),
    "from_import": ("from os import system\n" + SIG + "    return d\n", "imports"),
    "dunder_import": (SIG + "    m = __import__('os')\n    return d\n", "__import__"),
    "bases_walk": (SIG + "    x = ().__class__.__bases__\n    return d\n", "__bases__"),
    "open_file": (SIG + "    f = open('/etc/passwd')\n    return d\n", "open"),
    "eval": (SIG + "    return eval('d')\n", "eval"),
    "getattr": (SIG + "    return getattr(np, 'load')('x')\n", "getattr"),
    "np_load": (SIG + "    return np.load('/etc/passwd')\n", "np.load"),
    "while_true": (SIG + "    while True:\n        pass\n    return d\n", "while"),
    "recursion": (SIG + "    return priority(p, d, w, t, rem)\n", "recursion"),
    "lambda": (SIG + "    f = lambda x: x\n    return d\n", "lambda"),
    "global": (SIG + "    global np\n    return d\n", "Global"),
    "try": (
        SIG + "    try:\n        x = 1\n    except Exception:\n        x = 2\n    return d\n",
        "Try",
    ),
    "wrong_signature": ("def priority(p, d):\n    return d\n", "signature"),
    "two_functions": (SIG + "    return d\ndef helper(x):\n    return x\n", "exactly one"),
    "no_function": ("x = 1\n", "top level"),
    "syntax": (SIG + "    return (d\n", "syntax"),
    "private_attr": (SIG + "    return d._data\n", "_data"),
    "numpy_random": (SIG + "    return np.random.rand(len(p))\n", "np.random"),
    "assign_np": (SIG + "    np = 1\n    return d\n", "assign"),
    "deep_nesting": (SIG + "    return " + "(" * 5000 + "d" + ")" * 5000 + "\n", "nest"),
}


@pytest.mark.parametrize("name", sorted(STATIC_REJECTS))
def test_static_check_rejects(name, smtt_template):
    code, fragment = STATIC_REJECTS[name]
    with pytest.raises(CandidateRejected, match=None) as info:
        check_code(code, smtt_template)
    assert fragment.lower() in str(info.value).lower()


def test_parser_still_works_after_a_deeply_nested_candidate(smtt_template):
    for _ in range(3):  # CPython 3.11 could be left unable to parse after such input
        with pytest.raises(CandidateRejected):
            check_code(
                SIG + "    return " + "-" * 4000 + "(" * 200 + "d" + ")" * 200, smtt_template
            )
        check_code(SIG + "    return d * 1.0\n", smtt_template)


def test_tolerated_imports_and_seeds_pass(smtt_template):
    for code in smtt_template.seeds.values():
        check_code(code, smtt_template)
    check_code("import numpy as np\nimport math\n" + SIG + "    return d * 1.0\n", smtt_template)
    check_code(
        SIG
        + "    out = np.zeros_like(p)\n"
        + "    for i in range(len(p)):\n"
        + "        out[i] = max(d[i], t + p[i]) if w[i] > 0 else d[i]\n"
        + "    return out\n",
        smtt_template,
    )


def test_normalised_hash_ignores_names_docstrings_and_layout(smtt_template):
    a = SIG + '    """Doc."""\n    slack = d - t  # comment\n    return slack\n'
    b = SIG + "    s=d-t\n    return s\n"
    c = SIG + "    s = d + t\n    return s\n"
    assert normalised_hash(a, smtt_template) == normalised_hash(b, smtt_template)
    assert normalised_hash(a, smtt_template) != normalised_hash(c, smtt_template)


def test_restricted_globals(smtt_template):
    func = load_function(smtt_template.seeds["mdd"], smtt_template)
    assert "open" not in func.__globals__["__builtins__"]
    assert "__import__" not in func.__globals__["__builtins__"]


def test_numba_and_python_skeletons_agree(smtt_template, quick_sets):
    for name, code in smtt_template.seeds.items():
        func = load_function(code, smtt_template)
        compiled, error = compile_numba(func, smtt_template)
        assert error is None, name
        for inst in quick_sets["train"].instances:
            arrays = smtt_template.encode(inst)
            py = smtt_dispatch_python(func, arrays)
            nb = smtt_dispatch_numba(compiled, arrays)
            assert np.array_equal(py, nb), name
            assert sorted(py.tolist()) == list(range(inst.num_jobs))
    # The skeleton really compiled (nopython), once, with a first-class function argument.
    from schedforge.discovery.templates import _kernels

    assert _kernels["smtt"].signatures


def test_numba_failure_falls_back_to_python_and_is_recorded(smtt_template, quick_sets):
    # argsort returns integers: numba refuses the float64 signature; Python accepts it.
    code = SIG + "    return np.argsort(np.argsort(d))\n"
    encoded = [smtt_template.encode(i) for i in quick_sets["train"].instances]
    out = run_candidate(code, smtt_template, encoded, engine="numba")
    assert out["verdict"] == "ok"
    assert out["engine"] == "python" and out["numba_error"]
    seeds = run_candidate(smtt_template.seeds["edd"], smtt_template, encoded, engine="numba")
    assert seeds["engine"] == "numba" and seeds["raw"] == out["raw"]


def test_subset_dp_matches_brute_force():
    import itertools

    rng = np.random.default_rng(5)
    for _ in range(5):
        p = rng.integers(1, 20, 6)
        d = rng.integers(0, 60, 6)
        w = rng.integers(1, 5, 6)
        best = min(
            sum(w[j] * max(0, c - d[j]) for j, c in zip(seq, np.cumsum(p[list(seq)]), strict=True))
            for seq in itertools.permutations(range(6))
        )
        assert smtt_optimum(p, d, w) == best


HOSTILE = {
    "infinite_loop": (
        SIG + "    s = 0\n    for i in range(10**12):\n        s += i\n    return d\n"
    ),
    "memory_bomb": SIG + "    x = np.ones(10**11)\n    return d\n",
    "list_bomb": SIG + "    x = [0] * 10**10\n    return d\n",
    "huge_power": SIG + "    x = 10**10**10\n    return d\n",
    "nan": SIG + "    return d * np.nan\n",
    "inf": SIG + "    return d / 0.0 * 0.0 + float('inf')\n",
    "wrong_shape": SIG + "    return 1.0\n",
    "zero_division": SIG + "    x = 1 // 0\n    return d\n",
    "fork": "import os\n" + SIG + "    os.fork()\n    return d\n",
    "import_dunder": SIG + "    os = __import__('os')\n    return d\n",
    "subclasses": SIG + "    x = ().__class__.__bases__[0].__subclasses__()\n    return d\n",
    "file_access": SIG + "    open('/tmp/x', 'w').write('x')\n    return d\n",
    "recursion": SIG + "    return priority(p, d, w, t, rem)\n",
}
EXPECTED = {
    "infinite_loop": {"cpu_limit", "timeout"},
    "memory_bomb": {"error"},
    "list_bomb": {"error"},
    "huge_power": {"cpu_limit", "timeout"},
    "nan": {"invalid_output"},
    "inf": {"invalid_output"},
    "wrong_shape": {"invalid_output"},
    "zero_division": {"error"},
    "fork": {"rejected"},
    "import_dunder": {"rejected"},
    "subclasses": {"rejected"},
    "file_access": {"rejected"},
    "recursion": {"rejected"},
}


def test_hostile_battery_is_contained(smtt_template, quick_sets):
    limits = Limits(cpu_seconds=1.0, wall_seconds=6.0, memory_mb=256)
    with SandboxPool(smtt_template, quick_sets, limits=limits, jobs=2) as pool:
        names = sorted(HOSTILE)
        results = pool.evaluate_many([HOSTILE[n] for n in names])
        for name, ev in zip(names, results, strict=True):
            assert ev.verdict in EXPECTED[name], (name, ev.verdict, ev.message)
            assert ev.message
        # The pool still works after all that (killed workers were replaced).
        good = pool.evaluate(smtt_template.seeds["mdd"])
        assert good.ok and len(good.gaps) == len(quick_sets["train"])
        assert pool.restarts >= 1
        assert good.network_isolated in (True, False)


def test_wall_clock_limit_kills_the_process_group(smtt_template, quick_sets):
    # CPU limit high, wall limit low: the parent must kill it.
    limits = Limits(cpu_seconds=60.0, wall_seconds=1.0, memory_mb=256)
    with SandboxPool(smtt_template, quick_sets, limits=limits) as pool:
        ev = pool.evaluate(HOSTILE["infinite_loop"])
        assert ev.verdict == "timeout"
        assert ev.seconds < 10
        assert pool.evaluate(smtt_template.seeds["edd"]).ok


def test_worker_has_no_network_and_no_environment(smtt_template, quick_sets, monkeypatch):
    import json
    import pickle
    import struct
    import subprocess
    import sys

    monkeypatch.setenv("OPENAI_API_KEY", "secret-should-not-leak")
    pool = SandboxPool(smtt_template, quick_sets)
    with pool:
        pool.evaluate(smtt_template.seeds["edd"])
        worker = pool._workers[0]
        with open(f"/proc/{worker.proc.pid}/environ", "rb") as fh:
            env = fh.read().decode()
        assert "OPENAI_API_KEY" not in env and "PATH=" not in env
        assert worker.network_isolated in (True, False)
        assert {"RLIMIT_AS", "RLIMIT_FSIZE", "RLIMIT_NPROC"} <= set(worker.limits_applied)
    # The worker exits on its own when its parent goes away (stdin closed).
    proc = subprocess.Popen(
        [sys.executable, "-I", "-m", "schedforge.discovery.sandbox"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    blob = pickle.dumps(
        {
            "template": "smtt",
            "engine": "python",
            "threshold": 10**9,
            "limits": {"cpu_seconds": 5, "memory_mb": 256},
            "sets": {"train": [smtt_template.encode(quick_sets["train"].instances[0])]},
        }
    )
    proc.stdin.write(struct.pack("!I", len(blob)) + blob)
    proc.stdin.flush()
    assert json.loads(proc.stdout.readline())["ready"]
    proc.stdin.close()
    assert proc.wait(timeout=10) == 0
