"""An OpenAI-compatible chat endpoint on loopback, for tests of the LLM backends' callers.

It is a real HTTP server (the backends' own client code runs); only the model is canned:
``state.reply`` is what it answers, ``status`` and ``delay_s`` make it fail or slow.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class EndpointState:
    def __init__(self) -> None:
        self.reply = ""
        self.status = 200
        self.delay_s = 0.0
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []


@contextlib.contextmanager
def llm_endpoint() -> Iterator[tuple[EndpointState, str]]:
    """Yields ``(state, base_url)``; the base URL ends in ``/v1``."""
    state = EndpointState()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server API
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.requests.append(body)
            state.headers.append(dict(self.headers))
            time.sleep(state.delay_s)
            message = {"role": "assistant", "content": state.reply}
            payload = json.dumps({"choices": [{"index": 0, "message": message}]}).encode()
            try:
                self.send_response(state.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass  # the client gave up (timeout tests)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
