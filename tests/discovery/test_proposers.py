"""Proposers: openai against a local chat-completions server, gp, replay; prompts."""

from __future__ import annotations

import json

import pytest

from schedforge.discovery.gp import MAX_DEPTH, GPGenerator, depth, to_code
from schedforge.discovery.prompts import (
    OPERATORS,
    Parent,
    Request,
    build_messages,
    extract_code,
)
from schedforge.discovery.proposers import (
    GPProposer,
    OpenAIProposer,
    ProposerError,
    ReplayProposer,
    load_prices,
)
from schedforge.discovery.sandbox import check_code

from .chat_server import ChatServer


@pytest.fixture(scope="module")
def server():
    with ChatServer() as srv:
        yield srv


def _proposer(template, server, model, **kw):
    sleeps = []
    prop = OpenAIProposer(
        template,
        model=model,
        base_url=server.base_url,
        timeout=kw.pop("timeout", 5.0),
        max_retries=kw.pop("max_retries", 2),
        backoff=0.25,
        sleep=sleeps.append,
        **kw,
    )
    return prop, sleeps


def _request(template):
    parent = Parent(1, template.seeds["mdd"], 1.39)
    return Request("mutation", (parent,), ("error: ZeroDivisionError (line 2)",), seed=7)


def test_fenced_answer_gives_code_tokens_and_cost(smtt_template, server):
    prop, sleeps = _proposer(smtt_template, server, "fenced", prices={"fenced": (2.0, 8.0)})
    out = prop.propose(_request(smtt_template))
    assert out.error is None and out.code.startswith("def priority(")
    check_code(out.code, smtt_template)
    assert (out.prompt_tokens, out.completion_tokens) == (100, 20)
    assert out.cost == pytest.approx((100 * 2.0 + 20 * 8.0) / 1e6)
    assert out.retries == 0 and not sleeps
    sent = server.requests[-1]
    assert sent["seed"] == 7 and sent["messages"][0]["role"] == "system"
    assert "1.390 %" in sent["messages"][1]["content"]  # parent score in the prompt
    assert "ZeroDivisionError" in sent["messages"][1]["content"]  # feedback in the prompt


def test_bare_code_without_fences(smtt_template, server):
    out = _proposer(smtt_template, server, "bare")[0].propose(_request(smtt_template))
    assert out.code is not None and "t + p * 1.5" in out.code


def test_answer_without_code_is_recorded_not_raised(smtt_template, server):
    out = _proposer(smtt_template, server, "nocode")[0].propose(_request(smtt_template))
    assert out.code is None and "no code" in out.error
    assert out.prompt_tokens == 100  # the tokens were still spent


def test_malformed_json_is_retried_then_reported(smtt_template, server):
    prop, sleeps = _proposer(smtt_template, server, "malformed")
    out = prop.propose(_request(smtt_template))
    assert out.code is None and "failed after 3 attempt" in out.error
    assert sleeps == [0.25, 0.5]  # exponential back-off


def test_429_then_success(smtt_template, server):
    prop, sleeps = _proposer(smtt_template, server, "flaky429")
    out = prop.propose(_request(smtt_template))
    assert out.code is not None and out.retries == 1 and sleeps == [0.25]


def test_500_exhausts_retries(smtt_template, server):
    prop, sleeps = _proposer(smtt_template, server, "error500", max_retries=1)
    out = prop.propose(_request(smtt_template))
    assert out.code is None and "HTTP 500" in out.error and len(sleeps) == 1


def test_server_without_seed_support(smtt_template, server):
    prop, _ = _proposer(smtt_template, server, "noseed")
    first = prop.propose(_request(smtt_template))
    second = prop.propose(_request(smtt_template))
    assert first.code is not None and second.code is not None
    assert server.calls["noseed"] == 3  # one rejected call, then no seed any more


def test_slow_answer_times_out(smtt_template, server):
    prop, _ = _proposer(smtt_template, server, "slow", timeout=0.5, max_retries=0)
    out = prop.propose(_request(smtt_template))
    assert out.code is None and "Timeout" in out.error
    assert out.seconds < 2.5


def test_authentication_failure_is_a_clear_error(smtt_template, server):
    prop, _ = _proposer(smtt_template, server, "denied")
    with pytest.raises(ProposerError, match=r"authentication failed.*OPENAI_API_KEY"):
        prop.propose(_request(smtt_template))


def test_missing_key_without_base_url(smtt_template, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ProposerError, match="OPENAI_API_KEY"):
        OpenAIProposer(smtt_template, model="x")


def test_price_table(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"m": {"input": 0.15, "output": 0.6}}))
    assert load_prices(path) == {"m": (0.15, 0.6)}
    path.write_text("[1, 2]")
    with pytest.raises(ProposerError, match="price table"):
        load_prices(path)


