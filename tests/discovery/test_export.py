"""Export: heuristic:<name> methods, verification on load, the CLI commands."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import schedforge as sf
from schedforge.cli import app
from schedforge.core.errors import SchedforgeError
from schedforge.discovery.evolve import DiscoveryConfig, Evolution
from schedforge.discovery.export import export_candidate, heuristics_dir, list_heuristics
from schedforge.discovery.sandbox import load_function
from schedforge.discovery.templates import smtt_dispatch_python


@pytest.fixture
def run_dir(tmp_path):
    config = DiscoveryConfig(problem="smtt", sets="quick", generations=1, offspring=4)
    evo = Evolution(tmp_path / "run", config)
    try:
        evo.run()
    finally:
        evo.close()
    return tmp_path / "run"


def test_export_registers_a_working_method(run_dir, private_home, smtt_template):
    assert "heuristic:mine" not in sf.methods("smtt")
    record = export_candidate(run_dir, "mine")
    assert (private_home / "heuristics" / "smtt" / "mine.json").exists()
    assert (run_dir / "heuristics" / "mine.json").exists()
    assert record["gaps"]["holdout"] is not None and record["source"]["proposer"] == "gp"
    assert "heuristic:mine" in sf.methods("smtt")
    inst = sf.generate("smtt", jobs=30, tf=0.6, rdd=0.4, seed=2)
    res = sf.solve(inst, "heuristic:mine", seed=1)
    assert res.status.has_solution and res.stats["engine"] == "numba"
    expected = smtt_dispatch_python(
        load_function(record["code"], smtt_template), smtt_template.encode(inst)
    )
    assert np.array_equal(res.solution.sequence, expected)
    assert [h["name"] for h in list_heuristics("smtt")] == ["mine"]


def test_tampered_heuristics_are_refused(run_dir):
    export_candidate(run_dir, "tampered")
    path = heuristics_dir("smtt") / "tampered.json"
    record = json.loads(path.read_text())
    inst = sf.generate("smtt", jobs=10, seed=0)
    record["code"] = record["code"].replace("return", "return 2 * ")
    path.write_text(json.dumps(record))
    with pytest.raises(SchedforgeError, match="does not match its recorded hash"):
        sf.solve(inst, "heuristic:tampered")
    from schedforge.discovery.sandbox import normalised_hash

    record["code"] = "import os\ndef priority(p, d, w, t, rem):\n    return d\n"
    record["hash"] = normalised_hash(record["code"])
    path.write_text(json.dumps(record))
    with pytest.raises(SchedforgeError, match="fails the sandbox check"):
        sf.solve(inst, "heuristic:tampered")


def test_bad_names_and_missing_runs(tmp_path, run_dir):
    with pytest.raises(SchedforgeError, match="invalid heuristic name"):
        export_candidate(run_dir, "Bad-Name")
    with pytest.raises(SchedforgeError, match="not a discovery run"):
        export_candidate(tmp_path / "nope", "x")
    with pytest.raises(SchedforgeError, match="no candidate 999"):
        export_candidate(run_dir, "x", candidate_id=999)


def test_cli_discover_and_heuristics_commands(tmp_path, private_home):
    runner = CliRunner()
    out = tmp_path / "cli-run"
    result = runner.invoke(
        app,
        [
            *("discover", "smtt", "--sets", "quick", "--generations", "1", "--offspring", "3"),
            *("--out", str(out), "--name", "clirule"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "gen   1/1" in result.output and "exported heuristic:clirule" in result.output
    assert (out / "convergence.png").stat().st_size > 0
    listed = runner.invoke(app, ["heuristics", "list"])
    assert "heuristic:clirule" in listed.output
    shown = runner.invoke(app, ["heuristics", "show", "clirule"])
    assert shown.exit_code == 0 and "def priority(" in shown.output
    again = runner.invoke(app, ["heuristics", "export", "second", "--run", str(out)])
    assert again.exit_code == 0 and "exported heuristic:second" in again.output
    # Resume of a finished run with more generations continues it.
    more = runner.invoke(
        app, ["discover", "--resume", str(out), "--generations", "2", "--no-export"]
    )
    assert more.exit_code == 0 and "gen   2/2" in more.output
