"""A scripted OpenAI-compatible server on 127.0.0.1 for tests: real HTTP, real SSE.

    with FakeOpenAI(models=["test-model"]) as server:
        server.script(Reply.status(429), Reply.text("An answer [1]."))
        ... point the client at server.base_url ...
        assert len(server.chat_requests) == 2

Serves GET /v1/models, POST /v1/chat/completions (streaming when the request asks for it) and
POST /v1/embeddings (a scripted status, else one small vector per input text).
Each chat or embeddings request takes the next scripted Reply; the last one repeats once the script runs out
(so `Reply.status(500)` alone means "500 forever"). A request for a model the server does not
serve gets a 404 like Ollama's. Every request is recorded (path, headers, JSON body).
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

Content = str | Callable[[dict[str, Any]], str]  # fixed text, or text computed from the request body


@dataclass(frozen=True)
class Reply:
    kind: str  # "text" | "status" | "hang" | "truncated" | "malformed" | "drip" | "cut_body"
    content: Content = ""
    status: int = 200
    seconds: float = 0.0
    tokens_before_cut: int = 0
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def text(cls, content: Content) -> "Reply":
        """A completion (an empty string makes an empty completion); SSE if the request streams."""
        return cls("text", content=content)

    @classmethod
    def status(cls, code: int, message: str | None = None, retry_after: float | None = None) -> "Reply":
        headers = (("Retry-After", f"{retry_after:g}"),) if retry_after is not None else ()
        return cls("status", content=message or f"scripted HTTP {code}", status=code, headers=headers)

    @classmethod
    def hang(cls, seconds: float) -> "Reply":
        """Say nothing for `seconds` (or until the server stops), then close."""
        return cls("hang", seconds=seconds)

    @classmethod
    def truncated(cls, content: Content, tokens_before_cut: int = 3) -> "Reply":
        """Stream the first tokens of `content`, then drop the connection mid-stream."""
        return cls("truncated", content=content, tokens_before_cut=tokens_before_cut)

    @classmethod
    def drip(cls, content: Content, seconds: float) -> "Reply":
        """Send `content` one token every `seconds` (streamed, or as a body written a piece at a time)."""
        return cls("drip", content=content, seconds=seconds)

    @classmethod
    def cut_body(cls, content: Content) -> "Reply":
        """A non-streamed completion whose body stops halfway, then the connection closes."""
        return cls("cut_body", content=content)

    @classmethod
    def malformed(cls) -> "Reply":
        """HTTP 200 with a body that is not JSON (or an SSE event that is not JSON)."""
        return cls("malformed")


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)

    @property
    def prompt_text(self) -> str:
        """Every message's content, joined: what the model was shown."""
        return "\n".join(m.get("content", "") for m in (self.body or {}).get("messages", []))


