"""The phrase graph (every whole phrase, nothing else) and the second hearing that uses it."""

from __future__ import annotations

import pytest
from hassil import Intents

from voice import stt_pocketsphinx
from voice.app import build_brain
from voice.grammar import PhraseSampler
from voice.pipeline import CRISIS_HEARING_MIN_ALIKE, SECOND_HEARING_MIN_ALIKE
from voice.stt import Transcript
from voice.word_graph import WordGraph, phrase_graph
from tests.conftest import ScriptedRecognizer, run_scripted

SMALL = Intents.from_dict({
    "language": "en",
    "expansion_rules": {"ask": "[please] [can you]"},
    "lists": {"partner": {"values": ["sam", "alex"]}},
    "intents": {
        "hug": {"data": [{"sentences": ["<ask> (start|begin) [a] hug", "hug {partner}"]}]},
        "stop": {"data": [{"sentences": ["stop (now;please)"]}]},
    },
})
SMALL_PHRASES = {
    *(f"{p}{c}{verb} {a}hug".replace("  ", " ").strip()
      for p in ("", "please ") for c in ("", "can you ") for verb in ("start", "begin") for a in ("", "a ")),
    "hug sam", "hug alex", "stop now please", "stop please now",
}


def _graph(intents: Intents) -> WordGraph:
    graph = WordGraph()
    graph.add_intents(graph.start, intents)
    return graph


def test_graph_holds_exactly_the_template_phrases() -> None:
    graph = _graph(SMALL)
    for phrase in SMALL_PHRASES:
        assert graph.accepts(phrase.split()), phrase
    for wrong in ("hug", "start", "please please start hug", "hug bob", "stop now", "start a hug now", ""):
        assert not graph.accepts(wrong.split()), wrong


def test_minimal_graph_is_smaller_and_holds_the_same_phrases() -> None:
    graph = _graph(SMALL)
    small = graph.minimal()
    assert small.states < graph.states
    for phrase in SMALL_PHRASES:
        assert small.accepts(phrase.split()), phrase
    for wrong in ("hug", "start a hug now", "stop now"):
        assert not small.accepts(wrong.split())


def test_lanterns_graph_holds_sampled_phrases_with_and_without_the_wake(works) -> None:
    dialogs = works.dialogs
    graph = phrase_graph("hey lantern", dialogs.commands, dialogs.safety, dialogs.other, dialogs.answers)
    assert graph.states < 5000  # minimised; DESIGN.md: unminimised forms were far too big to search
    assert graph.accepts(["hey", "lantern"])
    sampler = PhraseSampler(dialogs.commands, seed=3)
    for intent in dialogs.commands.intents:
        for phrase in sampler.sample(intent, 5):
            assert graph.accepts(phrase.split()) and graph.accepts(["hey", "lantern", *phrase.split()]), phrase
    for chatter in ("pass me the bottle", "hey lantern pass me the bottle", "lantern hey"):
        assert not graph.accepts(chatter.split())


def test_fsg_file_loads_and_hears_a_whole_phrase(config, tmp_path) -> None:
    """The written graph is a valid pocketsphinx FSG, and a second hearing after the wake phrase
    returns one of its phrases, sounding like the first hearing."""
    from voice.bench.speech import default_cache_dir, utterance
    from voice.stt import create_recognizer

    works = build_brain(config)
    recognizer = create_recognizer(config, works.dialogs)
    audio = utterance("start a hug", "hibari", default_cache_dir())
    recognizer.start()
    recognizer.feed(audio.tobytes())
    first = recognizer.finish()
    assert first.text.startswith("hey lantern start")  # "start a hug" or "start hug": the same command
    second = recognizer.second_opinion(after_words=2)
    assert second is not None
    assert second.text.split()[-2:] == ["a", "hug"] and "lantern" not in second.text
    assert second.confidence >= SECOND_HEARING_MIN_ALIKE


def test_crisis_graph_hears_a_crisis_phrase(config) -> None:
    from voice.bench.speech import default_cache_dir, utterance
    from voice.stt import create_recognizer

    works = build_brain(config)
    recognizer = create_recognizer(config, works.dialogs)
    recognizer.start()
    recognizer.feed(utterance("i keep thinking about hurting myself", "hibari", default_cache_dir()).tobytes())
    recognizer.finish()
    crisis = recognizer.second_opinion(after_words=2, crisis_only=True)
    assert crisis is not None and crisis.confidence >= CRISIS_HEARING_MIN_ALIKE
    assert works.conversation.is_crisis(f"hey lantern {crisis.text}", in_window=False)


