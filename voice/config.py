"""config.yaml: frozen dataclasses, loaded with line-numbered errors.

A non-programmer edits config.yaml, so every mistake is reported as `file:line: what is wrong`, and
unknown keys are rejected (a typo must not be silently ignored at 3 AM).
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from voice.errors import ConfigError, Where

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent.parent / "config.yaml"


def data_dir() -> Path:
    """Where Lantern keeps models and (later) the journal: $XDG_DATA_HOME/lantern."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "lantern"


@dataclass(frozen=True)
class Helpline:
    name: str
    """Spoken name of the service."""
    number: str
    """Written as it should be said, digit groups apart: "1 800 944 4773"."""
    how: str = "call"
    """"call", "call or text", "text"."""
    always_open: bool = True
    """Open 24/7: these are named first at night."""


@dataclass(frozen=True)
class Household:
    partners: tuple[str, ...] = ("Sam", "Alex")
    """The two people's first names, as Lantern should hear and say them."""
    country: str = "US"
    """Which help lines to name (a key of crisis.helplines)."""


@dataclass(frozen=True)
class Wake:
    phrase: str = "hey lantern"
    """Said before a command; every word must be in the recogniser's dictionary."""
    follow_up_seconds: float = 6.0
    """After a question or a bare wake phrase, how long an answer needs no wake phrase."""


@dataclass(frozen=True)
class Stt:
    engine: Literal["auto", "vosk", "pocketsphinx"] = "auto"
    """auto: vosk when its model is installed, else pocketsphinx."""
    vosk_model: str | None = None
    """Directory of a vosk model; default: the data directory's vosk-model-small-en-us-0.15."""
    min_confidence: float = 0.0
    """Transcripts the recogniser believes less than this (0..1) are ignored."""


@dataclass(frozen=True)
class Tts:
    rate_wpm: int = 150
    """Speaking rate in words per minute."""
    volume: float = 0.8
    """0..1; "quieter" and "louder" move it in steps."""
    voice: str = "en-us"
    """espeak-ng voice name."""


@dataclass(frozen=True)
class Audio:
    input_device: str | int | None = None
    """Microphone: part of its name or its index from `lantern devices`; null for the system default."""
    output_device: str | int | None = None
    """Speaker, likewise."""
    endpoint_silence_ms: int = 240
    """Silence that ends an utterance."""
    vad_aggressiveness: int = 2
    """webrtcvad 0..3: higher ignores more noise."""
    chimes: bool = True
    """Soft chimes when Lantern starts and stops listening."""


@dataclass(frozen=True)
class Crisis:
    helplines: dict[str, tuple[Helpline, ...]] = field(default_factory=dict)
    """Per country code: the lines Lantern names when someone is in danger."""


@dataclass(frozen=True)
class Config:
    household: Household = Household()
    wake: Wake = Wake()
    stt: Stt = Stt()
    tts: Tts = Tts()
    audio: Audio = Audio()
    crisis: Crisis = Crisis()
    dialogs_dir: str = "dialogs/en"
    """Intent templates and replies, relative to this file."""
    path: Path = DEFAULT_CONFIG_PATH
    """The file this was loaded from (not a YAML key)."""

    def dialogs_path(self) -> Path:
        return (self.path.parent / self.dialogs_dir).resolve()

    def helplines(self) -> tuple[Helpline, ...]:
        return self.crisis.helplines.get(self.household.country, ())


def load_config(path: Path | str | None = None) -> Config:
    """Read and validate config.yaml; raise ConfigError naming the line."""
    path = Path(path) if path is not None else DEFAULT_CONFIG_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(Where(path), "no such file; copy config.yaml from the Lantern folder") from None
    except OSError as exc:
        raise ConfigError(Where(path), f"cannot read it: {exc.strerror}") from None
    try:
        node = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(Where(path, line), f"not valid YAML: {problem}") from None
    if node is None:
        node = yaml.MappingNode("tag:yaml.org,2002:map", [])
    values = _convert(node, Config, "config", path)
    config = dataclasses.replace(values, path=path.resolve())
    _check_meaning(config, node, path)
    return config


