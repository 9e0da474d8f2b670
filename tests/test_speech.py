"""Real speech through the real pipeline: synthesised voices, clean and in kitchen noise.

The figures against the targets come from `lantern bench`; these tests pin behaviour with margins,
so a change that breaks hearing fails here.
"""

from __future__ import annotations

import pytest

from audio.sinks import NullSink
from audio.sources import ArraySource
from voice.app import build_brain
from voice.bench.speech import default_cache_dir, kitchen_noise, mix_at_snr, utterance
from voice.events import Event
from voice.pipeline import Pipeline
from voice.stt import create_recognizer
from voice.tts import Synthesizer
from tests.test_understand import DEV, ISSUE_EXAMPLES

VOICES = ("hibari", "espeak-us")
FLOOR_ESPEAK = 0.7
FLOOR_NOISE = 0.7
CHATTER = DEV.chatter[:8]
CRISIS = ["I want to hurt myself", "I don't want to be here anymore", "I might hurt the baby", *DEV.crisis[:5]]


def _new_parts(config):
    works = build_brain(config)
    return config, create_recognizer(config, works.dialogs), Synthesizer(config.tts.rate_wpm, config.tts.voice)


@pytest.fixture(scope="module")
def parts(config):
    return _new_parts(config)


def hear(parts, audio) -> list[Event]:
    config, recognizer, tts = parts
    events: list[Event] = []
    pipeline = Pipeline(config, build_brain(config).conversation, recognizer, tts, NullSink(), events.append, live=False)
    pipeline.run(ArraySource(audio).frames())
    return events


def first_intent(events: list[Event]) -> str | None:
    return next((e.name for e in events if e.type == "intent"), None)


def clip(text: str | None, voice: str, wake: str | None = "hey lantern", snr_db: float | None = None):
    audio = utterance(text, voice, default_cache_dir(), wake=wake)
    if snr_db is not None:
        audio = mix_at_snr(audio, kitchen_noise(len(audio), seed=len(text or "")), snr_db)
    return audio


# Floors sit a little under what this machine measured (see README, "How well it hears"): the natural
# voice is heard almost perfectly; espeak's robotic voice and 10 dB kitchen noise are the hard cases.
@pytest.mark.parametrize("voice,snr_db,floor,max_wrong", [
    ("hibari", None, 0.95, 0), ("espeak-us", None, FLOOR_ESPEAK, 1), ("hibari", 10.0, FLOOR_NOISE, 2),
])
def test_commands_heard(parts, voice: str, snr_db: float | None, floor: float, max_wrong: int) -> None:
    cases = [(intent, text) for intent, texts in ISSUE_EXAMPLES.items() for text in texts]
    heard = {text: first_intent(hear(parts, clip(text, voice, snr_db=snr_db))) for _, text in cases}
    correct = sum(heard[text] == intent for intent, text in cases)
    wrong = {text: got for intent, text in cases if (got := heard[text]) not in (None, intent)}
    print(f"{voice} snr={snr_db}: {correct}/{len(cases)} correct, wrong: {wrong}")
    assert correct / len(cases) >= floor, heard
    assert len(wrong) <= max_wrong, wrong


@pytest.mark.parametrize("voice", VOICES)
def test_chatter_never_triggers(parts, voice: str) -> None:
    for text in CHATTER:
        events = hear(parts, clip(text, voice, wake=None))
        assert not [e for e in events if e.type in ("wake", "intent", "speak")], (text, events)


@pytest.mark.parametrize("text", CRISIS)
def test_crisis_heard_in_speech(parts, text: str) -> None:
    events = hear(parts, clip(text, "hibari"))
    safety = next((e for e in events if e.type == "safety"), None)
    assert safety is not None, events
    # A sure hit names the help lines at once; an unsure one (misheard words) asks first.
    expected = "9, 8, 8" if safety.certain else "Did you say you need help?"
    assert any(e.type == "speak" and expected in e.text for e in events), events


