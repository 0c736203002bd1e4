"""Bounded time at hostile endpoints (issue #13, section 4): how long a user waits for each case to
end, against real loopback servers, each command in a fresh process. Figures printed, nothing
asserted: the tests assert the behaviour (the message, the cap, the state) without timing it
(tests/test_endpoint_bounds.py, tests/test_chroma_server.py).

1. `ask` (and `ask --stream`) with a model that replies 5 MB (tests/fake_openai.py: one
   completion of 1,000,000 words). Target: at most 30 s.
2. `ask --timeout 5` with a model that sends one token every 2 s. Target: at most timeout + 5 s.
3. `search`, `ask` and `ingest` with --chroma-url pointing at a server that accepts connections
   and never answers (a socket in this script). Target: at most 15 s.

Each figure is the whole process, as a user waits for it, and beside it the time beyond a
reference run of the same command against a server that answers at once (or, for Chroma, a
port that refuses at once): on a loaded machine the process start-up is a large part of it.
Cases 1 and 2 ask over an index of the shipped seeds built with a hashing embedder (no model, a
few seconds; the same trick as bench_ingest_memory.py): retrieval still finds the question's
papers by BM25, and the model is asked (the figures say how many requests it got).

    .venv/bin/python evals/bench_bounds.py [--index DIR]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # evals.*, run as a script from anywhere
sys.path.insert(0, str(ROOT / "tests"))  # fake_openai

BIN = Path(sys.executable).parent
QUESTION = "which papers stabilize attention?"
LIMIT = 300.0  # a case still running after this is killed and reported as such
TIMEOUT = 5.0  # --timeout of the dripping case


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never sends a byte (use as a context)."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:  # closed
                return
            self._held.append(connection)

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._socket.close()
        for connection in self._held:
            connection.close()


def timed(command: list[str]) -> tuple[float, int | None, str]:
    """Wall time of a command, its exit code (None: killed at LIMIT) and the last line of its stderr."""
    from bench_ingest_memory import _clean_env

    began = time.perf_counter()
    try:
        proc = subprocess.run(command, capture_output=True, text=True, env=_clean_env(), timeout=LIMIT)
    except subprocess.TimeoutExpired:
        return time.perf_counter() - began, None, f"still running after {LIMIT:.0f} s: killed"
    lines = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
    return time.perf_counter() - began, proc.returncode, lines[-1][:160] if lines else ""


def report(name: str, seconds: float, target: float, code: int | None, last: str, reference: float,
           extra: str = "") -> None:
    """One case: the whole process against the target, and beyond the reference (the same command
    against a server that answers at once, or refuses at once: start-up, retrieval, rendering)."""
    verdict = "met" if code is not None and seconds <= target else "NOT met"
    print(f"  {name}: {seconds:6.1f} s (target <= {target:g} s): {verdict}; {seconds - reference:+.1f} s beyond "
          f"the reference; exit {code}{extra}")
    if last and code != 0:  # the message it ended with (a streamed reply's last line is only its words)
        print(f"      {last}")


def _closed_port_url() -> str:
    """A loopback URL where nothing listens: a connection there is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, help="an index to ask over (default: the seeds, in a temporary directory)")
    args = parser.parse_args()
    from fake_openai import FakeOpenAI, Reply

    from assistant.resources import default_seeds_dir
    from bench_ingest_memory import ingest_rss

    workdir = Path(tempfile.mkdtemp(prefix="bench-bounds-"))
    index = args.index
    if index is None:
        index = workdir / "seeds-index"
        ingest_rss(default_seeds_dir(), index, "minilm")  # the gate reads MiniLM vectors: with hashed ones it refuses
    print(f"BOUNDED TIME (issue #13), each case a fresh process; load average before: {load()}")

    ask = [str(BIN / "ask"), QUESTION, "--index", str(index), "--backend", "openai", "--model", "test-model"]
    with FakeOpenAI() as server:
        server.script(Reply.text("Attention entropy collapse is prevented by sigma reparameterization [1]."))
        reference, code, last = timed([*ask, "--base-url", server.base_url, "--timeout", "30"])
        print(f"  reference: ask with a model that answers at once: {reference:.1f} s; exit {code}")
    for flags in ([], ["--stream"]):
        with FakeOpenAI() as server:
            server.script(Reply.text("word " * 1_000_000))
            seconds, code, last = timed([*ask, *flags, "--base-url", server.base_url, "--timeout", "30"])
            report(" ".join(["ask", *flags]) + ", a 5 MB model reply", seconds, 30, code, last, reference,
                   f"; {len(server.chat_requests)} chat request(s)")
    with FakeOpenAI() as server:
        server.script(Reply.drip(" ".join(["token"] * 200), seconds=2.0))
        seconds, code, last = timed([*ask, "--base-url", server.base_url, "--timeout", f"{TIMEOUT:g}"])
        report(f"ask --timeout {TIMEOUT:g}, one token every 2 s", seconds, TIMEOUT + 5, code, last, reference,
               f"; {len(server.chat_requests)} chat request(s)")
    with SilentServer() as silent:
        closed = _closed_port_url()
        for name, command in (
            ("search", [str(BIN / "assistant"), "search", QUESTION]),
            ("ask", [str(BIN / "ask"), QUESTION]),
            ("ingest", [str(BIN / "assistant"), "ingest"]),
        ):
            reference, _, _ = timed([*command, "--index", str(workdir / f"refused-{name}"), "--chroma-url", closed])
            seconds, code, last = timed([*command, "--index", str(workdir / f"silent-{name}"), "--chroma-url", silent.url])
            report(f"{name}, a silent Chroma server", seconds, 15, code, last, reference,
                   f" (reference: a refused connection, {reference:.1f} s)")
    print(f"  load average after: {load()}")
    print(f"(work files in {workdir})")


if __name__ == "__main__":
    main()
