"""Settings: one typed object, resolved as command-line flags > environment > TOML file > defaults.

Every setting has a name: a top-level one (`timeout`, `base_url`, `index_dir`, ...) or one of a
section (`retrieval.alpha`, `answer.top_k`, `extractive.meaning`). `assistant config` lists them
all with their values and where each came from.

Environment: ASSISTANT_<NAME> in capitals, a double underscore between section and field
(ASSISTANT_TIMEOUT, ASSISTANT_INDEX_DIR, ASSISTANT_RETRIEVAL__ALPHA, ASSISTANT_ANSWER__TOP_K),
then the OpenAI client's own OPENAI_BASE_URL and OPENAI_API_KEY. An OPENAI_API_KEY is only sent
to OpenAI or to the OPENAI_BASE_URL beside it, never to an endpoint given by flag or config file.
Config file: $ASSISTANT_CONFIG, else $XDG_CONFIG_HOME/assistant/config.toml; top-level settings
as keys, sections as tables:

    base_url = "http://localhost:11434/v1"
    [retrieval]
    alpha = 0.6
    [answer]
    top_k = 8

The answer settings were top-level once: `top_k` and the four floors are still read at the top
of the file and as ASSISTANT_TOP_K, ASSISTANT_RELEVANCE_FLOOR, ... Flags reach load_settings
under the environment's names in lower case (`timeout`, `answer__top_k`).

Every value is checked (its type, finite, in range); a bad one, an unknown key in the file, or a
prompt file in `prompts_dir` whose placeholders are not the ones the code fills in is a one-line
ConfigError naming the setting and where it was set.
"""

from __future__ import annotations

import dataclasses
import math
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


@dataclass(frozen=True)
class Rule:
    """The values a number or a choice may take; `text` says which, in an error."""

    text: str
    low: float = -math.inf
    high: float = math.inf
    above_low: bool = False  # the low end itself is not allowed
    choices: tuple[str, ...] = ()

    def allows(self, value: Any) -> bool:
        if self.choices:
            return value in self.choices
        above = value > self.low if self.above_low else value >= self.low
        return math.isfinite(value) and above and value <= self.high


def _checked(default: Any, rule: Rule) -> Any:
    return field(default=default, metadata={"rule": rule})


def _share(default: float) -> Any:
    return _checked(default, Rule("a number from 0 to 1", 0, 1))


def _similarity(default: float) -> Any:
    return _checked(default, Rule("a cosine similarity from -1 to 1", -1, 1))


def _count(default: int, low: int, high: int) -> Any:
    return _checked(default, Rule(f"a whole number from {low} to {high}", low, high))


@dataclass(frozen=True)
class RetrievalSettings:
    """How dense and BM25 rankings combine, how many chunks a paper may place, how abstracts are cut.

    Fusion (chosen on the dev set: see evals/bench_retrieval.py): "score" ranks each paper by
    alpha * dense similarity (min-max scaled over the candidates) + (1 - alpha) * BM25 score (as
    a share of the best candidate's). A convex combination keeps how decisive each match is: an
    author name or a number that BM25 scores far above every other paper outweighs a dense
    near-tie. "rrf": reciprocal rank fusion over chunks, the sum of weight / (rrf_k + rank),
    which keeps only the ranks.
    """

    fusion: str = _checked("score", Rule('"score" or "rrf"', choices=("score", "rrf")))
    alpha: float = _share(0.5)  # the dense share, for "score"
    rrf_k: float = _checked(60.0, Rule("a positive number", 0, above_low=True))
    dense_weight: float = _checked(1.0, Rule("a number of at least 0", 0))  # for "rrf"
    bm25_weight: float = _checked(1.0, Rule("a number of at least 0", 0))  # for "rrf"
    depth: int = _count(50, 1, 10_000)  # candidate chunks taken from each ranker
    # For "score": BM25 shares are of the best candidate's score or, when higher, of this multiple
    # of what a chunk of average length holding every word of the question once scores (0: the
    # best candidate's alone). Chosen on the dev and seed questions (evals/results/answers.md).
    bm25_reference: float = _checked(1.25, Rule("a number of at least 0", 0))
    # For "score": how far the dense query moves toward the stored vectors of the best papers of a
    # first fused ranking before dense ranks again (Rocchio feedback; 0: no second pass). See
    # retrieve.FEEDBACK_PAPERS and evals/README.md.
    feedback_weight: float = _checked(0.5, Rule("a number of at least 0", 0))
    per_paper: int = _count(1, 1, 1_000)  # chunks of one paper a search returns at most
    # Chunks are counted in the embedding model's word pieces: 230 leaves room for the title
    # line and [CLS]/[SEP] within MiniLM's 256. Changing either re-chunks at the next ingest.
    chunk_tokens: int = _count(230, 32, 8_192)
    chunk_overlap: int = _count(40, 0, 8_191)


