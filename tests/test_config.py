"""Settings: flags > environment > config file > defaults, and keys that never print or stray."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import ConfigError, Secret, load_settings


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