def test_second_hearing_corrects_a_first_that_made_no_sense(config) -> None:
    recognizer = ScriptedRecognizer("hey lantern today has been a riddle", Transcript("today has been terrible", 0.8))
    events = run_scripted(config, recognizer)
    assert recognizer.asked == [(2, False)]  # after the two words of the wake phrase
    transcript = next(e for e in events if e.type == "transcript")
    assert transcript.text == "hey lantern today has been terrible"
    assert transcript.first_hearing == "hey lantern today has been a riddle"
    assert [e.name for e in events if e.type == "intent"] == ["bad_day"]


def test_second_hearing_that_sounds_different_is_not_taken(config) -> None:
    recognizer = ScriptedRecognizer("hey lantern today has been a riddle", Transcript("delete all our data", 0.3))
    events = run_scripted(config, recognizer)
    assert recognizer.asked == [(2, False), (2, True)]  # then once more, against the crisis phrases alone
    assert not [e for e in events if e.type == "intent" and e.name == "forget"]
    assert not [e for e in events if e.type == "safety"]


def test_a_first_hearing_that_sounds_like_a_crisis_phrase_gets_asked_about(config) -> None:
    """Safety first: what makes no sense but sounds like a crisis phrase makes Lantern ask, not guess."""
    recognizer = ScriptedRecognizer("hey lantern i cannot fell tonight", Transcript("play my notes", 0.2),
                                    crisis=Transcript("i cut myself tonight", 0.7))
    events = run_scripted(config, recognizer)
    assert recognizer.asked == [(2, False), (2, True)]
    assert [(e.type, e.certain) for e in events if e.type == "safety"] == [("safety", False)]
    assert not [e for e in events if e.type == "intent"]
    spoken = [e.text for e in events if e.type == "speak"]
    assert len(spoken) == 1 and "help" in spoken[0].lower()


def test_a_crisis_phrase_that_sounds_different_is_not_asked_about(config) -> None:
    recognizer = ScriptedRecognizer("hey lantern what's the weather like", Transcript("play my notes", 0.2),
                                    crisis=Transcript("i want to die", 0.3))
    events = run_scripted(config, recognizer)
    assert not [e for e in events if e.type == "safety"]


@pytest.mark.parametrize("first", ["hey lantern start a hug", "pass me the bottle", "hey lantern"])
def test_no_second_hearing_when_the_first_is_understood_or_not_for_us(config, first: str) -> None:
    recognizer = ScriptedRecognizer(first, Transcript("delete all our data", 1.0))
    run_scripted(config, recognizer)
    assert recognizer.asked == []


def test_a_command_understood_loosely_is_not_asked_about(config) -> None:
    """The crisis hearing is for what made no sense at all: a command guessed from an unseen phrasing
    stays that command (asking first turned 16 of 1 848 held-out commands into a question; asking only
    when the crisis hearing was >= 0.6 alike turned 16 right ones into it too, and caught no crisis)."""
    recognizer = ScriptedRecognizer("hey lantern remind us in an hour", Transcript("play my notes", 0.2),
                                    crisis=Transcript("i want to die", 0.9))
    events = run_scripted(config, recognizer)
    assert recognizer.asked == [(2, False)]
    assert [e.name for e in events if e.type == "intent"] == ["snooze"]
    assert not [e for e in events if e.type == "safety"]


