"""Load dialogs/: what Lantern understands (hassil templates) and what it says (response variants).

Everything is validated here, at start-up: each template parses, each list it names exists, each
response key the dialogs need is present, and each {placeholder} is one the dialog fills in. Errors
name the file and line.
"""

from __future__ import annotations

import hashlib
import random
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from hassil import Intents, parse_sentence
from hassil.intents import TextSlotList

from voice.errors import ConfigError, Where

# Response keys the dialogs use, with the placeholders each may contain.
RESPONSE_KEYS: dict[str, frozenset[str]] = {
    **{key: frozenset() for key in (
        "listening", "not_understood", "out_of_reach", "hug_start", "hug_half", "hug_done",
        "play_notes", "checkin_ask", "checkin_low", "checkin_mid", "checkin_high",
        "checkin_no_answer", "breathing_start", "breathing_out", "breathing_in", "breathing_done",
        "talk_time_done", "openers", "repair", "ideas", "bad_day", "professional_help", "progress",
        "whats_next", "snooze_nothing", "skip", "stopped", "nothing_to_repeat", "quieter", "quietest",
        "louder", "loudest", "help", "forget_nothing", "crisis_confirm", "crisis_declined",
    )},
    "appreciation": frozenset({"partner"}),
    "leave_note": frozenset({"partner"}),
    "appreciation_named": frozenset({"partner"}),
    "talk_time_start": frozenset({"opener"}),
    "conversation_starter": frozenset({"opener"}),
    "shared_idea": frozenset({"idea"}),
    "crisis": frozenset({"helplines"}),
    "helpline": frozenset({"how", "name", "number"}),
}

COMMAND_FILE = "intents.yaml"
SAFETY_FILE = "safety.yaml"
ANSWERS_FILE = "answers.yaml"
RESPONSES_FILE = "responses.yaml"
PRONUNCIATIONS_FILE = "pronunciations.yaml"
OTHER_FILE = "other.yaml"


@dataclass(frozen=True)
class Responses:
    """Response variants by key."""

    variants: Mapping[str, tuple[str, ...]]

    def say(self, key: str, rng: random.Random, **values: Any) -> str:
        """One variant of `key`, placeholders filled."""
        return rng.choice(self.variants[key]).format(**values)


@dataclass(frozen=True)
class SafetyKeywords:
    sure: tuple[str, ...]
    """Word sequences that mean danger on their own."""
    weak: tuple[str, ...]
    """Words that might: Lantern asks before acting."""


@dataclass(frozen=True)
class Dialogs:
    commands: Intents
    """The 22 command intents (intents.yaml)."""
    safety: Intents
    """Crisis sentences (safety.yaml)."""
    answers: Intents
    """yes / no / a rating, heard only after a question (answers.yaml)."""
    other: Intents
    """Requests Lantern does not handle (other.yaml): heard, and politely declined."""
    keywords: SafetyKeywords
    responses: Responses
    path: Path
    pronunciations: Mapping[str, tuple[str, ...]]
    """Extra pronunciations (CMU phones) by word, from pronunciations.yaml."""

    def source_key(self) -> str:
        """Changes whenever a file here changes: what the recogniser's cached model depends on."""
        digest = hashlib.sha256()
        for path in sorted(self.path.glob("*.yaml")):
            digest.update(path.name.encode() + path.read_bytes())
        return digest.hexdigest()


def load_dialogs(directory: Path, partners: Sequence[str]) -> Dialogs:
    """Load and validate the four dialog files; partner names fill the {partner} list."""
    partner_list = {"values": [p.lower() for p in partners]}
    commands = _load_intents(directory / COMMAND_FILE, {"partner": partner_list})
    safety_data = _read_yaml(directory / SAFETY_FILE)
    safety = _intents_from(directory / SAFETY_FILE, safety_data, {"partner": partner_list})
    answers = _load_intents(directory / ANSWERS_FILE, {})
    other = _load_intents(directory / OTHER_FILE, {"partner": partner_list})
    keywords = _keywords(directory / SAFETY_FILE, safety_data)
    responses = _load_responses(directory / RESPONSES_FILE)
    if "crisis" not in safety.intents:
        raise ConfigError(Where(directory / SAFETY_FILE), "needs an intent named 'crisis'")
    pronunciations = _load_pronunciations(directory / PRONUNCIATIONS_FILE)
    return Dialogs(commands, safety, answers, other, keywords, responses, directory, pronunciations)


def _load_pronunciations(path: Path) -> dict[str, tuple[str, ...]]:
    if not path.exists():
        return {}
    data, root = _read_yaml(path)
    if data is None:
        return {}
    lines = {k.value: k.start_mark.line + 1 for k, _ in root.value} if isinstance(root, yaml.MappingNode) else {}
    if not isinstance(data, dict):
        raise ConfigError(Where(path, 1), "should be words, each with a list of pronunciations")
    out: dict[str, tuple[str, ...]] = {}
    for word, value in data.items():
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str) and v.split() for v in items):
            raise ConfigError(Where(path, lines.get(word)), f"{word}: needs one or more pronunciations like \"L AE N T ER N\"")
        for phones in items:
            if not all(p.isalpha() and p.isupper() for p in phones.split()):
                raise ConfigError(Where(path, lines.get(word)), f"{word}: {phones!r} is not CMU phones (upper case, spaces between)")
        out[str(word).lower()] = tuple(" ".join(v.split()) for v in items)
    return out


