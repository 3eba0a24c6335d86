"""Hostile candidates: each is contained and recorded, and the next one scores as on a fresh worker."""

from __future__ import annotations

import builtins
import contextlib
import json
import math
import os
import threading
import time

import numpy as np
import pytest

import schedforge as sf
from schedforge.core.errors import SchedforgeError
from schedforge.discovery import sandbox
from schedforge.discovery.export import heuristics_dir
from schedforge.discovery.guard import ReadOnlyModule, SharedState
from schedforge.discovery.sandbox import (
    CandidateRejected,
    Limits,
    LineReader,
    SandboxPool,
    check_code,
    load_function,
    normalised_hash,
    serve_job,
)

SIG = "def priority(p, d, w, t, rem):\n"

# Stores into shared objects, by every route we know: each fails the static check.
STORES = {
    "np_argmin": "    np.argmin = np.argmax\n",
    "np_ones": "    np.ones = np.zeros\n",
    "math_sqrt": "    math.sqrt = math.floor\n",
    "tuple_target": "    np.maximum, x = np.minimum, 1\n",
    "for_target": "    for np.e in range(3):\n        pass\n",
    "aug_attribute": "    np.pi += 1.0\n",
    "setattr": "    setattr(np, 'argmin', np.argmax)\n",
    "getattr": "    f = getattr(np, 'argmin')\n",
    "module_dict": "    np.__dict__['argmin'] = np.argmax\n",
    "class_walk": "    x = np.argmin.__class__\n",
    "globals": "    globals()['np'] = 1\n",
    "builtins_dict": "    __builtins__['len'] = max\n",
    "alias_module": "    m = np\n    m.argmin = np.argmax\n",
    "module_in_list": "    [np][0].argmin = np.argmax\n",
    "function_attribute": "    np.argmin.cache = 1\n",
    "builtin_attribute": "    abs.x = 1\n",
    "subscript_module": "    np.e[0] = 1.0\n",
    "argument_write": "    d[0] = -1e9\n",
    "argument_slice": "    p[:] = 0.0\n",
    "array_attribute": "    p.shape = (1,)\n",
    "out_keyword": "    np.maximum(d, p, out=d)\n",
    "kwargs": "    np.maximum(d, p, **{})\n",
    "shadow_builtin": "    len = max\n",
}


@pytest.mark.parametrize("name", sorted(STORES))
def test_stores_into_shared_objects_fail_the_static_check(name, smtt_template):
    with pytest.raises(CandidateRejected):
        check_code(SIG + STORES[name] + "    return d * 1.0\n", smtt_template)


def test_local_arrays_may_be_written(smtt_template):
    check_code(
        SIG
        + "    x = np.zeros_like(p)\n    x[0] = 1.0\n    x[1:] += p[1:]\n"
        + "    q = p.copy()\n    q[0] = 2.0\n    p = p.copy()\n    p[0] = 3.0\n"
        + "    return x + q + p\n",
        smtt_template,
    )


def test_candidates_get_read_only_allow_listed_modules(smtt_template):
    func = load_function(smtt_template.seeds["mdd"], smtt_template)
    fake_np, fake_math = func.__globals__["np"], func.__globals__["math"]
    assert isinstance(fake_np, ReadOnlyModule) and fake_np is not np
    assert isinstance(fake_math, ReadOnlyModule) and fake_math is not math
    assert fake_np.maximum is np.maximum and fake_math.sqrt is math.sqrt
    assert not hasattr(fake_np, "load") and not hasattr(fake_np, "random")
    with pytest.raises(AttributeError, match="read-only"):
        fake_np.maximum = np.minimum
    with pytest.raises(AttributeError, match="read-only"):
        del fake_math.sqrt
    # Each candidate has its own globals: nothing carries over from one to the next.
    other = load_function(smtt_template.seeds["mdd"], smtt_template)
    assert other.__globals__["np"] is not fake_np
    assert other.__globals__["__builtins__"] is not func.__globals__["__builtins__"]


def _scores(pool, codes, set_name="train"):
    out = []
    for code in codes:
        ev = pool.evaluate(code, set_name)
        out.append((ev.verdict, ev.objectives, ev.gaps))
    return out


# Pass the static check, then try to leave a trace at run time: writes into
# aliases of the arguments, out-of-range indices, huge values.
RUNTIME = {
    "alias_write": (
        SIG + "    a = d\n    a[0] = -1e9\n    b = p\n    b[:] = 1.0\n    return d * 1.0\n",
        {"ok"},
    ),
    "index_out_of_range_write": (
        SIG + "    x = np.zeros(3)\n    x[100000] = 1.0\n    return d * 1.0\n",
        {"error"},
    ),
    "index_out_of_range_read": (SIG + "    return d * 0.0 + d[len(d) + 1000]\n", {"error"}),
    "negative_index_far": (
        SIG + "    x = np.zeros(3)\n    x[-100000] = 1.0\n    return d\n",
        {"error"},
    ),
}