@dataclass(frozen=True)
class AnswerSettings:
    """How many papers an answer draws on, and the floors that decide relevance and support."""

    top_k: int = _count(6, 1, 50)
    # Evidence answers a question only with both this dense similarity and this share of the
    # question's key terms, weighted by rarity (calibrated on evals/questions: out-of-corpus
    # questions reach at most 0.38, answerable ones at least 0.53; see `assistant eval`).
    relevance_floor: float = _similarity(0.10)
    coverage_floor: float = _share(0.45)
    # A cited sentence must reach this embedding similarity to its best cited evidence sentence
    # (faithful paraphrases score 0.59-0.89 with MiniLM, claims the source does not make 0.03-0.39)
    support_floor: float = _similarity(0.45)
    term_floor: float = _share(0.4)  # share of a cited sentence's key terms its sources must contain


@dataclass(frozen=True)
class ExtractiveWeights:
    """How the extractive backend scores a sentence's relevance and how many it picks (tuned on evals/)."""

    meaning: float = _share(0.50)  # cosine similarity of sentence and question
    terms: float = _share(0.25)  # share of the question's (idf-weighted) terms in the sentence
    prior: float = _share(0.25)  # how well the sentence's paper as a whole answers
    specific: float = _share(0.10)  # bonus for stating findings (figures, "we show"), not background
    answers: float = _share(0.30)  # the kind of sentence asked for: a definition, a figure, a method
    context: float = _share(0.5)  # share of its paper's best relevance a sentence inherits
    diversity: float = _share(0.30)  # MMR within a paper: weight of the penalty for resembling a pick
    duplicate: float = _similarity(0.90)  # cosine above which a sentence repeats a picked one
    keep_ratio: float = _share(0.70)  # papers and further sentences scoring below this share of the best are left out
    shortlist: int = _count(6, 1, 1_000)  # sentences embedded: the best by the cheap scores...
    shortlist_per_paper: int = _count(3, 1, 100)  # ...at most this many from one paper
    max_sentences: int = _count(5, 1, 50)
    min_sentences: int = _count(1, 0, 50)  # picked even when below keep_ratio, if there are that many
    per_paper: int = _count(3, 1, 50)


def _data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "assistant"


def _config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "assistant"


@dataclass(frozen=True)
class Settings:
    # Where things live.
    index_dir: Path = field(default_factory=lambda: _data_home() / "index")
    data_dir: Path = field(default_factory=_data_home)  # chat sessions, logs, eval results; not moved by index_dir
    seeds_dir: Path | None = None  # a library path every ingest adds to the sources (the old name of ingest PATH)
    prompts_dir: Path | None = None  # None: the shipped prompts; files here replace them by name
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
    # A deadline for the whole request: a CPU model reads a long prompt at ~100-200 tokens/s
    # (a 2,500-token prompt is ~20 s on 2 cores), then writes the reply.
    timeout: float = _checked(300.0, Rule("a positive number of seconds (at most 86400)", 0, 86_400, above_low=True))
    max_tokens: int = _count(1024, 16, 32_768)  # the longest reply asked for
    # The model's context window when the server does not tell (llama-server, Ollama and vLLM do):
    # the evidence is trimmed to fit it, with room for the instructions and the reply.
    context_tokens: int = _count(4096, 512, 1_048_576)
    # How the model cites: "json" (structured output, when the endpoint supports it), "markers"
    # ([n] in plain text), or "auto": whichever has kept more model sentences through
    # verification at this endpoint (remembered in the data directory).
    citation_format: str = _checked("auto", Rule('"auto", "json" or "markers"', choices=("auto", "json", "markers")))
    max_retries: int = _count(3, 0, 20)
    # Seconds before the first retry; doubles each time.
    retry_backoff: float = _checked(0.5, Rule("a number of seconds from 0 to 60", 0, 60))
    temperature: float = _checked(0.0, Rule("a number from 0 to 2", 0, 2))
    # The sections.
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    answer: AnswerSettings = field(default_factory=AnswerSettings)
    extractive: ExtractiveWeights = field(default_factory=ExtractiveWeights)
    # Where each setting given by name came from ("flag", "env VAR", "file"); the rest are defaults.
    origins: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def endpoint_configured(self) -> bool:
        return bool(self.base_url)

    @property
    def chosen_backend(self) -> str:
        """The backend to use: explicit choice, else openai when an endpoint is configured."""
        if self.backend:
            return self.backend
        return "openai" if self.endpoint_configured else "extractive"

    def value(self, name: str) -> Any:
        """The value of the setting `name` ("timeout", "retrieval.alpha")."""
        section, _, field_name = name.rpartition(".")
        return getattr(getattr(self, section) if section else self, field_name)

    def origin(self, name: str) -> str:
        return self.origins.get(name, "default")

    def public_dict(self) -> dict[str, Any]:
        """Every setting, printable and nested by section: the API key reduced to whether it is set."""
        out: dict[str, Any] = {}
        for name in _SETTINGS:
            section, _, field_name = name.rpartition(".")
            (out.setdefault(section, {}) if section else out)[field_name] = _printable(self.value(name))
        return out

    def described(self) -> dict[str, dict[str, Any]]:
        """Every setting by name, printable, with where it came from (flag, env VAR, file, default)."""
        return {name: {"value": _printable(self.value(name)), "source": self.origin(name)} for name in _SETTINGS}


