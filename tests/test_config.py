"""config.yaml: errors name the line and what is wrong; unknown keys and wrong types are rejected."""

from __future__ import annotations

from pathlib import Path

import pytest

from voice.cli import main
from voice.config import load_config
from voice.errors import ConfigError


def _with(project: Path, old: str, new: str) -> Path:
    path = project / "config.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return path


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_shipped_config_loads(config) -> None:
    assert config.household.partners == ("Sam", "Alex")
    assert config.wake.phrase == "hey lantern"
    assert [line.number for line in config.helplines()][:2] == ["9 8 8", "9 1 1"]


def test_unknown_key_names_line(project_copy: Path) -> None:
    path = _with(project_copy, "  rate_wpm: 150", "  rate_wmp: 150")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert f"config.yaml:{_line_of(path, 'rate_wmp')}:" in str(err.value)
    assert "unknown key 'rate_wmp'" in str(err.value) and "rate_wpm" in str(err.value)


def test_wrong_type_names_line(project_copy: Path) -> None:
    path = _with(project_copy, "  volume: 0.8", "  volume: loud")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert f":{_line_of(path, 'volume: loud')}:" in str(err.value)
    assert "tts.volume should be a number" in str(err.value)


def test_broken_yaml_names_line(project_copy: Path) -> None:
    path = _with(project_copy, "  phrase: hey lantern", "  phrase: [hey lantern")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "not valid YAML" in str(err.value)
    assert f"config.yaml:{_line_of(path, 'phrase: [')}" in str(err.value) or "config.yaml:" in str(err.value)


def test_choice_and_country_checked(project_copy: Path) -> None:
    path = _with(project_copy, "  engine: auto", "  engine: whisper")
    with pytest.raises(ConfigError, match="stt.engine must be one of auto, vosk, pocketsphinx"):
        load_config(path)
    path = _with(project_copy, "  engine: whisper", "  engine: auto")
    path = _with(project_copy, "  country: US", "  country: FR")
    with pytest.raises(ConfigError, match="no help lines for country 'FR'"):
        load_config(path)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope.yaml")


def test_lantern_check_exit_code(project_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _with(project_copy, "  partners: [Sam, Alex]", "  partners: [Sam]")
    assert main(["check", "--config", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"config.yaml:{_line_of(path, 'partners: [Sam]')}: household.partners needs exactly two names" in err
    assert "Traceback" not in err


def test_config_error_survives_pickling() -> None:
    """The benchmark's workers send errors back pickled; one that could not be rebuilt hung the pool."""
    import pickle

    from voice.errors import Where

    error = pickle.loads(pickle.dumps(ConfigError(Where("dialogs/en/intents.yaml", 12), "a word is missing")))
    assert isinstance(error, ConfigError)
    assert str(error) == "dialogs/en/intents.yaml:12: a word is missing"
    assert error.where.line == 12
