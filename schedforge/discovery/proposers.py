"""Proposers: where candidate heuristics come from.

``openai``
    A language model behind any OpenAI-compatible chat-completions endpoint
    (OpenAI, vLLM, Ollama, llama.cpp server), through the official client.
    Timeouts, retries with exponential back-off on 429, 5xx, timeouts,
    connection errors and malformed answers; a clear error on an
    authentication failure; tokens from ``usage`` and cost from an optional
    price table.
``gp``
    Model-free genetic programming over expression trees of the same
    features (:mod:`schedforge.discovery.gp`); seeded per request, so a run
    is reproducible and resumable.
``replay``
    Replays recorded answers in order (a JSON Lines file, or the archive of
    an earlier run) for reproducible runs and tests.

Every proposer turns a :class:`~schedforge.discovery.prompts.Request` into a
:class:`Proposal`; a failed call is a proposal with ``error`` set, which the
loop records and moves past. Only an authentication failure stops a run.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schedforge.core.errors import SchedforgeError
from schedforge.discovery.gp import GPGenerator, to_code
from schedforge.discovery.prompts import Request, build_messages, extract_code
from schedforge.discovery.templates import Template


class ProposerError(SchedforgeError):
    """A proposer cannot work at all (bad credentials, missing replay file)."""


@dataclass
class Proposal:
    """One proposed candidate, with what it cost.

    ``code`` is ``None`` when the answer held no code or the call failed
    (``error`` says which).
    """

    code: str | None
    prompt: str = ""
    response: str = ""
    model: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    genome: Any = None
    error: str | None = None
    seconds: float = 0.0
    retries: int = 0


def load_prices(path: str | Path | None) -> dict[str, tuple[float, float]]:
    """A price table: JSON ``{"model": {"input": USD per 1M tokens, "output": ...}}``."""
    if path is None:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return {m: (float(v["input"]), float(v["output"])) for m, v in data.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ProposerError(
            f"{path}: price table must be JSON {{model: {{input: USD/1M, output: USD/1M}}}} ({exc})"
        ) from None


class OpenAIProposer:
    """Ask a chat-completions endpoint for candidates.

    Parameters
    ----------
    template
        The problem's template (prompts, function name).
    model
        Model name as the endpoint knows it.
    base_url
        Endpoint, e.g. ``http://localhost:8000/v1``; ``None`` for OpenAI.
    api_key
        Key; by default ``OPENAI_API_KEY`` from the environment (a local
        endpoint without a key gets a placeholder).
    timeout
        Seconds per request.
    max_retries
        Retries after a retryable failure.
    backoff
        First back-off in seconds; doubled after each retry (capped at 60 s).
    temperature
        Sampling temperature.
    max_tokens
        Longest answer, in tokens (``max_tokens`` of the request): a model
        that rambles is cut off instead of running to its context length.
    prices
        ``{model: (USD per 1M input tokens, USD per 1M output tokens)}``.
    sleep
        Sleep function (tests pass a fake one).
    """

    name = "openai"

    def __init__(
        self,
        template: Template,
        *,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 4,
        backoff: float = 1.0,
        temperature: float = 1.0,
        max_tokens: int = 1024,
        prices: dict[str, tuple[float, float]] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        import openai

        key = api_key or os.environ.get("OPENAI_API_KEY")
        if not key:
            if base_url is None:
                raise ProposerError(
                    "the openai proposer needs OPENAI_API_KEY in the environment "
                    "(or --base-url for a local endpoint that needs no key)"
                )
            key = "no-key"  # local servers (vLLM, Ollama, llama.cpp) ignore it
        self.template = template
        self.model = model
        self.base_url = base_url
        self.max_retries = max_retries
        self.backoff = backoff
        self.temperature = temperature
        self.max_tokens = int(max_tokens)
        self.prices = prices or {}
        self.sleep = sleep
        self._send_seed = True
        self._tokens_key = "max_tokens"  # newer OpenAI models want max_completion_tokens
        self._openai = openai
        # Our own retry loop, so that retries are counted and back-off is ours.
        self.client = openai.OpenAI(api_key=key, base_url=base_url, timeout=timeout, max_retries=0)

    def _cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        price_in, price_out = self.prices.get(self.model, (0.0, 0.0))
        return (prompt_tokens * price_in + completion_tokens * price_out) / 1e6

    def propose(self, request: Request) -> Proposal:
        """One chat completion for ``request`` (never raises except on auth failure)."""
        openai = self._openai
        messages = build_messages(self.template, request)
        prompt = "\n\n".join(m["content"] for m in messages)
        start = time.perf_counter()
        retryable = (
            openai.RateLimitError,
            openai.InternalServerError,
            openai.APITimeoutError,
            openai.APIConnectionError,
            openai.APIResponseValidationError,
            ValueError,  # a 200 answer whose body is not valid JSON
        )
        last_error = ""
        for attempt in range(self.max_retries + 1):
            try:
                extra: dict[str, Any] = {self._tokens_key: self.max_tokens}
                if self._send_seed:
                    extra["seed"] = request.seed
                response = self.client.chat.completions.create(
                    model=self.model,
                    messages=messages,
                    temperature=self.temperature,
                    **extra,
                )
                text, usage, finish = _content_and_usage(response)
            except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
                raise ProposerError(
                    f"authentication failed at {self.base_url or 'api.openai.com'} "
                    f"(HTTP {exc.status_code}): check OPENAI_API_KEY"
                ) from None
            except retryable as exc:
                last_error = _describe(exc)
                if attempt < self.max_retries:
                    self.sleep(min(60.0, self.backoff * 2**attempt))
                    continue
                break
            except openai.BadRequestError as exc:
                last_error = _describe(exc)
                if self._send_seed and "seed" in str(exc).lower():
                    # Some OpenAI-compatible servers reject the seed parameter.
                    self._send_seed = False
                    continue
                if self._tokens_key == "max_tokens" and "max_completion_tokens" in str(exc):
                    self._tokens_key = "max_completion_tokens"
                    continue
                break
            except openai.APIStatusError as exc:  # 4xx other than auth/429: not retryable
                last_error = _describe(exc)
                break
            prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
            completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
            code = extract_code(text, self.template.function_name)
            error = None
            if not code:
                error = f"the answer contains no function {self.template.function_name}(...)"
                if finish == "length":
                    error += f", cut at --max-tokens {self.max_tokens}"
                error += " (no code found)"
            return Proposal(
                code=code,
                prompt=prompt,
                response=text,
                model=self.model,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                cost=self._cost(prompt_tokens, completion_tokens),
                error=error,
                seconds=time.perf_counter() - start,
                retries=attempt,
            )
        return Proposal(
            code=None,
            prompt=prompt,
            model=self.model,
            error=f"model call failed after {self.max_retries + 1} attempt(s): {last_error}",
            seconds=time.perf_counter() - start,
            retries=self.max_retries,
        )


def _content_and_usage(response: Any) -> tuple[str, Any, str | None]:
    """The answer's text, usage and finish reason; ``ValueError`` when the structure is wrong."""
    try:
        choice = response.choices[0]
        text = choice.message.content or ""
    except (AttributeError, IndexError, TypeError) as exc:
        raise ValueError(f"malformed completion ({exc})") from None
    return str(text), getattr(response, "usage", None), getattr(choice, "finish_reason", None)