@dataclass
class FakeOpenAI:
    models: list[str] = field(default_factory=lambda: ["test-model"])
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._script: list[Reply] = [Reply.text("")]
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)

    # -- lifecycle
    def __enter__(self) -> "FakeOpenAI":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    # -- scripting and inspection
    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script = list(replies)

    @property
    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def embedding_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/embeddings")]

    def _next_reply(self) -> Reply:
        with self._lock:
            return self._script.pop(0) if len(self._script) > 1 else self._script[0]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up (timeouts, cut streams) are what the tests provoke: no tracebacks."""


def free_port() -> int:
    """A port nothing listens on (for "server unreachable" tests)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _handler_for(server: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def do_GET(self) -> None:
            self._record(None)
            if self.path.rstrip("/") == "/v1/models":
                data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in server.models]
                self._send_json(200, {"object": "list", "data": data})
            else:
                self._send_error(404, f"no route {self.path}")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = None
            self._record(body)
            if self.path.rstrip("/") not in ("/v1/chat/completions", "/v1/embeddings") or body is None:
                self._send_error(404, f"no route {self.path}")
                return
            if body.get("model") not in server.models:
                self._send_error(404, f"model \"{body.get('model')}\" not found, try pulling it first")
                return
            reply = server._next_reply()
            content = reply.content(body) if callable(reply.content) else reply.content
            if reply.kind == "status":
                self._send_error(reply.status, content, reply.headers)
            elif self.path.rstrip("/") == "/v1/embeddings":
                self._send_json(200, _embeddings(body))
            elif reply.kind == "hang":
                server._stopping.wait(reply.seconds)
                self.close_connection = True
            elif reply.kind == "malformed" and body.get("stream"):
                self._stream_raw([b"data: {\"id\": \"x\", \"choices\": [{\"del\n\n", b"data: [DONE]\n\n"])
            elif reply.kind == "malformed":
                self._send_raw(200, "application/json", b'{"id": "x", "choices": [ {"mess')
            elif reply.kind == "cut_body":
                payload = json.dumps(_completion(body, content)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload[: len(payload) // 2])
                self.wfile.flush()
                self.close_connection = True
            elif reply.kind == "drip" and not body.get("stream"):
                payload = json.dumps(_completion(body, content)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                for start in range(0, len(payload), 8):
                    if server._stopping.wait(reply.seconds):
                        break
                    self.wfile.write(payload[start:start + 8])
                    self.wfile.flush()
            elif body.get("stream"):
                self._stream(body, content, reply.tokens_before_cut if reply.kind == "truncated" else None,
                             reply.seconds if reply.kind == "drip" else 0.0)
            else:
                self._send_json(200, _completion(body, content))

        # -- helpers
        def _record(self, body: dict[str, Any] | None) -> None:
            recorded = Recorded(self.command, self.path, dict(self.headers.items()), body)
            with server._lock:
                server.requests.append(recorded)

        def _send_raw(self, code: int, kind: str, payload: bytes, headers: tuple = ()) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def _send_json(self, code: int, data: Any, headers: tuple = ()) -> None:
            self._send_raw(code, "application/json", json.dumps(data).encode(), headers)

        def _send_error(self, code: int, message: str, headers: tuple = ()) -> None:
            self._send_json(code, {"error": {"message": message, "type": "fake", "code": code}}, headers)

        def _start_stream(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()

        def _stream_raw(self, events: list[bytes]) -> None:
            self._start_stream()
            for event in events:
                self._event_raw(event)
            self.wfile.write(b"0\r\n\r\n")

        def _stream(self, body: dict[str, Any], content: str, cut_after: int | None, pause: float = 0.0) -> None:
            self._start_stream()
            tokens = _tokens(content)
            for i, token in enumerate(tokens):
                if pause and server._stopping.wait(pause):
                    return
                if cut_after is not None and i >= cut_after:
                    # Half an HTTP chunk, then the connection drops: a stream cut mid-way.
                    self.wfile.write(b"40\r\ndata: {\"id\"")
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self._event(_chunk(body, {"content": token}, None))
            self._event(_chunk(body, {}, "stop"))
            self._event_raw(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")

        def _event(self, data: dict[str, Any]) -> None:
            self._event_raw(b"data: " + json.dumps(data).encode() + b"\n\n")

        def _event_raw(self, payload: bytes) -> None:
            self.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
            self.wfile.flush()

    return Handler


def _tokens(text: str) -> list[str]:
    """Split text into word-sized tokens that join back to it exactly."""
    tokens, current = [], ""
    for char in text:
        current += char
        if char == " ":
            tokens.append(current)
            current = ""
    return tokens + ([current] if current else [])


def _completion(body: dict[str, Any], content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _embeddings(body: dict[str, Any]) -> dict[str, Any]:
    """One vector per input: its length and its count of vowels and spaces (enough to tell texts apart)."""
    data = [{"object": "embedding", "index": i,
             "embedding": [float(len(text)), float(sum(c in "aeiou" for c in text)), float(text.count(" ")) + 1.0]}
            for i, text in enumerate(body.get("input") or [])]
    return {"object": "list", "data": data, "model": body.get("model"),
            "usage": {"prompt_tokens": 1, "total_tokens": 1}}


def _chunk(body: dict[str, Any], delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": body.get("model"),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
