"""Settings: flags > environment > config file > defaults, and keys that never print or stray."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import cli
from assistant.config import _SETTINGS, ConfigError, Secret, Settings, load_settings
from assistant.resources import PROMPT_FIELDS, placeholders, prompt, use_prompts


def env_with(tmp_path: Path, toml: str = "", **variables: str) -> dict[str, str]:
    config = tmp_path / "config.toml"
    config.write_text(toml, encoding="utf-8")
    return {"ASSISTANT_CONFIG": str(config), **variables}


def test_defaults_are_offline_and_extractive(tmp_path) -> None:
    settings = load_settings({}, env_with(tmp_path))
    assert settings.chosen_backend == "extractive" and settings.base_url is None and not settings.api_key


def test_flags_beat_environment_beat_file_beat_defaults(tmp_path) -> None:
    environ = env_with(tmp_path, 'model = "from-file"\ntop_k = 3\ntimeout = 9\n',
                       ASSISTANT_MODEL="from-env", ASSISTANT_TOP_K="4")
    settings = load_settings({"model": "from-flag"}, environ)
    assert (settings.model, settings.answer.top_k, settings.timeout) == ("from-flag", 4, 9.0)
    assert load_settings({}, environ).model == "from-env"


def test_an_endpoint_chooses_the_openai_backend(tmp_path) -> None:
    settings = load_settings({}, env_with(tmp_path, OPENAI_BASE_URL="http://127.0.0.1:11434/v1"))
    assert settings.chosen_backend == "openai"
    assert load_settings({"backend": "extractive"}, env_with(tmp_path, OPENAI_BASE_URL="http://x/v1")).chosen_backend == "extractive"


def test_an_openai_key_alone_calls_no_cloud_api(tmp_path) -> None:
    settings = load_settings({}, env_with(tmp_path, OPENAI_API_KEY="sk-live-123"))
    assert settings.chosen_backend == "extractive"


def test_an_exported_openai_key_is_not_sent_to_an_endpoint_named_elsewhere(tmp_path) -> None:
    environ = env_with(tmp_path, OPENAI_API_KEY="sk-live-123")
    assert not load_settings({"base_url": "http://127.0.0.1:8000/v1"}, environ).api_key
    assert load_settings({}, environ | {"OPENAI_BASE_URL": "http://vllm:8000/v1"}).api_key.reveal() == "sk-live-123"
    own_key = load_settings({"base_url": "http://127.0.0.1:8000/v1", "api_key": "local-key"}, environ)
    assert own_key.api_key.reveal() == "local-key"
    assert load_settings({"base_url": "http://h/v1"}, environ | {"ASSISTANT_API_KEY": "mine"}).api_key.reveal() == "mine"


def test_the_key_never_prints(tmp_path) -> None:
    settings = load_settings({"api_key": "sk-SECRET-999"}, env_with(tmp_path))
    assert "sk-SECRET-999" not in repr(settings) and "sk-SECRET-999" not in str(settings.public_dict())
    assert settings.public_dict()["api_key"] == "set" and repr(Secret("x")) == "Secret('***')"


@pytest.mark.parametrize("toml, message", [
    ("model = ", "not valid TOML"),
    ("modle = 'x'", "unknown settings"),
    ("top_k = 'many'", "expected int"),
    ("backend = 'gpt'", "unknown backend"),
])
def test_bad_config_is_one_clear_error(tmp_path, toml, message) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings({}, env_with(tmp_path, toml))


# -- sections: precedence, checks, sources ---------------------------------------------------------

@pytest.mark.parametrize("name, table, values", [
    ("retrieval.alpha", "retrieval", ("0.2", "0.3", "0.4")),
    ("retrieval.per_paper", "retrieval", ("2", "3", "4")),
    ("retrieval.chunk_tokens", "retrieval", ("100", "120", "140")),
    ("answer.top_k", "answer", ("3", "4", "5")),
    ("answer.support_floor", "answer", ("0.2", "0.3", "0.4")),
    ("extractive.meaning", "extractive", ("0.2", "0.3", "0.4")),
])
def test_each_section_resolves_flag_over_env_over_file_over_default(tmp_path, name, table, values) -> None:
    field_name = name.partition(".")[2]
    from_file, from_env, from_flag = values
    key, var = name.replace(".", "__"), "ASSISTANT_" + name.replace(".", "__").upper()
    default = load_settings({}, env_with(tmp_path)).value(name)
    environ = env_with(tmp_path, f"[{table}]\n{field_name} = {from_file}\n")
    assert str(load_settings({}, environ).value(name)) == from_file
    assert str(load_settings({}, environ | {var: from_env}).value(name)) == from_env
    flagged = load_settings({key: type(default)(from_flag)}, environ | {var: from_env})
    assert str(flagged.value(name)) == from_flag
    assert (flagged.origin(name), load_settings({}, environ | {var: from_env}).origin(name)) == ("flag", f"env {var}")
    assert str(default) not in values and load_settings({}, env_with(tmp_path)).origin(name) == "default"


def test_the_answer_settings_keep_their_former_top_level_names(tmp_path) -> None:
    settings = load_settings({}, env_with(tmp_path, "top_k = 3\nsupport_floor = 0.5\n", ASSISTANT_TERM_FLOOR="0.3"))
    assert (settings.answer.top_k, settings.answer.support_floor, settings.answer.term_floor) == (3, 0.5, 0.3)
    with pytest.raises(ConfigError, match="sets answer.top_k twice"):
        load_settings({}, env_with(tmp_path, "top_k = 3\n[answer]\ntop_k = 4\n"))


def test_defaults_are_the_values_the_modules_had() -> None:
    settings = Settings()
    assert (settings.retrieval.fusion, settings.retrieval.alpha, settings.retrieval.depth) == ("score", 0.5, 50)
    assert (settings.retrieval.chunk_tokens, settings.retrieval.chunk_overlap, settings.retrieval.per_paper) == (230, 40, 1)
    assert (settings.answer.top_k, settings.answer.relevance_floor, settings.answer.coverage_floor) == (6, 0.10, 0.45)
    assert (settings.extractive.meaning, settings.extractive.keep_ratio, settings.extractive.max_sentences) == (0.5, 0.7, 5)


def _bad_values() -> list[tuple[str, str]]:
    """Every numeric setting with nan, inf and a value just past each end of its range."""
    cases = []
    for name, spec in _SETTINGS.items():
        rule = spec.metadata.get("rule")
        if rule is None or rule.choices:
            continue
        cases += [(name, "nan"), (name, "inf"), (name, "-inf")]
        cases += [(name, str(bound)) for bound in (rule.low - 1, rule.high + 1) if math.isfinite(bound)]
        if rule.above_low:
            cases.append((name, str(rule.low)))
    return cases + [("retrieval.fusion", "borda"), ("answer.top_k", "3.5"), ("timeout", "soon")]


@pytest.mark.parametrize("name, bad", _bad_values())
def test_every_bad_value_is_one_line_naming_the_setting(tmp_path, name, bad) -> None:
    var = "ASSISTANT_" + name.replace(".", "__").upper()
    with pytest.raises(ConfigError) as error:
        load_settings({}, env_with(tmp_path, **{var: bad}))
    message = str(error.value)
    assert message.startswith(f"{name} must be ") and f"got {bad}" in message and var in message
    assert "\n" not in message


@pytest.mark.parametrize("toml", ["timeout = 1e999", "timeout = nan", "timeout = 0", "timeout = -5", "timeout = -inf",
                                  "timeout = true", "timeout = '1 minute'"])
def test_a_bad_timeout_in_the_file_names_the_setting_and_the_file(tmp_path, toml) -> None:
    with pytest.raises(ConfigError, match=r"^timeout must be a positive number of seconds") as error:
        load_settings({}, env_with(tmp_path, toml))
    assert str(tmp_path / "config.toml") in str(error.value)


@pytest.mark.parametrize("toml, named", [
    ("[retreival]\nalpha = 0.5", "retreival"),
    ("[retrieval]\nalfa = 0.5", "retrieval.alfa"),
    ("[answer]\ntop_k = 3\nfloor = 1", "answer.floor"),
    ("retrieval__alpha = 0.5", "retrieval__alpha"),
    ("retrieval = 0.5", "retrieval must be a table"),
])
def test_unknown_keys_and_tables_are_named(tmp_path, toml, named) -> None:
    with pytest.raises(ConfigError, match=re.escape(named)):
        load_settings({}, env_with(tmp_path, toml))


def test_chunk_overlap_must_stay_below_the_chunk_size(tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"retrieval.chunk_overlap \(300\) must be smaller than retrieval.chunk_tokens"):
        load_settings({}, env_with(tmp_path, "[retrieval]\nchunk_overlap = 300\n"))


# -- prompts -------------------------------------------------------------------------------------

@pytest.fixture
def prompts_dir(tmp_path: Path):
    directory = tmp_path / "prompts"
    directory.mkdir()
    yield directory
    use_prompts(None)


def test_the_shipped_prompts_use_exactly_the_declared_placeholders() -> None:
    for name, expected in PROMPT_FIELDS.items():
        assert placeholders(prompt(name)) == expected, name


@pytest.mark.parametrize("text, problem", [
    ("Answer from {evidence} only. {question}", "lacks the placeholder {sentinel}"),
    ("{evidence} {question} {sentinel} {language}", "uses the placeholder {language}"),
    ("{evidence} {question} {sentinel} {", "not a valid template"),
])
def test_a_prompt_with_other_placeholders_is_one_line_naming_file_and_placeholder(tmp_path, prompts_dir, text, problem) -> None:
    (prompts_dir / "answer.txt").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_settings({}, env_with(tmp_path, ASSISTANT_PROMPTS_DIR=str(prompts_dir)))
    message = str(error.value)
    assert message.startswith("prompts_dir: ") and str(prompts_dir / "answer.txt") in message and problem in message
    assert "ASSISTANT_PROMPTS_DIR" in message and "\n" not in message


def test_a_stray_file_in_the_prompts_directory_is_named(tmp_path, prompts_dir) -> None:
    (prompts_dir / "anwser.txt").write_text("{question}", encoding="utf-8")
    with pytest.raises(ConfigError, match="anwser.txt is no prompt the assistant uses"):
        load_settings({}, env_with(tmp_path, f"prompts_dir = '{prompts_dir}'"))


def test_a_users_prompt_replaces_the_shipped_one_and_the_rest_stay(tmp_path, prompts_dir) -> None:
    (prompts_dir / "system.txt").write_text("Be brief. Refuse with {sentinel}.", encoding="utf-8")
    settings = load_settings({}, env_with(tmp_path, f"prompts_dir = '{prompts_dir}'"))
    shipped_answer = prompt("answer")
    use_prompts(settings.prompts_dir)
    assert prompt("system") == "Be brief. Refuse with {sentinel}." and prompt("answer") == shipped_answer
    use_prompts(None)
    assert prompt("system") != "Be brief. Refuse with {sentinel}."


# -- the command line ----------------------------------------------------------------------------

def run_cli(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["assistant", *args])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


@pytest.mark.parametrize("value", ["inf", "1e309", "nan", "0", "-5"])
def test_a_bad_timeout_flag_exits_2_with_one_line(isolated_env, monkeypatch, capsys, value) -> None:
    code, out, err = run_cli(monkeypatch, capsys, "ask", "--timeout", value, "which papers stabilize attention?")
    assert (code, out) == (2, "")
    assert err.startswith("error: timeout must be a positive number of seconds") and err.count("\n") == 1
    assert "set by a flag" in err and "Traceback" not in err


def test_a_bad_timeout_in_the_file_ends_the_real_command_with_one_line(tmp_path) -> None:
    (tmp_path / "config.toml").write_text("timeout = 1e999\n", encoding="utf-8")
    environ = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "ASSISTANT_CONFIG": str(tmp_path / "config.toml")}
    result = subprocess.run([sys.executable, "-c", "from assistant.cli import main; main()", "search", "attention"],
                            capture_output=True, text=True, env=environ, timeout=60)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: timeout must be a positive number of seconds (at most 86400), got inf")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_assistant_config_shows_each_value_and_where_it_came_from(tmp_path, monkeypatch, capsys) -> None:
    for name, value in env_with(tmp_path, "model = 'from-file'\n[retrieval]\nalpha = 0.7\n",
                                ASSISTANT_ANSWER__TOP_K="4", OPENAI_API_KEY="sk-SECRET-42",
                                XDG_DATA_HOME=str(tmp_path / "data")).items():
        monkeypatch.setenv(name, value)
    code, out, _ = run_cli(monkeypatch, capsys, "config", "--timeout", "30", "--json")
    shown = json.loads(out)
    assert code == 0 and "sk-SECRET-42" not in out
    assert shown["config_file"] == str(tmp_path / "config.toml")
    assert shown["index_dir"] == str(tmp_path / "data" / "assistant" / "index")
    assert shown["data_dir"] == str(tmp_path / "data" / "assistant")
    rows = shown["settings"]
    assert rows["model"] == {"value": "from-file", "source": "file"}
    assert rows["retrieval.alpha"] == {"value": 0.7, "source": "file"}
    assert rows["answer.top_k"] == {"value": 4, "source": "env ASSISTANT_ANSWER__TOP_K"}
    assert rows["timeout"] == {"value": 30.0, "source": "flag"}
    assert rows["api_key"] == {"value": "set", "source": "env OPENAI_API_KEY"}
    assert rows["extractive.meaning"] == {"value": 0.5, "source": "default"}
    code, out, _ = run_cli(monkeypatch, capsys, "config")
    assert code == 0 and "sk-SECRET-42" not in out
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    assert lines["answer.top_k"] == ["4", "env", "ASSISTANT_ANSWER__TOP_K"] and lines["model"] == ["from-file", "file"]
    assert lines["api_key"] == ["set", "env", "OPENAI_API_KEY"] and lines["temperature"] == ["0.0", "default"]
    assert "data dir" in out and str(tmp_path / "data" / "assistant") in out


def test_the_filter_options_reach_papers(isolated_env, seed_settings, monkeypatch, capsys) -> None:
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(seed_settings.index_dir))
    code, out, _ = run_cli(monkeypatch, capsys, "papers", "--year", "2024", "--category", "cl", "--json")
    papers = json.loads(out)
    assert code == 0 and papers and all(p["year"] == 2024 and p["category"].upper() == "CL" for p in papers)
    code, _, err = run_cli(monkeypatch, capsys, "papers", "--year", "last year")
    assert code == 2 and "year filter" in err