@pytest.mark.parametrize("engine", ["python", "numba"])
def test_hostile_candidates_leave_no_trace_on_their_worker(engine, smtt_template, quick_sets):
    seeds = list(smtt_template.seeds.values())
    limits = Limits(cpu_seconds=10.0, wall_seconds=60.0, memory_mb=512)
    sets = {"train": quick_sets["train"]}
    with SandboxPool(smtt_template, sets, limits=limits, engine=engine) as fresh:
        expected = _scores(fresh, seeds)
    hostile = [SIG + body + "    return d * 1.0\n" for body in STORES.values()]
    hostile += [code for code, _ in RUNTIME.values()]
    with SandboxPool(smtt_template, sets, limits=limits, engine=engine) as pool:
        results = pool.evaluate_many(hostile)
        for code, ev in zip(hostile, results, strict=True):
            assert ev.verdict in ("rejected", "ok", "error"), (code, ev.verdict, ev.message)
            assert ev.verdict == "ok" or ev.message
        for name, (code, verdicts) in RUNTIME.items():
            ev = results[hostile.index(code)]
            assert ev.verdict in verdicts, (name, ev.verdict, ev.message)
            if ev.verdict == "error":
                assert "IndexError" in ev.message, (name, ev.message)
                if engine == "numba":
                    assert ev.engine == "numba", (name, ev.numba_error)
        # The same worker (no restart) scores the seeds exactly as a fresh one.
        assert pool.restarts == 0
        assert _scores(pool, seeds) == expected
        assert all(v == "ok" for v, _, _ in expected)


def _poison(code):
    """Run ``code`` with the real modules, as if the static check had a hole."""
    namespace = {"np": np, "math": math, "__builtins__": builtins}
    exec(code, namespace)
    return namespace


def test_worker_detects_changed_shared_state_and_leaves(smtt_template, quick_sets, monkeypatch):
    # Simulate a hole in the allow-list and in the read-only namespaces: the
    # candidate gets the real modules. The worker's check must still catch it.
    encoded = {"train": [smtt_template.encode(i) for i in quick_sets["train"].instances]}
    state = SharedState({"instance data": sandbox._digest(encoded)})
    monkeypatch.setattr(sandbox, "check_code", lambda code, template: __import__("ast").parse(code))
    monkeypatch.setattr(
        sandbox, "candidate_globals", lambda: {"np": np, "math": math, "__builtins__": builtins}
    )
    job = {"set": "train", "engine": "python", "numba_threshold": 10**9}
    cases = {
        "np.argmin": SIG + "    np.argmin = np.argmax\n    return d * 1.0\n",
        "math.sqrt": SIG + "    math.sqrt = math.floor\n    return d * 1.0\n",
        "builtins.len": SIG + "    __builtins__.len = max\n    return d * 1.0\n",
        "np.ones": SIG + "    np.ones = np.zeros\n    return d * 1.0\n",
    }
    try:
        for name, code in cases.items():
            text, leave = serve_job({**job, "code": code}, smtt_template, encoded, state)
            reply = json.loads(text)
            assert leave and reply["verdict"] == "tampered", (name, reply)
            assert name in reply["message"]
            state.restore()
            assert not state.changes()
        # Instance data changed in place is caught too.
        encoded["train"][0]["d"][0] += 1.0
        text, leave = serve_job(
            {**job, "code": smtt_template.seeds["edd"]}, smtt_template, encoded, state
        )
        assert leave and "instance data" in json.loads(text)["message"]
    finally:
        state.restore()
    assert np.argmin is state.attributes["np"]["argmin"] and len([1, 2]) == 2


def test_a_huge_result_does_not_hold_the_parent(smtt_template, quick_sets):
    limits = Limits(cpu_seconds=20.0, wall_seconds=60.0, memory_mb=1024)
    code = SIG + "    return 'x' * 60000000\n"
    with SandboxPool(smtt_template, {"train": quick_sets["train"]}, limits=limits) as pool:
        start = time.perf_counter()
        ev = pool.evaluate(code)
        assert ev.verdict in ("invalid_output", "error") and len(ev.message) <= 500
        assert time.perf_counter() - start < 30
        assert pool.evaluate(smtt_template.seeds["edd"]).ok


def test_the_parent_reads_long_lines_in_linear_time_and_stops_at_the_limit():
    read_fd, write_fd = os.pipe()
    payload = b"y" * (20 << 20) + b"\nnext\n" + b"z" * (3 << 20)

    def writer():
        with contextlib.suppress(BrokenPipeError), os.fdopen(write_fd, "wb") as fh:
            fh.write(payload)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        reader = LineReader(read_fd, limit=64 << 20)
        start = time.perf_counter()
        assert len(reader.read_line(30.0)) == 20 << 20
        assert time.perf_counter() - start < 5  # quadratic reading took minutes
        assert reader.read_line(5.0) == b"next"
        small = LineReader(read_fd, limit=1 << 20)
        assert small.read_line(5.0) is None and small.oversized
    finally:
        os.close(read_fd)  # the writer, blocked on a full pipe, stops
        thread.join()


