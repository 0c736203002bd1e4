"""A real `chroma run` server for the tests and the scale benchmark (evals/scale puts tests/ on its path).

The product never starts servers; only the tests and the benchmarks do, so the one starter lives
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
            self._wait_for_heartbeat()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_for_heartbeat(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chroma run exited with {self.proc.returncode} (log: {self._log.name})")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"no heartbeat from {self.url} within {START_TIMEOUT:.0f} s")

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
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
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
