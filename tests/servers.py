"""Real servers the tests start on loopback: a `chroma run` server (also for the scale benchmark:
evals/scale puts tests/ on its path), and the waiting and stopping every started server needs
(local_model.py's llama.cpp server uses them too).

The product never starts servers; only the tests and the benchmarks do, so the starters live
beside the other loopback server the tests use (fake_openai.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from fake_openai import free_port

START_TIMEOUT = 60.0  # seconds until the first heartbeat (chromadb's import dominates on a busy machine)


def wait_until_answering(process: subprocess.Popen, url: str, limit: float, log: Path) -> None:
    """Poll `url` until it answers 200, for at most `limit` seconds; fail at once if the process
    dies, with the end of its log."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}: "
                               f"{log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:  # not listening yet (URLError is an OSError)
            pass
        time.sleep(0.2)  # polling interval, not an assertion
    raise RuntimeError(f"no answer from {url} within {limit:.0f} s")


def stop_process(process: subprocess.Popen, timeout: float = 30) -> None:
    """Terminate the process, and kill it if it has not ended within `timeout` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)


class ChromaServer:
    """`chroma run` on 127.0.0.1 at a free port, storing in `path`; stopped by its PID (use as a context)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self._log = None

    def __enter__(self) -> ChromaServer:
        chroma = Path(sys.executable).with_name("chroma")
        port = free_port()
        self.path.mkdir(parents=True, exist_ok=True)
        self._log = (self.path.parent / f"{self.path.name}.log").open("wb")
        self.proc = subprocess.Popen([str(chroma), "run", "--host", "127.0.0.1", "--port", str(port),
                                      "--path", str(self.path)], stdout=self._log, stderr=subprocess.STDOUT,
                                     env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
        self.url = f"http://127.0.0.1:{port}"
        try:
            self._log.flush()
            wait_until_answering(self.proc, f"{self.url}/api/v2/heartbeat", START_TIMEOUT, Path(self._log.name))
        except BaseException:
            self.stop()
            raise
        return self

    def peak_rss_mib(self) -> float | None:
        """The server's peak resident set (VmHWM), with any child processes it started."""
        if self.proc is None:
            return None
        total = 0.0
        for pid in [self.proc.pid, *_children(self.proc.pid)]:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1]) / 1024
            except OSError:
                pass
        return total

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found.extend(int(p) for p in task.read_text().split())
        except OSError:
            pass
    return found