WARM_UPS = [("what's next", "hibari", None), ("start a hug", "espeak-us", None), ("i can't sleep", "hibari", 10.0)]


# Crisis phrasings the recogniser could not hear as sentences while only the keywords covered them
# (dev split; each was missed), one of them cut short as "what" (repeat) by an early endpoint.
@pytest.mark.parametrize("text,voice,snr_db", [
    ("what's the point in living", "espeak-us", 10.0),
    ("what's the point of me being alive", "espeak-gb-f", None),
    ("i'm having thoughts of suicide", "espeak-gb-f", None),
    ("alex and the baby would be better without me", "espeak-us", None),
    ("i've had thoughts of harming my baby", "hibari", None),
])
def test_crisis_phrasings_beyond_the_first_templates_heard(parts, text: str, voice: str, snr_db: float | None) -> None:
    # The recogniser's running cepstral mean carries over from one clip to the next, and a hearing on
    # the edge flips with it (the dev split's sequences hear all five clips; one of them, alone after
    # one particular clip, was heard as a command after session 9's wider templates). So each clip is
    # heard after three fixed clips in turn, and must reach the crisis path in at least two of them.
    # Before session 8 the templates could not produce these phrasings at all.
    reached = []
    for before, before_voice, before_snr in WARM_UPS:
        hear(parts, clip(before, before_voice, snr_db=before_snr))
        events = hear(parts, clip(text, voice, snr_db=snr_db))
        reached.append(any(e.type == "safety" for e in events))
    assert sum(reached) >= 2, reached


def test_command_after_a_pause_needs_no_second_wake(parts) -> None:
    audio = utterance("start a hug", "hibari", default_cache_dir(), pause_seconds=1.0)
    events = hear(parts, audio)
    assert first_intent(events) == "hug"


def test_latency_is_reported(parts) -> None:
    events = hear(parts, clip("start a hug", "hibari"))
    reply = next(e for e in events if e.type == "speak")
    assert reply.latency_ms is not None and 0 < reply.latency_ms < 5000


@pytest.mark.parametrize("pause,command,intent", [(0.3, "start a hug", "hug"), (0.5, "what can you do", "help")])
def test_a_pause_after_the_wake_phrase_is_not_the_end(parts, pause: float, command: str, intent: str) -> None:
    """People pause after "hey lantern". Ended there, the listening chime (and, live, the deafness while
    it plays) fell on the command; instead the utterance waits for it."""
    config, recognizer, tts = parts
    events: list[Event] = []
    pipeline = Pipeline(config, build_brain(config).conversation, recognizer, tts, NullSink(), events.append, live=True)
    pipeline.run(ArraySource(utterance(command, "hibari", default_cache_dir(), pause_seconds=pause)).frames())
    assert first_intent(events) == intent
    assert [e.type for e in events].count("speech_start") == 1


@pytest.fixture(scope="module")
def fresh_parts(config):
    """A recogniser of its own, so that resetting what it learnt leaves the other tests' alone."""
    return _new_parts(config)


@pytest.mark.parametrize("text,voice,intent", [
    ("give us an idea", "espeak-gb-f", "shared_idea"), ("help me breathe", "espeak-gb-f", "breathing"),
    ("what's next", "espeak-gb-f", "whats_next"), ("delete everything", "espeak-gb-f", "forget"),
])
def test_first_utterance_after_start_up_is_heard(fresh_parts, text: str, voice: str, intent: str) -> None:
    """The running cepstral mean learns only when an utterance ends, so the first one after start-up is
    heard with the starting mean alone. From pocketsphinx's own (40,3,-1,...) the pipeline understood
    27 of the 66 issue examples said first in three voices ("hey lantern" came out as "can you lantern");
    from Lantern's, 50. These four were heard in 1 or 2 of 4 tries (the hiss under the audio differing)
    from pocketsphinx's start, and in 4 of 4 from Lantern's."""
    fresh_parts[1].reset_adaptation()
    assert first_intent(hear(fresh_parts, clip(text, voice))) == intent
