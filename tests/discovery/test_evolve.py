"""The evolution loop end to end: gp, replay, openai; budgets; determinism; crash and resume."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter

import pytest

from schedforge.core.errors import SchedforgeError
from schedforge.discovery.archive import Archive
from schedforge.discovery.evolve import DiscoveryConfig, Evolution, best_candidate

from .chat_server import ChatServer
from .test_sandbox import HOSTILE, SIG

QUICK = dict(problem="smtt", sets="quick", offspring=4, islands=2, population=3)


def _run(tmp_path, name, **kw):
    config = DiscoveryConfig(**{**QUICK, **kw})
    evo = Evolution(tmp_path / name, config)
    try:
        summary = evo.run()
        return summary, evo.archive.dump(), evo.archive.candidates(), evo.archive.generations()
    finally:
        evo.close()


def test_gp_loop_is_reproducible(tmp_path):
    s1, dump1, cands, gens = _run(tmp_path, "a", proposer="gp", generations=3, migration_every=1)
    _, dump2, _, _ = _run(tmp_path, "b", proposer="gp", generations=3, migration_every=1)
    assert dump1 == dump2
    assert s1["stop_reason"] == "3 generations done"
    assert [g["generation"] for g in gens] == [0, 1, 2, 3]
    # Best train gap never gets worse; it is the best accepted candidate's.
    best = [g["best_train_gap"] for g in gens]
    assert best == sorted(best, reverse=True)
    ok = [c for c in cands if c["verdict"] == "ok"]
    assert min(c["train_gap"] for c in ok) == pytest.approx(best[-1])
    assert all(len(c["train_gaps"]) == 6 for c in ok)
    assert {c["operator"] for c in cands} - {"seed"} <= {"new", "crossover", "mutation", "tune"}
    assert gens[-1]["best_validation_gap"] is not None
    # A different seed explores differently.
    _, dump3, _, _ = _run(tmp_path, "c", proposer="gp", generations=3, seed=5)
    assert dump3 != dump1


def test_replay_loop_survives_hostile_candidates(tmp_path, smtt_template):
    good = SIG + "    return np.maximum(d, t + 1.1 * p)\n"
    # The whole battery is in test_sandbox; here a sample of each kind, to show
    # that the loop records the rejection and carries on.
    hostile = ["infinite_loop", "memory_bomb", "nan", "wrong_shape", "fork", "subclasses"]
    answers = [HOSTILE[name] for name in hostile] + [good, "no code at all", good]
    path = tmp_path / "answers.jsonl"
    path.write_text("\n".join(json.dumps({"response": a}) for a in answers) + "\n")
    summary, _, cands, _ = _run(
        tmp_path,
        "r",
        proposer="replay",
        replay=str(path),
        generations=10,
        jobs=2,
        cpu_seconds=1.0,
        wall_seconds=5.0,
        memory_mb=256,
    )
    assert summary["stop_reason"] == "replay exhausted"
    proposed = [c for c in cands if c["operator"] != "seed"]
    assert len(proposed) == len(answers)
    verdicts = Counter(c["verdict"] for c in proposed)
    assert verdicts["ok"] == 1 and verdicts["duplicate"] == 1 and verdicts["no_code"] == 1
    assert verdicts["rejected"] == 2 and verdicts["invalid_output"] == 2
    assert verdicts["error"] == 1 and verdicts["cpu_limit"] + verdicts["timeout"] == 1
    assert all(c["message"] for c in proposed if c["verdict"] != "ok")
    archive = Archive(tmp_path / "r" / "archive.sqlite")
    sandbox = archive.get_meta("sandbox")
    archive.close()
    assert "RLIMIT_AS" in sandbox["limits"] and sandbox["network_isolated"] in (True, False)
    # The rejections are what the next generation's prompts show the model.
    evo = Evolution(tmp_path / "r")
    try:
        last = evo.archive.last_generation()
        plan = evo._plan(last + 1, evo.archive.population(last))
    finally:
        evo.close()
    feedback = plan[0][1].feedback
    assert feedback and all(": " in line for line in feedback)
    assert any(v in " ".join(feedback) for v in ("rejected", "invalid_output", "error"))


def test_openai_loop_counts_tokens_and_stops_on_budget(tmp_path):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"counter": {"input": 1.0, "output": 2.0}}))
    with ChatServer() as server:
        summary, _, cands, gens = _run(
            tmp_path,
            "o",
            proposer="openai",
            model="counter",
            base_url=server.base_url,
            prices=str(prices),
            generations=5,
            budget_tokens=600,
        )
        # Feedback and parents reach the prompt of later requests.
        assert "mean gap to the optimum" in server.requests[-1]["messages"][1]["content"]
    proposed = [c for c in cands if c["operator"] != "seed"]
    assert summary["stop_reason"] == "token budget (600) reached"
    assert len(proposed) == 5  # 120 tokens each: the sixth would start past 600
    assert sum(c["prompt_tokens"] + c["completion_tokens"] for c in proposed) == 600
    assert gens[-1]["cost"] == pytest.approx(5 * (100 * 1.0 + 20 * 2.0) / 1e6)
    assert all(c["prompt"] and c["response"] and c["model"] == "counter" for c in proposed)


def test_openai_calls_in_parallel_keep_request_order(tmp_path):
    with ChatServer() as server:
        _, _, cands, _ = _run(
            tmp_path,
            "p",
            proposer="openai",
            model="counter",
            base_url=server.base_url,
            generations=2,
            jobs=2,
        )
        calls = server.calls["counter"]
    proposed = [c for c in cands if c["operator"] != "seed"]
    assert calls == len(proposed) == 8
    assert [(c["generation"], c["idx"]) for c in proposed] == [
        (g, i) for g in (1, 2) for i in range(4)
    ]
    assert sum(c["prompt_tokens"] + c["completion_tokens"] for c in proposed) == 8 * 120


def test_evaluation_budget_and_plain_population(tmp_path):
    summary, _, _, _ = _run(
        tmp_path, "e", proposer="gp", generations=50, islands=1, budget_evaluations=12
    )
    assert summary["stop_reason"] == "evaluation budget (12) reached"
    assert summary["evaluations"] <= 12 + 4 + 3  # at most one generation's overshoot


def test_config_mismatch_and_missing_run(tmp_path):
    _run(tmp_path, "m", proposer="gp", generations=0)
    with pytest.raises(SchedforgeError, match="different run"):
        Evolution(tmp_path / "m", DiscoveryConfig(**{**QUICK, "seed": 9}))
    with pytest.raises(SchedforgeError, match="no discovery run to resume"):
        Evolution(tmp_path / "nothing")
    with pytest.raises(SchedforgeError, match="unknown proposer"):
        DiscoveryConfig(problem="smtt", proposer="llm")
    # Bad problems and proposers fail before anything is written.
    with pytest.raises(SchedforgeError, match="no discovery template for 'tsp'"):
        Evolution(tmp_path / "bad", DiscoveryConfig(problem="tsp"))
    with pytest.raises(SchedforgeError, match="needs --replay"):
        Evolution(tmp_path / "bad", DiscoveryConfig(problem="smtt", proposer="replay"))
    assert not (tmp_path / "bad").exists()


def test_time_budget(tmp_path):
    summary, _, cands, _ = _run(tmp_path, "t", proposer="gp", generations=5, budget_seconds=1e-3)
    assert summary["stop_reason"] == "time budget (0.001 s) reached"
    assert all(c["generation"] == 0 for c in cands)


def _slow_answers(path, count):
    lines = []
    for k in range(count):
        code = (
            SIG
            + "    s = 0.0\n    for i in range(30000):\n        s += 1.0\n"
            + f"    return np.maximum(d, t + p * {1 + k / 50})\n"
        )
        lines.append(json.dumps({"response": code, "prompt_tokens": 10, "completion_tokens": 5}))
    path.write_text("\n".join(lines) + "\n")


def _cli(*args):
    return [sys.executable, "-m", "schedforge.cli", *args]


def _evaluated(db):
    if not db.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return con.execute(
                "SELECT COUNT(*) FROM candidates WHERE generation >= 1 AND status = 'evaluated'"
            ).fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def test_kill_9_then_resume_equals_uninterrupted_run(tmp_path):
    answers = tmp_path / "slow.jsonl"
    _slow_answers(answers, 12)
    common = ["smtt", "--proposer", "replay", "--replay", str(answers), "--sets", "quick"]
    common += ["--generations", "3", "--offspring", "4", "--no-export"]
    env = {**os.environ, "SCHEDFORGE_HOME": str(tmp_path / "home")}
    full = subprocess.Popen(
        _cli("discover", *common, "--out", str(tmp_path / "full")),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    victim = subprocess.Popen(
        _cli("discover", *common, "--out", str(tmp_path / "killed")),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    db = tmp_path / "killed" / "archive.sqlite"
    deadline = time.monotonic() + 60
    while _evaluated(db) < 5 and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert victim.poll() is None, "the run finished before it could be killed"
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    done_before = _evaluated(db)
    assert 5 <= done_before < 12
    resumed = subprocess.run(
        _cli("discover", "--resume", str(tmp_path / "killed"), "--no-export"),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert full.wait(timeout=120) == 0, full.stderr.read()
    killed = Archive(db)
    uninterrupted = Archive(tmp_path / "full" / "archive.sqlite")
    try:
        assert killed.dump() == uninterrupted.dump()
        assert len(killed.candidates("generation >= 1")) == 12
        assert best_candidate(killed)["id"] == best_candidate(uninterrupted)["id"]
    finally:
        killed.close()
        uninterrupted.close()
    assert (tmp_path / "killed" / "convergence.png").exists()


def test_options_are_stored_and_restored_on_resume(tmp_path, private_home):
    from typer.testing import CliRunner

    from schedforge.cli import app

    runner = CliRunner()
    out = tmp_path / "run"
    with ChatServer() as server:
        first = runner.invoke(
            app,
            [
                *("discover", "smtt", "--proposer", "openai", "--model", "mixed"),
                *("--base-url", server.base_url, "--sets", "quick", "--generations", "1"),
                *("--offspring", "3", "--max-tokens", "77", "--name", "kept", "--no-export"),
                *("--out", str(out)),
            ],
        )
        assert first.exit_code == 0, first.output
        assert not (private_home / "heuristics" / "smtt" / "kept.json").exists()
        # One line per generation with what became of the proposals.
        assert "proposed 3  rejected 1  error 0  timeout 0  ok 1  improved " in first.output
        assert "no code 1" in first.output
        assert "most common rejection (1x): np.random.rand is not allowed" in first.output
        # --name, --max-tokens, the endpoint and the rest come back on --resume.
        more = runner.invoke(
            app, ["discover", "--resume", str(out), "--generations", "2", "--export"]
        )
        assert more.exit_code == 0, more.output
        assert "exported heuristic:kept" in more.output
        assert server.requests[-1]["max_tokens"] == 77
    fixed = runner.invoke(app, ["discover", "--resume", str(out), "--offspring", "5"])
    assert fixed.exit_code != 0
    assert "--offspring: stored in the run and fixed when it is resumed" in str(fixed.exception)
