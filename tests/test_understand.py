"""Utterance -> intent, as text. The table is data: the issue's examples, and the corpus's dev split
(the split the templates are tuned on; the test split is only reported, by `lantern bench`)."""

from __future__ import annotations

import numpy as np
import pytest

from voice.app import build_brain
from voice.bench.speech import load_corpus
from voice.safety import Concern, SafetySpotter
from voice.understand import Understander, split_wake

ISSUE_EXAMPLES = {
    "hug": ["start a hug", "hug time"],
    "appreciation": ["appreciation", "I want to thank Sam"],
    "leave_note": ["leave a note for Alex", "record a message for Sam"],
    "play_notes": ["play my messages", "any notes for me"],
    "checkin": ["check in", "I can't sleep"],
    "breathing": ["help me breathe", "breathing exercise"],
    "talk_time": ["start talk time", "start our protected time"],
    "conversation_starter": ["help us start a conversation"],
    "repair": ["help us repair something", "we need to talk about a hurt"],
    "shared_idea": ["give us an idea", "what can we do together"],
    "bad_day": ["I'm having a bad day"],
    "professional_help": ["do we need a therapist"],
    "progress": ["how are we doing"],
    "whats_next": ["what's next", "what's on the schedule"],
    "snooze": ["snooze", "remind me in ten minutes"],
    "skip": ["skip today", "not today"],
    "stop": ["stop", "cancel"],
    "repeat": ["repeat that", "say that again"],
    "quieter": ["quieter", "speak softly"],
    "louder": ["louder", "speak up"],
    "help": ["what can you do", "help"],
    "forget": ["delete everything"],
}
DEV = load_corpus("dev")


@pytest.fixture(scope="module")
def commands(works) -> Understander:
    return Understander(works.dialogs.commands, fuzzy=True)


@pytest.fixture(scope="module")
def works(config):
    from voice.app import build_brain

    return build_brain(config)


@pytest.mark.parametrize("intent,text", [(i, t) for i, ts in ISSUE_EXAMPLES.items() for t in ts])
def test_issue_examples_match_templates_exactly(commands: Understander, intent: str, text: str) -> None:
    match = commands.match(text)
    assert match is not None and match.intent == intent and match.exact


@pytest.mark.parametrize("intent,text", [(i, t) for i, ts in DEV.intents.items() for t in ts])
def test_dev_phrasings(commands: Understander, intent: str, text: str) -> None:
    # By the templates (a stray word or two left out), not by the nearest-phrase guess: the recogniser
    # rarely believes a transcript enough for a guess (GUESS_MIN_CONFIDENCE), so a dev phrasing only
    # the guess understands is one Lantern seldom acts on when it is spoken.
    match = commands.match(text, guess=False)
    assert match is not None and match.intent == intent


@pytest.mark.parametrize("text", DEV.out_of_domain)
def test_out_of_domain_is_not_understood(config, text: str) -> None:
    heard = build_brain(config).conversation.hear(f"hey lantern {text}", in_window=False)
    assert heard.match is None


def test_slots(commands: Understander) -> None:
    assert commands.match("remind me in twenty minutes").slots == {"minutes": 20}
    assert commands.match("I want to thank Alex").slots == {"partner": "alex"}


def test_a_stray_word_is_tolerated_but_costs(commands: Understander) -> None:
    match = commands.match("um start a hug now please")
    assert match is not None and match.intent == "hug" and not match.exact


@pytest.mark.parametrize("text,expected", [
    ("hey lantern start a hug", (True, "start a hug")),
    ("Hey, Lantern! Start a hug.", (True, "start a hug")),
    ("um hey lantern stop", (True, "stop")),
    ("start a hug", (False, "start a hug")),
    ("they say lantern festivals are nice", (False, "they say lantern festivals are nice")),
])
def test_wake_phrase(text: str, expected: tuple[bool, str]) -> None:
    assert split_wake(text, "hey lantern") == expected


@pytest.mark.parametrize("text", list(DEV.crisis) + list(load_corpus("test").crisis) + [
    "I want to hurt myself", "I don't want to be here anymore", "I might hurt the baby",
])
def test_every_crisis_phrase_is_caught(works, text: str) -> None:
    assert SafetySpotter(works.dialogs).check(text) is not Concern.NONE


@pytest.mark.parametrize("text", ["start a hug", "stop", "end it", "we need to talk about a hurt", "skip today"])
def test_ordinary_commands_are_not_crises(works, text: str) -> None:
    assert SafetySpotter(works.dialogs).check(text) is not Concern.SURE


def test_word_bounds_admit_every_template_phrase_and_rule_out_others(works) -> None:
    """The cheap pre-test in front of hassil may let too much through, never too little."""
    from voice.grammar import PhraseSampler, word_bounds

    dialogs = works.dialogs
    for intents in (dialogs.commands, dialogs.safety, dialogs.answers, dialogs.other):
        bounds, sampler = word_bounds(intents), PhraseSampler(intents, seed=5)
        for name in intents.intents:
            for phrase in sampler.sample(name, 200):
                assert bounds.admits(phrase.split()), phrase
    bounds = word_bounds(dialogs.commands)
    for garbage in ("hug start a", "a hug start", "pass me the bottle", "start a hug hug", "of"):
        assert not bounds.admits(garbage.split()), garbage


@pytest.mark.parametrize("text,expected", [
    ("um okay so what's next", "what's next"),
    ("start a um hug", "start a hug"),
    ("okay", "okay"),  # a lone opener may be the answer itself
    ("oh no", "no"),
    ("hmm", ""),
    ("so tired today", "tired today"),
])
def test_fillers_are_left_out_before_matching(text: str, expected: str) -> None:
    from voice.understand import without_fillers

    assert without_fillers(text) == expected


def test_nearest_phrase_sample_is_cached_and_a_broken_cache_is_rebuilt(works, tmp_path) -> None:
    """The start-up cache gives the same guesses as sampling afresh; a damaged file is sampled again."""
    cache = tmp_path / "nearest.npz"
    fresh = Understander(works.dialogs.commands, fuzzy=True)
    first = Understander(works.dialogs.commands, fuzzy=True, cache=cache)
    assert cache.exists() and cache.stat().st_mode & 0o077 == 0
    cached = Understander(works.dialogs.commands, fuzzy=True, cache=cache)
    for text in ("give us something we might enjoy", "hug me now my love", "turn the lights on"):
        assert fresh.match(text) == first.match(text) == cached.match(text), text
    for damage in (b"not a sample\n", cache.read_bytes()[:1000]):  # not an index; cut short by a crash
        cache.write_bytes(damage)
        rebuilt = Understander(works.dialogs.commands, fuzzy=True, cache=cache)
        assert rebuilt.match("hug me now my love") == fresh.match("hug me now my love")
        assert np.load(cache)["words"].size > 0
