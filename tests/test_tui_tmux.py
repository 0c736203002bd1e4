"""`assistant chat` in a real terminal: tmux runs it, the test types a question, reads the pane
until a cited answer appears, quits with ctrl+q and checks that the process ended cleanly.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from assistant.config import Settings

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("tmux") is None,
                                 reason="tmux is not installed (.ci/run installs it; or apt-get install tmux)")]


class Tmux:
    """One private tmux server (its own socket), so the test never touches the user's sessions."""

    def __init__(self) -> None:
        self.socket = f"assistant-test-{uuid.uuid4().hex[:8]}"
        self.target = "chat"

    def __call__(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True,
                              timeout=10).stdout

    def start(self, command: str, env: dict[str, str]) -> None:
        # env -i: only the given variables, so neither the user's OPENAI_*/ASSISTANT_* settings nor
        # a COLUMNS/LINES inherited from the test run reach the app.
        exports = " ".join(f"{name}={shlex.quote(value)}" for name, value in env.items())
        self("-f", "/dev/null", "new-session", "-d", "-s", self.target, "-x", "120", "-y", "40",
             f"env -i {exports} {command}")
        self("set-option", "-t", self.target, "remain-on-exit", "on")  # keep the last screen to read

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", self.target)

    def wait_for(self, pattern: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if re.search(pattern, screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{pattern!r} did not appear within {timeout} s; the pane shows:\n{self.screen()}")

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10)


def chat_command() -> str:
    script = Path(sys.executable).with_name("assistant")
    if script.exists():
        return shlex.quote(str(script)) + " chat --backend extractive"
    return f"{shlex.quote(sys.executable)} -c 'from assistant.cli import main; main()' chat --backend extractive"


def test_chat_in_a_real_terminal_answers_with_citations_and_quits_cleanly(seed_settings: Settings, tmp_path):
    # The data directory (session history, logs) is this test's; the index is the shared seed index.
    (tmp_path / "index").symlink_to(seed_settings.index_dir, target_is_directory=True)
    env = {
        "ASSISTANT_INDEX_DIR": str(tmp_path / "index"),
        "ASSISTANT_DATA_DIR": str(tmp_path),
        "ASSISTANT_CONFIG": str(tmp_path / "no-config.toml"),
        "TERM": "xterm-256color",
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
    }
    exit_file = tmp_path / "exit-status"
    tmux = Tmux()
    try:
        started = time.monotonic()
        tmux.start(f"sh -c {shlex.quote(f'{chat_command()}; echo $? > {exit_file}')}", env)
        tmux.wait_for(r"Ask a question about the papers", timeout=20)
        first_frame = time.monotonic() - started
        tmux.wait_for(r"index\s+122 papers", timeout=60)
        tmux("send-keys", "-t", tmux.target, "-l", "which papers stabilize attention?")
        tmux("send-keys", "-t", tmux.target, "Enter")
        # The sources panel is filled once the enforced answer is on screen.
        screen = tmux.wait_for(r"Sources · answer 1", timeout=60)
        assert re.search(r"papers? cited", screen), screen
        assert re.search(r"\[1\]", screen), screen
        tmux("send-keys", "-t", tmux.target, "C-q")
        # The shell around the app writes its exit status once the process has ended (tmux's own
        # pane_dead_status lags: it can leave the exited process unreaped for seconds).
        deadline = time.monotonic() + 10
        while not exit_file.exists() or not exit_file.read_text().strip():
            assert time.monotonic() < deadline, f"the app did not quit:\n{tmux.screen()}"
            time.sleep(0.1)
        assert exit_file.read_text().strip() == "0"
        assert "Traceback" not in tmux.screen()
        print(f"first frame in tmux after {first_frame:.2f} s")
    finally:
        tmux.kill()
    assert (tmp_path / "sessions.sqlite3").exists()
