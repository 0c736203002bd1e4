"""Settings: one typed object, resolved as command-line flags > environment > TOML file > defaults.

Environment: ASSISTANT_<FIELD> for every field (ASSISTANT_INDEX_DIR, ASSISTANT_CHROMA_URL,
ASSISTANT_MODEL, ASSISTANT_BACKEND, ASSISTANT_API_KEY, ...), then the OpenAI client's own
OPENAI_BASE_URL and OPENAI_API_KEY. An OPENAI_API_KEY is only sent to OpenAI or to the
OPENAI_BASE_URL beside it, never to an endpoint given by flag or config file.
Config file: $ASSISTANT_CONFIG, else $XDG_CONFIG_HOME/assistant/config.toml, with the same
field names as keys (e.g. `base_url = "http://localhost:11434/v1"`).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

from .errors import AssistantError


class ConfigError(AssistantError):
    """A setting has a value the assistant cannot use; the message says which and how to fix it."""


class Secret:
    """A string that never prints itself: repr, str and format all mask it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__


def _data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "assistant"


def _config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "assistant"


@dataclass(frozen=True)
class Settings:
    # Where things live.
    index_dir: Path = field(default_factory=lambda: _data_home() / "index")
    seeds_dir: Path | None = None  # None: the seed listings shipped with the package
    chroma_url: str | None = None  # http://host:port of a Chroma server; None: embedded store
    collection: str = "papers"
    library: str = "default"  # several libraries share one Chroma server, each under its own name
    # Embeddings: "minilm" (offline ONNX, shipped) or the model name served at base_url.
    embedder: str = "minilm"
    # The answer backend.
    backend: str | None = None  # "openai" | "extractive"; None: openai if base_url is set
    base_url: str | None = None
    api_key: Secret = field(default_factory=lambda: Secret(""))
    model: str | None = None
    timeout: float = 60.0
    max_retries: int = 3
    retry_backoff: float = 0.5  # seconds before the first retry; doubles each time
    temperature: float = 0.0
    # Retrieval.
    top_k: int = 6
    # Evidence answers a question only with both this dense similarity and this share of the
    # question's key terms, weighted by rarity (calibrated on evals/questions: out-of-corpus
    # questions reach at most 0.38, answerable ones at least 0.53; see `assistant eval`).
    relevance_floor: float = 0.10
    coverage_floor: float = 0.45
    # Verification.
    # A cited sentence must reach this embedding similarity to its best cited evidence sentence
    # (faithful paraphrases score 0.59-0.89 with MiniLM, claims the source does not make 0.03-0.39)
    support_floor: float = 0.45
    term_floor: float = 0.4  # share of a cited sentence's key terms its sources must contain

    @property
    def data_dir(self) -> Path:
        return self.index_dir.parent

    @property
    def endpoint_configured(self) -> bool:
        return bool(self.base_url)

    @property
    def chosen_backend(self) -> str:
        """The backend to use: explicit choice, else openai when an endpoint is configured."""
        if self.backend:
            return self.backend
        return "openai" if self.endpoint_configured else "extractive"

    def public_dict(self) -> dict[str, Any]:
        """Every setting, printable: the API key reduced to whether it is set."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Secret):
                value = "set" if value else "not set"
            elif isinstance(value, Path):
                value = str(value)
            out[f.name] = value
        return out


# The OpenAI client's own variables, read after the ASSISTANT_* ones.
_OPENAI_ENV = {"base_url": "OPENAI_BASE_URL", "api_key": "OPENAI_API_KEY"}
_BACKENDS = ("openai", "extractive")


def _coerce(name: str, raw: Any) -> Any:
    kind = {f.name: f.type for f in fields(Settings)}[name]
    if raw is None:
        return None
    try:
        if "Secret" in str(kind):
            return raw if isinstance(raw, Secret) else Secret(str(raw))
        if "Path" in str(kind):
            return Path(raw).expanduser()
        if kind == "float":
            return float(raw)
        if kind == "int":
            return int(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"setting {name!r} has the value {raw!r}; expected {kind}") from None
    return str(raw) if raw != "" else None


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    return Path(environ.get("ASSISTANT_CONFIG") or _config_home() / "config.toml")


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML ({exc}); fix or remove it") from None
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"config file {path} has unknown settings {unknown}; known: {sorted(known)}")
    return data


def load_settings(
    flags: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Resolve every setting from flags > environment > config file > defaults.

    `flags` holds only what the user gave on the command line (None values are ignored).
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}  # where each value came from: "file", "env", "openai-env", "flag"

    def take(source: Mapping[str, Any], label: str) -> None:
        for name, value in source.items():
            values[name], origin[name] = value, label

    take(_read_toml(config_path(environ)), "file")
    take({name: environ[var] for name, var in _OPENAI_ENV.items() if environ.get(var)}, "openai-env")
    take({f.name: environ[f"ASSISTANT_{f.name.upper()}"] for f in fields(Settings)
          if environ.get(f"ASSISTANT_{f.name.upper()}")}, "env")
    take({k: v for k, v in (flags or {}).items() if v is not None}, "flag")
    if origin.get("api_key") == "openai-env" and origin.get("base_url", "openai-env") != "openai-env":
        # An exported OPENAI_API_KEY belongs to OpenAI (or to the OPENAI_BASE_URL set beside it):
        # never hand it to an endpoint named elsewhere. Give that endpoint its own key instead.
        del values["api_key"]
    settings = Settings(**{name: _coerce(name, raw) for name, raw in values.items()})
    if settings.backend is not None and settings.backend not in _BACKENDS:
        raise ConfigError(f"unknown backend {settings.backend!r}; choose one of {', '.join(_BACKENDS)}")
    return settings


def setting_names() -> frozenset[str]:
    return frozenset(f.name for f in fields(Settings))


def replace(settings: Settings, **changes: Any) -> Settings:
    return dataclasses.replace(settings, **changes)