def _describe(exc: BaseException) -> str:
    status = getattr(exc, "status_code", None)
    head = f"HTTP {status} " if status else ""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{head}{type(exc).__name__}: {text}"[:300]


class GPProposer:
    """Genetic programming: each request becomes a tree operation, seeded per request."""

    name = "gp"

    def __init__(self, template: Template):
        self.template = template
        self.generator = GPGenerator(template)
        self.seed_genomes = list(template.gp_seeds.values())

    def _genome(self, parent: Any, rng: random.Random) -> list[Any]:
        genome = getattr(parent, "genome", None)
        return genome if genome else rng.choice(self.seed_genomes)

    def propose(self, request: Request) -> Proposal:
        """Apply the request's operator to its parents' trees."""
        rng = random.Random(request.seed)
        gen = self.generator
        parents = [self._genome(p, rng) for p in request.parents]
        if request.operator == "crossover" and len(parents) >= 2:
            genome = gen.crossover(parents[0], parents[1], rng)
        elif request.operator == "mutation" and parents:
            genome = gen.mutate(parents[0], rng)
        elif request.operator == "tune" and parents:
            genome = gen.tune(parents[0], rng)
        else:
            genome = gen.new(rng)
        code = to_code(genome, self.template)
        return Proposal(code=code, response=code, model="gp", genome=genome)