def _read_yaml(path: Path) -> tuple[Any, yaml.Node]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(Where(path), f"cannot read dialog file: {exc.strerror}") from None
    # libyaml's parser when PyYAML has it (its wheels do): the pure-Python one took ~0.2 s of every
    # start on intents.yaml alone. One parse gives both the node tree (for line numbers) and the data.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        root = loader.get_single_node()
        return (loader.construct_document(root) if root is not None else None), root
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(Where(path, mark.line + 1 if mark else None), f"not valid YAML: {getattr(exc, 'problem', exc)}") from None
    finally:
        loader.dispose()


def _load_intents(path: Path, lists: dict[str, Any]) -> Intents:
    return _intents_from(path, _read_yaml(path), lists)


def _intents_from(path: Path, loaded: tuple[Any, yaml.Node], lists: dict[str, Any]) -> Intents:
    data, root = loaded
    if not isinstance(data, dict) or not isinstance(data.get("intents"), dict):
        raise ConfigError(Where(path, 1), "needs an 'intents:' section")
    data = {**data, "lists": {**(data.get("lists") or {}), **lists}}
    try:
        intents = Intents.from_dict(data)
        _check_references(path, root, intents)  # hassil parses each sentence here, on first use
    except ConfigError:
        raise
    except Exception as exc:  # hassil raises several types
        # Only now parse each template apart, to name the broken one's line: done up front, that
        # parse took a fifth of a second of every start.
        for text, line in _template_strings(root):
            try:
                parse_sentence(text)
            except Exception as template_exc:  # all mean "this template is malformed"
                raise ConfigError(Where(path, line), f"template does not parse ({template_exc}): {text!r}") from None
        raise ConfigError(Where(path), f"intents are malformed: {exc}") from None  # hassil names the key
    for name in intents.intents:
        if not isinstance(name, str):
            raise ConfigError(Where(path), f"intent name {name!r} must be text (quote it)")
    return intents


def _template_strings(root: yaml.Node) -> list[tuple[str, int]]:
    """Every template and expansion rule string with its line number."""
    found: list[tuple[str, int]] = []

    def walk(node: yaml.Node, under: str | None) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                walk(value, key.value if key.value in ("sentences", "expansion_rules") else under)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                walk(item, under)
        elif isinstance(node, yaml.ScalarNode) and under in ("sentences", "expansion_rules"):
            found.append((node.value, node.start_mark.line + 1))

    walk(root, None)
    return found


def _check_references(path: Path, root: yaml.Node, intents: Intents) -> None:
    """Every {list} and <rule> named in a template exists."""
    lines = {text: line for text, line in reversed(_template_strings(root))}  # the first line, if repeated
    for intent in intents.intents.values():
        for data in intent.data:
            rules = {**intents.expansion_rules, **data.expansion_rules}
            for sentence in data.sentences:
                text = sentence.text or ""
                line = lines.get(text)
                for list_name in sentence.list_names(rules):
                    if list_name not in intents.slot_lists:
                        raise ConfigError(Where(path, line), f"template uses list {{{list_name}}}, which is not defined under lists:")
                    slot_list = intents.slot_lists[list_name]
                    if not isinstance(slot_list, TextSlotList):
                        raise ConfigError(Where(path, line), f"list {{{list_name}}} must have spoken values, not a range")
                for rule in _rule_names(text):
                    if rule not in rules:
                        raise ConfigError(Where(path, line), f"template uses rule <{rule}>, which is not defined under expansion_rules:")


def _rule_names(text: str) -> list[str]:
    names, start = [], text.find("<")
    while start != -1:
        end = text.find(">", start)
        if end == -1:
            break
        names.append(text[start + 1:end])
        start = text.find("<", end)
    return names


def _keywords(path: Path, loaded: tuple[Any, yaml.Node]) -> SafetyKeywords:
    data, _ = loaded
    section = data.get("keywords") if isinstance(data, dict) else None
    if not isinstance(section, dict) or not section.get("sure"):
        raise ConfigError(Where(path), "needs a 'keywords:' section with a non-empty 'sure:' list")
    return SafetyKeywords(
        sure=tuple(str(k).lower() for k in section.get("sure") or ()),
        weak=tuple(str(k).lower() for k in section.get("weak") or ()),
    )


def _load_responses(path: Path) -> Responses:
    data, root = _read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(Where(path, 1), "should be a list of keys, each with its variants")
    lines = {k.value: k.start_mark.line + 1 for k, _ in root.value} if isinstance(root, yaml.MappingNode) else {}
    variants: dict[str, tuple[str, ...]] = {}
    for key, value in data.items():
        line = lines.get(key)
        if key not in RESPONSE_KEYS:
            raise ConfigError(Where(path, line), f"unknown response key {key!r} (no dialog uses it)")
        items = (value,) if isinstance(value, str) else value
        if not isinstance(items, list | tuple) or not items or not all(isinstance(v, str) and v.strip() for v in items):
            raise ConfigError(Where(path, line), f"{key}: needs one or more non-empty sentences")
        for variant in items:
            used = {name for _, name, _, _ in string.Formatter().parse(variant) if name}
            unknown = used - RESPONSE_KEYS[key]
            if unknown:
                allowed = ", ".join(sorted(RESPONSE_KEYS[key])) or "none"
                raise ConfigError(Where(path, line), f"{key}: unknown placeholder {{{sorted(unknown)[0]}}} (allowed here: {allowed})")
        variants[key] = tuple(items)
    missing = sorted(set(RESPONSE_KEYS) - set(variants))
    if missing:
        raise ConfigError(Where(path), f"missing response keys: {', '.join(missing)}")
    return Responses(variants)