@pytest.mark.skipif(os.geteuid() != 0, reason="only a worker started as root changes user")
def test_a_worker_started_as_root_runs_candidates_as_nobody(smtt_template, quick_sets):
    with SandboxPool(smtt_template, {"train": quick_sets["train"]}) as pool:
        assert pool.evaluate(smtt_template.seeds["edd"]).ok
        worker = pool._workers[0]
        with open(f"/proc/{worker.proc.pid}/status", encoding="ascii") as fh:
            uid_line = next(line for line in fh if line.startswith("Uid:"))
        assert set(uid_line.split()[1:]) != {"0"} and "0" not in uid_line.split()[1:]
        assert worker.user == "nobody"
        assert "RLIMIT_NPROC" in worker.limits_applied


def _write_record(name, code, smtt_template):
    record = {
        "name": name,
        "problem": "smtt",
        "function": "priority",
        "code": code,
        "hash": normalised_hash(code, smtt_template),
        "gaps": {"train": 0.0, "validation": 0.0, "holdout": 0.0},
        "source": {},
    }
    path = heuristics_dir("smtt") / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))


def test_an_exported_poisoned_heuristic_is_refused(smtt_template):
    inst = sf.generate("smtt", jobs=25, tf=0.6, rdd=0.4, seed=4)
    before = sf.solve(inst, "rule:mddc")
    _write_record(
        "poisoned", SIG + "    np.maximum = np.minimum\n    return d * 1.0\n", smtt_template
    )
    with pytest.raises(SchedforgeError, match="fails the sandbox check"):
        sf.solve(inst, "heuristic:poisoned")
    assert isinstance(np.maximum, np.ufunc) and np.maximum.__name__ == "maximum"
    after = sf.solve(inst, "rule:mddc")
    assert after.objective == before.objective
    assert np.maximum(1, 2) == 2


def test_the_host_undoes_a_change_of_shared_state(smtt_template, monkeypatch):
    # As above, simulate holes in the static check and the namespaces.
    inst = sf.generate("smtt", jobs=25, tf=0.6, rdd=0.4, seed=4)
    before = sf.solve(inst, "rule:mddc")
    real_maximum = np.maximum
    code = SIG + "    np.maximum = np.minimum\n    return d * 1.0\n"
    _write_record("sneaky", code, smtt_template)
    monkeypatch.setattr(sandbox, "check_code", lambda code, template: __import__("ast").parse(code))
    monkeypatch.setattr(
        sandbox, "candidate_globals", lambda: {"np": np, "math": math, "__builtins__": builtins}
    )
    try:
        with pytest.raises(SchedforgeError, match=r"changed shared state \(np.maximum\)"):
            sf.solve(inst, "heuristic:sneaky")
    finally:
        np.maximum = real_maximum  # only needed if the host failed to undo it
    monkeypatch.undo()
    assert sf.solve(inst, "rule:mddc").objective == before.objective


def test_exported_heuristics_are_bounds_checked(smtt_template):
    inst = sf.generate("smtt", jobs=25, tf=0.6, rdd=0.4, seed=4)
    _write_record("oob", RUNTIME["index_out_of_range_write"][0], smtt_template)
    with pytest.raises(SchedforgeError, match="IndexError"):
        sf.solve(inst, "heuristic:oob")


def test_the_loop_records_each_hostile_candidate_and_scores_the_next_as_fresh(
    tmp_path, smtt_template, quick_sets
):
    from schedforge.discovery.evolve import DiscoveryConfig, Evolution

    good = SIG + "    return np.maximum(d, t + 1.1 * p)\n"
    hostile = [SIG + STORES[name] + "    return d * 1.0\n" for name in sorted(STORES)[:6]]
    hostile += [RUNTIME["alias_write"][0], RUNTIME["index_out_of_range_write"][0]]
    hostile.append(SIG + "    return 'x' * 60000000\n")
    path = tmp_path / "answers.jsonl"
    path.write_text("\n".join(json.dumps({"response": a}) for a in [*hostile, good]) + "\n")
    config = DiscoveryConfig(
        problem="smtt",
        sets="quick",
        proposer="replay",
        replay=str(path),
        generations=1,
        offspring=len(hostile) + 1,
        islands=1,
        jobs=1,  # one worker sees every candidate
        memory_mb=1024,
    )
    evo = Evolution(tmp_path / "run", config)
    try:
        evo.run()
        rows = [c for c in evo.archive.candidates() if c["generation"] == 1]
    finally:
        evo.close()
    verdicts = [r["verdict"] for r in rows]
    assert verdicts[:6] == ["rejected"] * 6
    assert verdicts[6:] == ["ok", "error", "invalid_output", "ok"]
    assert all(r["message"] and len(r["message"]) <= 500 for r in rows if r["verdict"] != "ok")
    with SandboxPool(smtt_template, {"train": quick_sets["train"]}) as fresh:
        expected = fresh.evaluate(good)
    assert rows[-1]["train_objectives"] == expected.objectives
