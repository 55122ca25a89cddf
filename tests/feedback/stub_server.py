"""A small OpenAI-compatible chat server on 127.0.0.1 that answers lit-align's own instructions.

It recognises each template by its wording and replies as a cooperative model would, unless a test
scripts failures (`fail_next` HTTP statuses, `malformed` replies for a template)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class StubState:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.fail_next: list[int] = []  # HTTP statuses to return before answering
        self.malformed: set[str] = set()  # templates answered with prose instead of a list
        self.raw_body: str | None = None  # reply with this body instead of a chat completion


def reply_for(text: str, state: StubState) -> str:
    if "categories of user requests" in text:
        return "sure!" if "categories" in state.malformed else '["animals", "pets"]'
    if "should follow the feedback" in text:
        if "in" in state.malformed and "pets" in text:
            return "I cannot think of any."
        topic = "cat" if "animals" in text else "dog"
        return f'Here you go:\n["Tell me about the {topic}.", "Describe the {topic}.", "Tell me about the cat."]'
    if "does NOT apply" in text:
        return "1. Tell me about the tree.\n2. Describe the river.\n3) Tell me about the book."
    if "Rewrite the original answer" in text:
        answer = text.split("Original answer:\n")[1].split("\n\nRewrite")[0]
        return "" if "revise" in state.malformed else f"Revised answer: {answer.rstrip('.')}!"
    if "Which answer follows" in text:
        return "no idea" if "judge" in state.malformed else "0.5"
    return "?"


class Handler(BaseHTTPRequestHandler):
    state: StubState

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.state.requests.append(body)
        self.state.headers.append(dict(self.headers))
        if self.path != "/v1/chat/completions":
            return self._send(404, {"error": {"message": f"no route {self.path}"}})
        if self.state.fail_next:
            return self._send(self.state.fail_next.pop(0), {"error": {"message": "scripted failure"}})
        if self.state.raw_body is not None:
            return self._send(200, self.state.raw_body)
        content = reply_for(body["messages"][-1]["content"], self.state)
        self._send(200, {"id": "x", "object": "chat.completion", "model": body["model"],
                         "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                      "finish_reason": "stop"}]})

    def _send(self, status: int, payload: Any) -> None:
        data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def start() -> tuple[ThreadingHTTPServer, StubState, str]:
    state = StubState()
    handler = type("BoundHandler", (Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, state, f"http://127.0.0.1:{server.server_address[1]}/v1"
