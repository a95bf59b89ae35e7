"""A real HTTP server speaking the OpenAI chat-completions protocol, scripted per test.

Stdlib only: ``ThreadingHTTPServer`` on 127.0.0.1, port 0. Each request to
``/v1/chat/completions`` takes the next scripted reply (JSON or SSE, as the request asks);
``/v1/models`` lists the served models. Replies control what goes over the wire: how the
content is cut into deltas, how the bytes are cut into writes (mid-line, mid-UTF-8), delays,
gates the test opens, a connection dropped mid-stream, error statuses and garbage bodies.
Every request is captured (path, headers, raw body) for assertions.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    """One scripted answer to a chat-completions request."""

    content: str = ""  # the assistant's text
    status: int = 200
    error: str = ""  # message of an OpenAI-style error body (status >= 400)
    raw: bytes | None = None  # a body sent as is (garbage, HTML error pages)
    headers: dict = field(default_factory=dict)
    delta_size: int = 7  # characters of content per SSE delta
    write_size: int = 0  # bytes per socket write (0: one write per SSE event)
    write_delay: float = 0.0  # seconds between writes
    header_delay: float = 0.0  # seconds before the status line (a slow first token)
    gate: threading.Event | None = None  # after `gate_after` deltas, wait for the test to set it
    gate_after: int = 1
    cut_after: int | None = None  # drop the connection after this many body bytes
    # after the content, never end: "keep-alive" (SSE comments, no content), "tokens" (a token
    # each interval), "prose" (a line of prose each interval); until the client goes away
    forever: str = ""
    interval: float = 0.5
    usage: dict = field(default_factory=lambda: {"prompt_tokens": 120, "completion_tokens": 80, "total_tokens": 200})


@dataclass
class Captured:
    method: str
    path: str
    headers: dict  # names in lower case
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def messages(self) -> list[dict]:
        return self.json["messages"]


class FakeOpenAI:
    """The server and its script: ``fake.reply(Reply(...))`` queues the answer to the next request."""

    def __init__(self, models: tuple[str, ...] = ("fake-model",)):
        self.models = models
        self.replies: deque[Reply] = deque()
        self.requests: list[Captured] = []
        self.streaming_forever = threading.Event()  # set once a ``forever`` reply has begun its endless part
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def reply(self, *replies: Reply | str) -> None:
        self.replies.extend(Reply(r) if isinstance(r, str) else r for r in replies)

    @property
    def chat_requests(self) -> list[Captured]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep test output clean
            pass

        def handle(self):
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                super().handle()  # the client may go away (a timeout, a cancelled stream): some tests do

        def _capture(self) -> Captured:
            length = int(self.headers.get("Content-Length") or 0)
            headers = {k.lower(): v for k, v in self.headers.items()}
            captured = Captured(self.command, self.path, headers, self.rfile.read(length))
            fake.requests.append(captured)
            return captured

        def do_GET(self):
            self._capture()
            if self.path.rstrip("/").endswith("/models"):
                self._json(
                    200,
                    {
                        "object": "list",
                        "data": [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in fake.models],
                    },
                )
            else:
                self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

        def do_POST(self):
            request = self._capture()
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                return
            reply = (
                fake.replies.popleft()
                if fake.replies
                else Reply(status=400, error="fake server: no reply scripted for this request")
            )
            if reply.header_delay:
                time.sleep(reply.header_delay)
            if reply.raw is not None:
                self._send(reply.status, reply.raw, "text/html; charset=utf-8", reply.headers)
            elif reply.status >= 400:
                self._json(
                    reply.status,
                    {"error": {"message": reply.error, "type": "fake_error", "code": str(reply.status)}},
                    reply.headers,
                )
            elif request.json.get("stream"):
                self._stream(reply, request.json)
            else:
                self._json(200, _completion(reply, request.json))

        def _json(self, status: int, payload: dict, headers: dict | None = None):
            self._send(status, json.dumps(payload).encode(), "application/json", headers or {})

        def _send(self, status: int, body: bytes, content_type: str, headers: dict):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def _stream(self, reply: Reply, request: dict):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            sent = 0
            for i, event in enumerate(sse_events(reply, request)):
                if reply.gate is not None and i == reply.gate_after:
                    reply.gate.wait(timeout=30)
                size = reply.write_size or len(event)
                for start in range(0, len(event), size):
                    piece = event[start : start + size]
                    if reply.cut_after is not None and sent + len(piece) > reply.cut_after:
                        self._chunk(piece[: reply.cut_after - sent])
                        self._drop()
                        return
                    self._chunk(piece)
                    sent += len(piece)
                    if reply.write_delay:
                        time.sleep(reply.write_delay)
            if reply.forever:
                self._forever(reply, request)
                return
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        def _forever(self, reply: Reply, request: dict):
            """Stream without end, as a stuck or looping model does, until the client hangs up."""
            base = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": request.get("model"),
            }
            piece = {"tokens": "lorem ", "prose": "Let me think about this once more.\n"}.get(reply.forever)
            fake.streaming_forever.set()
            while True:
                if piece is None:
                    self._chunk(b": keep-alive\n\n")
                else:
                    delta = {"index": 0, "delta": {"content": piece}, "finish_reason": None}
                    self._chunk(f"data: {json.dumps(base | {'choices': [delta]})}\n\n".encode())
                time.sleep(reply.interval)

        def _chunk(self, data: bytes):
            if data:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

        def _drop(self):
            """End the connection without finishing the chunked body, as a crashed server does."""
            self.close_connection = True
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)

    return Handler


def _completion(reply: Reply, request: dict) -> dict:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": request.get("model"),
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": reply.content}}],
        "usage": reply.usage,
    }


def sse_events(reply: Reply, request: dict) -> list[bytes]:
    """The SSE events of a streamed reply: role, content deltas, finish, usage, [DONE]."""
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": request.get("model")}

    def event(choices: list, **extra) -> bytes:
        return f"data: {json.dumps(base | {'choices': choices} | extra)}\n\n".encode()

    text, size = reply.content, max(reply.delta_size, 1)
    events = [event([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])]
    events += [
        event([{"index": 0, "delta": {"content": text[i : i + size]}, "finish_reason": None}])
        for i in range(0, len(text), size)
    ]
    if reply.forever:
        return events
    events.append(event([{"index": 0, "delta": {}, "finish_reason": "stop"}]))
    if (request.get("stream_options") or {}).get("include_usage"):
        events.append(event([], usage=reply.usage))
    events.append(b"data: [DONE]\n\n")
    return events
