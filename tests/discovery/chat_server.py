"""A local HTTP server that speaks the chat-completions protocol, for proposer tests.

The requested ``model`` name picks the behaviour, so tests need no shared
state beyond a per-model request counter:

``fenced``     code in a markdown fence          ``bare``       code without fences
``nocode``     prose only                        ``malformed``  HTTP 200 with a broken JSON body
``flaky429``   429 on the first call, then fine  ``error500``   always HTTP 500
``slow``       answers after 3 s                 ``denied``     HTTP 401
``counter``    fenced code whose constant is the request number (distinct candidates)
``noseed``     HTTP 400 when the request carries a ``seed``, else like ``fenced``
``rambling``   prose cut at the token limit (``finish_reason`` ``length``)
``newapi``     HTTP 400 on ``max_tokens`` (wants ``max_completion_tokens``), else ``fenced``
``mixed``      in turn: an answer that breaks the allow-list, fenced code, prose
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CODE = "def priority(p, d, w, t, rem):\n    return np.maximum(d, t + p * {k})\n"


def completion(model: str, text: str, finish_reason: str = "stop") -> dict:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish_reason,
            }
        ],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    }


class ChatServer:
    """Start with ``with ChatServer() as server:``; ``server.base_url`` is the endpoint."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                # The client may have given up already (the timeout test).
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                payload = json.loads(self.rfile.read(length))
                outer.requests.append(payload)
                model = payload["model"]
                outer.calls[model] += 1
                n = outer.calls[model]
                error = {"error": {"message": "nope", "type": "x"}}
                if model == "noseed" and "seed" in payload:
                    bad = {"error": {"message": "Unrecognized request argument: seed"}}
                    return self._send(400, json.dumps(bad).encode())
                if model == "newapi" and "max_tokens" in payload:
                    bad = {
                        "error": {
                            "message": "Unsupported parameter: 'max_tokens' is not supported "
                            "with this model. Use 'max_completion_tokens' instead."
                        }
                    }
                    return self._send(400, json.dumps(bad).encode())
                if model == "denied":
                    return self._send(401, json.dumps(error).encode())
                if model == "error500":
                    return self._send(500, json.dumps(error).encode())
                if model == "flaky429" and n == 1:
                    return self._send(429, json.dumps(error).encode())
                if model == "malformed":
                    return self._send(200, b'{"id": "x", "choices": [')
                if model == "slow":
                    time.sleep(3)
                if model == "rambling":
                    text = "First, let us consider the jobs. " * 20
                    return self._send(200, json.dumps(completion(model, text, "length")).encode())
                if model == "mixed":
                    text = [
                        "```python\ndef priority(p, d, w, t, rem):\n    return np.random.rand(3)\n```",
                        f"```python\n{CODE.format(k=1 + n / 10)}```",
                        "I would sort the jobs by due date.",
                    ][n % 3]
                    return self._send(200, json.dumps(completion(model, text)).encode())
                if model == "nocode":
                    text = "I would sort the jobs by due date."
                elif model == "bare":
                    text = CODE.format(k=1.5)
                elif model == "counter":
                    text = f"Idea {n}.\n```python\n{CODE.format(k=1 + n / 10)}```\n"
                else:
                    text = f"Use MDD scaled.\n```python\n{CODE.format(k=1.2)}```\nDone."
                return self._send(200, json.dumps(completion(model, text)).encode())

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ChatServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
