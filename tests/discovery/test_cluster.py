"""Evaluations on a Dask cluster: same scores as locally; a killed Dask worker loses nothing."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import distributed
import pytest

from schedforge.discovery.cluster import ClusterPool
from schedforge.discovery.evolve import DiscoveryConfig, Evolution
from schedforge.discovery.sandbox import SandboxPool

from .test_sandbox import SIG


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=40,
    ) as local:
        yield local


def test_cluster_scores_equal_local_scores(cluster, smtt_template, quick_sets):
    codes = [*smtt_template.seeds.values(), SIG + "    return np.random.rand(3)\n"]
    sets = {"train": quick_sets["train"]}
    with SandboxPool(smtt_template, sets) as local:
        expected = [(e.verdict, e.objectives, e.gaps) for e in local.evaluate_many(codes)]
    with ClusterPool(cluster.scheduler_address, smtt_template, sets) as pool:
        assert pool.jobs == 2  # the cluster's threads
        got = [(e.verdict, e.objectives, e.gaps) for e in pool.evaluate_many(codes)]
    assert got == expected
    assert [v for v, _, _ in got] == ["ok"] * len(smtt_template.seeds) + ["rejected"]


def _slow_answers(path, count):
    lines = []
    for k in range(count):
        code = (
            SIG
            + "    s = 0.0\n    for i in range(20000):\n        s += 1.0\n"
            + f"    return np.maximum(d, t + p * {1 + k / 50})\n"
        )
        lines.append(json.dumps({"response": code}))
    path.write_text("\n".join(lines) + "\n")


def _kill_a_busy_worker(client, done: threading.Event, killed: list[str]) -> None:
    """SIGKILL the first Dask worker seen running an evaluation."""
    pids = client.run(os.getpid)
    while not done.is_set():
        for address, keys in client.processing().items():
            if any("run_on_dask_worker" in str(key) for key in keys):
                os.kill(pids[address], signal.SIGKILL)
                killed.append(address)
                return
        time.sleep(0.02)


def test_a_killed_dask_worker_costs_a_re_evaluation_only(cluster, tmp_path):
    answers = tmp_path / "answers.jsonl"
    _slow_answers(answers, 6)
    common = dict(problem="smtt", sets="quick", proposer="replay", replay=str(answers))
    common |= dict(generations=2, offspring=3, islands=1, population=3)
    local = Evolution(tmp_path / "local", DiscoveryConfig(**common))
    try:
        local.run()
        expected = local.archive.dump()
    finally:
        local.close()
    remote = Evolution(
        tmp_path / "remote", DiscoveryConfig(**common, cluster=cluster.scheduler_address)
    )
    done, killed = threading.Event(), []
    with distributed.Client(cluster.scheduler_address) as client:
        killer = threading.Thread(target=_kill_a_busy_worker, args=(client, done, killed))
        killer.start()
        try:
            remote.run()
            got = remote.archive.dump()
            candidates = remote.archive.candidates()
        finally:
            done.set()
            killer.join()
            remote.close()
    assert killed, "no Dask worker was killed"
    # Every candidate once, each with the verdict and scores of the local run.
    assert got == expected
    assert len({(c["generation"], c["idx"]) for c in candidates}) == len(candidates)
    assert all(c["verdict"] in ("ok", "behaviour_duplicate") for c in candidates)