def test_second_hearing_alongside_the_first_matches_the_one_after(config, monkeypatch) -> None:
    """`attend` runs the whole-phrase hearing while the audio comes in, and it understands the same
    command as the hearing after the end of speech."""
    from voice.bench.speech import default_cache_dir, utterance
    from voice.stt import create_recognizer

    # The hearing after the end is capped in time; this test is about what it hears, not how fast
    # (a busy machine must not turn it into "abandoned").
    monkeypatch.setattr(stt_pocketsphinx, "SECOND_HEARING_MAX_SECONDS", 10.0)
    works = build_brain(config)
    recognizer = create_recognizer(config, works.dialogs)
    audio = utterance("could you help us start a conversation", "espeak-us", default_cache_dir()).tobytes()
    hearings = []
    for attend in (False, True):
        recognizer.start()
        recognizer.feed(audio[:len(audio) // 2])
        if attend:
            recognizer.attend()
        recognizer.feed(audio[len(audio) // 2:])
        recognizer.finish()
        hearings.append(recognizer.second_opinion(after_words=2))
        assert (recognizer._shadow_words is not None) == attend  # the shadow, not a decode after the end
    for hearing in hearings:
        assert hearing is not None and "lantern" not in hearing.text
        assert works.conversation.commands.match(hearing.text, max_dropped=0, guess=False).intent == "conversation_starter"


def test_crisis_hearing_alongside_the_first_matches_the_one_after(config, monkeypatch) -> None:
    """Once attending, the crisis hearing is ready at the end of speech too (asked after the
    whole-phrase hearing, as the pipeline asks), and it hears a crisis phrase as the decode after the
    end does; an utterance after an attended one, whose shadows were never asked, starts clean."""
    from voice.bench.speech import default_cache_dir, utterance
    from voice.stt import create_recognizer

    monkeypatch.setattr(stt_pocketsphinx, "SECOND_HEARING_MAX_SECONDS", 10.0)  # what, not how fast
    works = build_brain(config)
    recognizer = create_recognizer(config, works.dialogs)
    audio = utterance("i don't want to be here anymore", "espeak-us", default_cache_dir()).tobytes()
    third = len(audio) // 6 * 2  # whole samples: two bytes each
    hearings = []
    for attend, ask in ((True, False), (True, True), (False, True), (True, True)):
        recognizer.start()
        recognizer.feed(audio[:third])
        if attend:
            recognizer.attend()
        recognizer.feed(audio[third:])
        recognizer.finish()
        if not ask:
            continue  # the next start() ends both shadows unasked
        assert recognizer.second_opinion(after_words=2) is not None
        hearings.append(recognizer.second_opinion(after_words=2, crisis_only=True))
        assert (recognizer._crisis_words is not None) == attend  # the crisis shadow, not a decode after
    for hearing in hearings:
        assert hearing is not None and "lantern" not in hearing.text
        assert works.conversation.is_crisis(f"hey lantern {hearing.text}", False)


def test_hearings_after_the_end_of_speech_leave_later_utterances_as_they_were(config, monkeypatch) -> None:
    """Whether an utterance was heard again after its end (and how far, before the deadline) must not
    change what the next one hears: the first decoder's running mean is untouched, and no random
    generator is shared between decoders. It once was (pocketsphinx's dither), and two benchmark runs
    of the same code heard 199 of 2 338 clips differently."""
    from voice.bench.speech import default_cache_dir, utterance
    from voice.stt import create_recognizer

    monkeypatch.setattr(stt_pocketsphinx, "SECOND_HEARING_MAX_SECONDS", 10.0)
    works = build_brain(config)
    first = utterance("i don't want to be here anymore", "espeak-us", default_cache_dir()).tobytes()
    then = utterance("today has been rough", "espeak-gb-f", default_cache_dir()).tobytes()
    heard = []
    for ask in (False, True):
        recognizer = create_recognizer(config, works.dialogs)
        recognizer.start()
        recognizer.feed(first)
        recognizer.finish()
        if ask:  # not attending: both hearings are decodes after the end of speech
            assert recognizer.second_opinion(after_words=2) is not None
            assert recognizer.second_opinion(after_words=2, crisis_only=True) is not None
        cmn = list(recognizer._decoder.get_cmn())
        recognizer.start()
        recognizer.feed(then)
        heard.append((cmn, recognizer.finish(), recognizer._words))
    assert heard[0] == heard[1]


def test_after_reset_adaptation_an_utterance_is_heard_as_by_a_new_recogniser(config, monkeypatch) -> None:
    """The benchmark resets the recogniser before each batch of clips; each worker runs whichever batch
    comes next. Everything the hearing depends on must start over, or a batch hears differently by
    which batches its worker ran before (the hiss's generator once ran on)."""
    from voice.bench.speech import default_cache_dir, utterance
    from voice.stt import create_recognizer

    monkeypatch.setattr(stt_pocketsphinx, "SECOND_HEARING_MAX_SECONDS", 10.0)
    works = build_brain(config)
    before = utterance("today has been rough", "espeak-gb-f", default_cache_dir()).tobytes()
    audio = utterance("could you help us start a conversation", "espeak-us", default_cache_dir()).tobytes()

    def hear(recognizer: stt_pocketsphinx.PocketsphinxRecognizer) -> tuple:
        recognizer.start()
        recognizer.feed(audio[:len(audio) // 2])
        recognizer.attend()
        recognizer.feed(audio[len(audio) // 2:])
        final = recognizer.finish()
        return final, recognizer._words, recognizer.second_opinion(after_words=2), recognizer._decoder.get_cmn()

    used = create_recognizer(config, works.dialogs)
    for _ in range(2):
        used.start()
        used.feed(before)
        used.attend()
        used.finish()
        used.second_opinion(after_words=2)
    used.reset_adaptation()
    assert hear(used) == hear(create_recognizer(config, works.dialogs))


def test_a_shadow_hearing_loses_a_stray_word_before_the_wake_phrase(config) -> None:
    """The graphs have no "um" before "hey lantern": what follows the wake phrase is still the phrase."""
    from voice.stt import create_recognizer

    recognizer = create_recognizer(config, build_brain(config).dialogs)
    recognizer._words = [("um", 100), ("hey", 200), ("lantern", 300), ("start", 400), ("a", 500), ("hug", 600)]
    heard = recognizer._shadow_hearing(["hey", "lantern", "start", "a", "hug"], 3, ["start", "a", "hug"])
    assert heard.text == "start a hug" and heard.confidence == 1.0