@pytest.mark.parametrize("operator", OPERATORS)
def test_prompts_per_operator(smtt_template, operator):
    parents = (Parent(1, smtt_template.seeds["edd"], 45.0), Parent(2, "def priority(...)", 3.0))
    msgs = build_messages(smtt_template, Request(operator, parents))
    assert "def priority(p, d, w, t, rem):" in msgs[0]["content"]
    assert "45.000 %" in msgs[1]["content"]


def test_extract_code():
    fenced = "Idea.\n```python\ndef priority(p, d, w, t, rem):\n    return d\n```\nmore"
    assert extract_code(fenced, "priority") == "def priority(p, d, w, t, rem):\n    return d\n"
    two = "```\nx = 1\n```\n```py\ndef priority(a):\n    return a\n```"
    assert extract_code(two, "priority").startswith("def priority(a)")
    assert extract_code("no code here", "priority") is None
    assert extract_code("", "priority") is None


def test_gp_is_seeded_and_valid(smtt_template):
    prop = GPProposer(smtt_template)
    parents = (Parent(1, "", 1.0, smtt_template.gp_seeds["mdd"]), Parent(2, "", 2.0, ["var", "d"]))
    for op in OPERATORS:
        a = prop.propose(Request(op, parents, seed=11))
        b = prop.propose(Request(op, parents, seed=11))
        assert a.code == b.code and a.genome == b.genome
        check_code(a.code, smtt_template)
    gen = GPGenerator(smtt_template)
    import random

    rng = random.Random(0)
    tree = gen.new(rng)
    for _ in range(50):
        tree = gen.crossover(gen.mutate(tree, rng), gen.new(rng), rng)
        assert depth(tree) <= MAX_DEPTH  # the operators never grow a tree past it
        check_code(to_code(tree, smtt_template), smtt_template)


def test_replay_jsonl(smtt_template, tmp_path):
    path = tmp_path / "answers.jsonl"
    rows = [
        {"response": "```python\n" + smtt_template.seeds["edd"] + "```", "prompt_tokens": 5},
        {"response": "nothing"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    prop = ReplayProposer(smtt_template, path)
    first = prop.propose(Request("new", ordinal=0))
    assert first.code is not None and first.prompt_tokens == 5
    assert prop.propose(Request("new", ordinal=1)).code is None
    assert prop.propose(Request("new", ordinal=2)).error == "replay exhausted"
    path.write_text("{bad json\n")
    with pytest.raises(ProposerError, match=":1: invalid JSON"):
        ReplayProposer(smtt_template, path)
    with pytest.raises(ProposerError, match="no such replay file"):
        ReplayProposer(smtt_template, tmp_path / "missing.jsonl")


def test_max_tokens_is_sent_and_a_cut_answer_says_so(smtt_template, server):
    prop, _ = _proposer(smtt_template, server, "fenced")
    prop.propose(_request(smtt_template))
    assert server.requests[-1]["max_tokens"] == 1024
    prop, _ = _proposer(smtt_template, server, "rambling", max_tokens=64)
    out = prop.propose(_request(smtt_template))
    assert server.requests[-1]["max_tokens"] == 64
    assert out.code is None and "cut at --max-tokens 64" in out.error
    # Endpoints that want max_completion_tokens instead get it.
    prop, _ = _proposer(smtt_template, server, "newapi", max_tokens=99)
    out = prop.propose(_request(smtt_template))
    assert out.code is not None and out.error is None
    assert server.requests[-1]["max_completion_tokens"] == 99
    assert "max_tokens" not in server.requests[-1]


def test_the_prompt_states_the_allow_list(smtt_template):
    from schedforge.discovery.guard import ALLOWED_MATH, ALLOWED_NUMPY, SAFE_BUILTINS

    system = build_messages(smtt_template, _request(smtt_template))[0]["content"]
    for name in ALLOWED_NUMPY:
        assert name in system
    assert "math.NAME for: " + ", ".join(sorted(ALLOWED_MATH)) in system
    assert ", ".join(sorted(SAFE_BUILTINS)) in system
    assert "no imports" in system and "never into the arguments" in system


def test_the_real_model_benchmark_runs_against_a_local_endpoint(server, capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "discovery_real_model.py"
    spec = importlib.util.spec_from_file_location("discovery_real_model", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.main(
        [
            *("--base-url", server.base_url, "--model", "mixed", "--sets", "quick"),
            *("--generations", "2", "--offspring", "3", "--no-write"),
        ]
    )
    out = capsys.readouterr().out
    rows = [
        line for line in out.splitlines() if line.startswith("| 1 |") or line.startswith("| 2 |")
    ]
    assert len(rows) == 2
    # "mixed" answers in turn: code that breaks the allow-list, good code, prose.
    cells = [c.strip() for c in rows[0].split("|")[1:-1]]
    assert cells[1:5] == ["3", "67%", "33%", "33%"]
    assert cells[6] == "120"  # tokens per answer
