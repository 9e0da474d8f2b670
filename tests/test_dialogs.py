"""dialogs/: every template, list, response key and placeholder is checked when Lantern starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from voice.dialogs import RESPONSE_KEYS, load_dialogs
from voice.errors import ConfigError
from voice.grammar import normalize, word_bounds

CONTRACT_INTENTS = {
    "hug", "appreciation", "leave_note", "play_notes", "checkin", "breathing", "talk_time",
    "conversation_starter", "repair", "shared_idea", "bad_day", "professional_help", "progress",
    "whats_next", "snooze", "skip", "stop", "repeat", "quieter", "louder", "help", "forget",
}


def _edit(path: Path, old: str, new: str) -> int:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    first_new_line = new.strip().splitlines()[0]
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line.strip() == first_new_line)


def test_shipped_dialogs_have_the_contract(works) -> None:
    assert set(works.dialogs.commands.intents) == CONTRACT_INTENTS
    assert set(works.dialogs.responses.variants) == set(RESPONSE_KEYS)


def test_every_sure_crisis_keyword_can_be_heard(works) -> None:
    """The recogniser is built from the templates, not the keywords: a keyword whose words never follow
    each other in a crisis template is one it cannot hear (as "what's the point of living" was, until
    the templates had it), so it catches nothing spoken."""
    crisis = word_bounds(works.dialogs.safety)
    unheard = []
    for keyword in works.dialogs.keywords.sure:
        words = normalize(keyword).split()
        if not all(pair in crisis.pairs for pair in zip(words, words[1:])):
            unheard.append(keyword)
    assert not unheard


def test_unknown_placeholder_names_line(project_copy: Path) -> None:
    responses = project_copy / "dialogs/en/responses.yaml"
    line = _edit(responses, '\nbad_day:\n', '\nbad_day:\n  - "Sorry, {name}."\n')
    with pytest.raises(ConfigError) as err:
        load_dialogs(project_copy / "dialogs/en", ["Sam", "Alex"])
    assert f"responses.yaml:{line}: bad_day: unknown placeholder {{name}}" in str(err.value)


def test_missing_response_key(project_copy: Path) -> None:
    responses = project_copy / "dialogs/en/responses.yaml"
    text = responses.read_text().replace("progress:\n", "progress_typo:\n", 1)
    responses.write_text(text)
    with pytest.raises(ConfigError, match="unknown response key 'progress_typo'"):
        load_dialogs(project_copy / "dialogs/en", ["Sam", "Alex"])


def test_broken_template_names_line(project_copy: Path) -> None:
    intents = project_copy / "dialogs/en/intents.yaml"
    line = _edit(intents, '          - "<ask> (hug|cuddle) (time|timer) <please>"',
                 '          - "<ask> (hug|cuddle (time|timer) <please>"')
    with pytest.raises(ConfigError) as err:
        load_dialogs(project_copy / "dialogs/en", ["Sam", "Alex"])
    assert f"intents.yaml:{line}: template does not parse" in str(err.value)


def test_undefined_rule_names_line(project_copy: Path) -> None:
    intents = project_copy / "dialogs/en/intents.yaml"
    line = _edit(intents, '          - "<ask> (hug|cuddle) (time|timer) <please>"',
                 '          - "<ask> (hug|cuddle) (time|timer) <pleeze>"')
    with pytest.raises(ConfigError) as err:
        load_dialogs(project_copy / "dialogs/en", ["Sam", "Alex"])
    assert f"intents.yaml:{line}:" in str(err.value) and "<pleeze>" in str(err.value)