def _printable(value: Any) -> Any:
    if isinstance(value, Secret):
        return "set" if value else "not set"
    return str(value) if isinstance(value, Path) else value


_SECTIONS: dict[str, type] = {"retrieval": RetrievalSettings, "answer": AnswerSettings, "extractive": ExtractiveWeights}


def _all_settings() -> dict[str, dataclasses.Field]:
    """Every setting's field by name: top-level ones, then each section's as "section.field"."""
    top = {f.name: f for f in fields(Settings) if f.name not in _SECTIONS and f.name != "origins"}
    return top | {f"{section}.{f.name}": f for section, kind in _SECTIONS.items() for f in fields(kind)}


_SETTINGS = _all_settings()
# Names the answer settings had when they were top-level; still read from the file, env and flags.
_FORMER_NAMES = {name: f"answer.{name}" for name in ("top_k", "relevance_floor", "coverage_floor",
                                                      "support_floor", "term_floor")}
# The OpenAI client's own variables, read after the ASSISTANT_* ones.
_OPENAI_ENV = {"base_url": "OPENAI_BASE_URL", "api_key": "OPENAI_API_KEY"}
# Pairs (smaller, larger) that must stay in order: a chunk's overlap with the next is less than the chunk.
_ORDERED = (("retrieval.chunk_overlap", "retrieval.chunk_tokens"),)


def setting_key(name: str) -> str:
    """The name as a flag or environment key: "retrieval.alpha" -> "retrieval__alpha"."""
    return name.replace(".", "__")


def setting_keys() -> frozenset[str]:
    """Every key load_settings takes as a flag (a setting's key, or a former name)."""
    return frozenset(map(setting_key, _SETTINGS)) | frozenset(_FORMER_NAMES)


def _name_of(key: str) -> str | None:
    name = _FORMER_NAMES.get(key) or key.replace("__", ".")
    return name if name in _SETTINGS else None


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    return Path(environ.get("ASSISTANT_CONFIG") or _config_home() / "config.toml")


def _read_toml(path: Path) -> dict[str, Any]:
    """The file's settings by name ("timeout", "retrieval.alpha"); {} when there is no file."""
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML ({exc}); fix or remove it") from None
    written: list[tuple[str, Any]] = []  # (name as the file writes it, value)
    for key, value in data.items():
        if key not in _SECTIONS:
            written.append((key, value))
        elif isinstance(value, dict):
            written += [(f"{key}.{inner}", inner_value) for inner, inner_value in value.items()]
        else:
            raise ConfigError(f"config file {path}: {key} must be a table, e.g. [{key}] on a line of its own")
    unknown = [name for name, _ in written if name not in _SETTINGS and name not in _FORMER_NAMES]
    if unknown:
        raise ConfigError(f"config file {path} has unknown settings {unknown}",
                          "`assistant config` lists every setting; sections are [retrieval], [answer], [extractive]")
    return _by_name([(setting_key(name), value) for name, value in written], f"config file {path}")


def _by_name(keys: list[tuple[str, Any]], where: str) -> dict[str, Any]:
    """{name: value} from (key, value) pairs; a setting given twice (by two names) is an error."""
    values: dict[str, Any] = {}
    given_as: dict[str, str] = {}
    for key, value in keys:
        name = _name_of(key)
        if name in values:
            raise ConfigError(f"{where} sets {name} twice, as {given_as[name]} and as {key}", "keep one")
        values[name], given_as[name] = value, key
    return values


def _from_environment(environ: Mapping[str, str]) -> dict[str, tuple[Any, str]]:
    """{name: (value, variable)} for every ASSISTANT_* variable that names a setting and is not empty."""
    present = [(key, f"ASSISTANT_{key.upper()}") for key in sorted(setting_keys())]
    present = [(key, var) for key, var in present if environ.get(var)]
    values = _by_name([(key, environ[var]) for key, var in present], "the environment")
    variable = {_name_of(key): var for key, var in present}
    return {name: (value, variable[name]) for name, value in values.items()}