def _check_meaning(config: Config, root: yaml.Node, path: Path) -> None:
    """Rules that need more than one value."""
    if len(config.household.partners) != 2:
        raise ConfigError(Where(path, _line_of(root, "household", "partners")), "household.partners needs exactly two names")
    if config.household.country not in config.crisis.helplines:
        known = ", ".join(sorted(config.crisis.helplines)) or "none"
        raise ConfigError(
            Where(path, _line_of(root, "household", "country")),
            f"no help lines for country {config.household.country!r} under crisis.helplines (have: {known})",
        )
    if not 0.0 <= config.tts.volume <= 1.0:
        raise ConfigError(Where(path, _line_of(root, "tts", "volume")), "tts.volume must be between 0 and 1")
    if not 0 <= config.audio.vad_aggressiveness <= 3:
        raise ConfigError(Where(path, _line_of(root, "audio", "vad_aggressiveness")), "audio.vad_aggressiveness must be 0, 1, 2 or 3")
    if not 60 <= config.audio.endpoint_silence_ms <= 3000:
        raise ConfigError(Where(path, _line_of(root, "audio", "endpoint_silence_ms")), "audio.endpoint_silence_ms must be 60..3000")


def _line_of(root: yaml.Node, *keys: str) -> int | None:
    node: yaml.Node | None = root
    line = None
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            break
        for k, v in node.value:
            if k.value == key:
                line, node = k.start_mark.line + 1, v
                break
        else:
            break
    return line


def _convert(node: yaml.Node, hint: Any, name: str, path: Path) -> Any:
    """Turn a YAML node into a value of type `hint`, or raise ConfigError at the node's line."""
    where = Where(path, node.start_mark.line + 1)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    is_null = isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"

    if origin in (typing.Union, types.UnionType):
        if is_null and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return _convert(node, option, name, path)
            except ConfigError as exc:
                errors.append(exc)
        raise errors[0] if len(errors) == 1 else ConfigError(where, f"{name}: {_describe(node)} is not allowed here ({_type_name(hint)})")
    if origin is Literal:
        value = _scalar(node, name, path)
        if value not in args:
            raise ConfigError(where, f"{name} must be one of {', '.join(map(str, args))}, not {value!r}")
        return value
    if dataclasses.is_dataclass(hint):
        if not isinstance(node, yaml.MappingNode):
            raise ConfigError(where, f"{name} should be a section of keys, not {_describe(node)}")
        fields = {f.name: f for f in dataclasses.fields(hint) if f.name != "path"}
        hints = typing.get_type_hints(hint)
        values = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if key not in fields:
                raise ConfigError(
                    Where(path, key_node.start_mark.line + 1),
                    f"unknown key {key!r} in {name} (expected one of: {', '.join(fields)})",
                )
            values[key] = _convert(value_node, hints[key], f"{name}.{key}".removeprefix("config."), path)
        return hint(**values)
    if origin is tuple:
        if not isinstance(node, yaml.SequenceNode):
            raise ConfigError(where, f"{name} should be a list, not {_describe(node)}")
        return tuple(_convert(item, args[0], f"{name}[{i}]", path) for i, item in enumerate(node.value))
    if origin is dict:
        if not isinstance(node, yaml.MappingNode):
            raise ConfigError(where, f"{name} should be a section of keys, not {_describe(node)}")
        return {
            str(_scalar(k, name, path)): _convert(v, args[1], f"{name}.{k.value}", path) for k, v in node.value
        }
    value = _scalar(node, name, path)
    if hint is bool and isinstance(value, bool):
        return value
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is str and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    raise ConfigError(where, f"{name} should be {_type_name(hint)}, not {_describe(node)}")


def _scalar(node: yaml.Node, name: str, path: Path) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        raise ConfigError(Where(path, node.start_mark.line + 1), f"{name} should be a single value, not {_describe(node)}")
    return yaml.safe_load(yaml.serialize(node))


def _describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a section"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return repr(node.value) if node.value != "" else "empty"


def _type_name(hint: Any) -> str:
    names = {str: "text", int: "a whole number", float: "a number", bool: "true or false", type(None): "null"}
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(hint))
    return names.get(hint, getattr(hint, "__name__", str(hint)))