class ReplayProposer:
    """Replay recorded answers: request ``k`` of the run gets record ``k``.

    Parameters
    ----------
    template
        The template (to extract code from answers).
    source
        A JSON Lines file with one ``{"response": ..., "prompt_tokens": ...,
        "completion_tokens": ..., "cost": ..., "genome": ...}`` per line, or a
        run directory / ``archive.sqlite`` whose proposals are replayed in order.
    """

    name = "replay"

    def __init__(self, template: Template, source: str | Path):
        self.template = template
        self.records = _load_records(Path(source))

    def propose(self, request: Request) -> Proposal:
        """The recorded answer at position ``request.ordinal``."""
        if request.ordinal >= len(self.records):
            return Proposal(code=None, model="replay", error="replay exhausted")
        rec = self.records[request.ordinal]
        text = str(rec.get("response") or "")
        code = extract_code(text, self.template.function_name)
        return Proposal(
            code=code,
            response=text,
            model=str(rec.get("model") or "replay"),
            prompt_tokens=int(rec.get("prompt_tokens") or 0),
            completion_tokens=int(rec.get("completion_tokens") or 0),
            cost=float(rec.get("cost") or 0.0),
            genome=rec.get("genome"),
            error=None if code else "the answer contains no function (no code found)",
        )


def _load_records(source: Path) -> list[dict[str, Any]]:
    if source.is_dir():
        source = source / "archive.sqlite"
    if not source.exists():
        raise ProposerError(f"{source}: no such replay file")
    if source.suffix in (".sqlite", ".db"):
        con = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            rows = con.execute(
                "SELECT response, model, prompt_tokens, completion_tokens, cost, genome "
                "FROM candidates WHERE operator != 'seed' ORDER BY generation, idx"
            ).fetchall()
        finally:
            con.close()
        keys = ("response", "model", "prompt_tokens", "completion_tokens", "cost", "genome")
        records = [dict(zip(keys, row, strict=True)) for row in rows]
        for rec in records:
            rec["genome"] = json.loads(rec["genome"]) if rec["genome"] else None
        return records
    records = []
    with source.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ProposerError(f"{source}:{number}: invalid JSON ({exc.msg})") from None
            if not isinstance(rec, dict):
                raise ProposerError(f"{source}:{number}: expected an object with 'response'")
            records.append(rec)
    return records


def make_proposer(template: Template, config: dict[str, Any]) -> Any:
    """The proposer named by ``config["proposer"]``, configured from ``config``."""
    kind = config.get("proposer")
    if kind == "gp":
        return GPProposer(template)
    if kind == "replay":
        if not config.get("replay"):
            raise ProposerError("the replay proposer needs --replay FILE (JSONL or a run dir)")
        return ReplayProposer(template, config["replay"])
    if kind == "openai":
        if not config.get("model"):
            raise ProposerError("the openai proposer needs --model")
        return OpenAIProposer(
            template,
            model=config["model"],
            base_url=config.get("base_url"),
            timeout=float(config.get("timeout", 60.0)),
            max_retries=int(config.get("max_retries", 4)),
            backoff=float(config.get("backoff", 1.0)),
            temperature=float(config.get("temperature", 1.0)),
            max_tokens=int(config.get("max_tokens") or 1024),
            prices=load_prices(config.get("prices")),
        )
    raise ProposerError(f"unknown proposer {kind!r}; available: openai, gp, replay")