def load_settings(
    flags: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Resolve every setting from flags > environment > config file > defaults, and check it.

    `flags` holds only what the user gave on the command line (None values are ignored), keyed
    as setting_keys() lists. Raises ConfigError naming the setting and where it was set.
    """
    environ = os.environ if environ is None else environ
    path = config_path(environ)
    raw: dict[str, Any] = {}
    origins: dict[str, str] = {}

    def take(values: Mapping[str, tuple[Any, str]]) -> None:
        for name, (value, origin) in values.items():
            raw[name], origins[name] = value, origin

    take({name: (value, "file") for name, value in _read_toml(path).items()})
    take({name: (environ[var], f"env {var}") for name, var in _OPENAI_ENV.items() if environ.get(var)})
    take({name: (value, f"env {var}") for name, (value, var) in _from_environment(environ).items()})
    given = [(key, value) for key, value in (flags or {}).items() if value is not None]
    unknown = [key for key, _ in given if _name_of(key) is None]
    if unknown:
        raise ConfigError(f"unknown settings {unknown} given as flags")
    take({name: (value, "flag") for name, value in _by_name(given, "the command line").items()})
    if origins.get("api_key") == "env OPENAI_API_KEY" and origins.get("base_url", "env OPENAI_BASE_URL") != "env OPENAI_BASE_URL":
        # An exported OPENAI_API_KEY belongs to OpenAI (or to the OPENAI_BASE_URL set beside it):
        # never hand it to an endpoint named elsewhere. Give that endpoint its own key instead.
        del raw["api_key"], origins["api_key"]

    def where(name: str) -> str:
        origin = origins[name]
        return {"file": f"set in {path}", "flag": "set by a flag"}.get(origin, f"set by {origin.removeprefix('env ')}")

    values = {name: _value(name, value, where(name)) for name, value in raw.items()}
    settings = Settings(**{name: value for name, value in values.items() if "." not in name},
                        **{section: kind(**{name.partition(".")[2]: value for name, value in values.items()
                                            if name.startswith(f"{section}.")})
                           for section, kind in _SECTIONS.items()},
                        origins=origins)
    for smaller, larger in _ORDERED:
        if settings.value(smaller) >= settings.value(larger):  # the defaults are in order: one was set
            raise ConfigError(f"{smaller} ({settings.value(smaller)}) must be smaller than {larger} "
                              f"({settings.value(larger)})", where(smaller if smaller in origins else larger))
    # The registry lives with the drafters it opens; imported here, not at the top, so that
    # config stays at the bottom of the import graph.
    from .answer.backends import BACKENDS

    if settings.backend is not None and settings.backend not in BACKENDS:
        raise ConfigError(f"unknown backend {settings.backend!r}; choose one of {', '.join(BACKENDS)}")
    if settings.prompts_dir is not None:
        from .resources import check_prompts

        try:
            check_prompts(settings.prompts_dir)
        except ValueError as exc:
            raise ConfigError(f"prompts_dir: {exc}", where("prompts_dir")) from None
    return settings


def _value(name: str, raw: Any, where: str) -> Any:
    """`raw` as the type of setting `name`, checked against its rule."""
    kind = str(_SETTINGS[name].type)
    rule: Rule | None = _SETTINGS[name].metadata.get("rule")
    shown = raw if isinstance(raw, str) and raw.strip() else repr(raw)
    try:
        value = _coerce(kind, raw)
    except (TypeError, ValueError, OverflowError):
        expected = f"{rule.text} (expected {kind})" if rule else f"a {kind}"
        raise ConfigError(f"{name} must be {expected}, got {shown}", where) from None
    if rule and (value is None or not rule.allows(value)):
        raise ConfigError(f"{name} must be {rule.text}, got {shown}", where)
    return value


def _coerce(kind: str, raw: Any) -> Any:
    if "Secret" in kind:
        return raw if isinstance(raw, Secret) else Secret(str(raw))
    if isinstance(raw, (bool, dict, list)):  # TOML booleans and tables are no setting's type
        raise TypeError(kind)
    if "Path" in kind:
        return Path(os.fspath(raw)).expanduser() if raw != "" else None
    if kind == "float":
        return float(raw)
    if kind == "int":
        if isinstance(raw, float) and not raw.is_integer():
            raise ValueError(raw)
        return int(raw)
    return str(raw) if raw != "" else None


def replace(settings: Settings, **changes: Any) -> Settings:
    return dataclasses.replace(settings, **changes)
