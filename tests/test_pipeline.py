"""The loop's timing decisions, with a scripted recogniser: early endpoints and the late final pass."""

from __future__ import annotations

from tests.conftest import ScriptedRecognizer, run_scripted


def test_early_endpoint_answers_from_the_streaming_transcript(config) -> None:
    """A streaming transcript that is already a whole command is answered at once; the final pass
    runs after the reply has started, once."""
    recognizer = ScriptedRecognizer("hey lantern start a hug", streaming="hey lantern start a hug")
    events = run_scripted(config, recognizer)
    types = [e.type for e in events]
    assert types.index("transcript") < types.index("speak")
    transcript = next(e for e in events if e.type == "transcript")
    assert transcript.confidence is None  # streaming: not scored yet
    assert [e.name for e in events if e.type == "intent"] == ["hug"]
    assert recognizer.finished == 1
    speech_end = next(e for e in events if e.type == "speech_end")
    speak = next(e for e in events if e.type == "speak")
    assert speak.t - speech_end.t < config.audio.endpoint_silence_ms / 1000  # did not wait the full silence


def test_final_pass_that_hears_a_crisis_is_answered(config) -> None:
    """Safety first: if the final pass hears a crisis the streaming transcript missed, it is answered."""
    recognizer = ScriptedRecognizer("hey lantern i want to hurt myself", streaming="hey lantern stop")
    events = run_scripted(config, recognizer)
    assert any(e.type == "safety" and e.certain for e in events)
    spoken = " ".join(e.text for e in events if e.type == "speak")
    assert "988" in spoken


def test_no_early_endpoint_for_an_incomplete_command(config) -> None:
    recognizer = ScriptedRecognizer("hey lantern start a hug", streaming="hey lantern start a")
    events = run_scripted(config, recognizer)
    transcript = next(e for e in events if e.type == "transcript")
    assert transcript.confidence == 0.5  # the final transcript
    assert [e.name for e in events if e.type == "intent"] == ["hug"]
    speech_end = next(e for e in events if e.type == "speech_end")
    speak = next(e for e in events if e.type == "speak")
    assert speak.t - speech_end.t >= config.audio.endpoint_silence_ms / 1000 - 0.031


def test_no_early_endpoint_for_a_one_word_command(config) -> None:
    """One word is too little to end on early: "what" (repeat) was a dip inside "what's the point of
    living". A one-word command waits for the usual end of speech."""
    recognizer = ScriptedRecognizer("hey lantern what", streaming="hey lantern what")
    events = run_scripted(config, recognizer)
    assert [e.name for e in events if e.type == "intent"] == ["repeat"]
    speech_end = next(e for e in events if e.type == "speech_end")
    speak = next(e for e in events if e.type == "speak")
    assert speak.t - speech_end.t >= config.audio.endpoint_silence_ms / 1000 - 0.031


def test_second_hearing_starts_once_the_wake_phrase_is_heard(config) -> None:
    """The recogniser is told, once, while the utterance goes on, that it is for Lantern."""
    recognizer = ScriptedRecognizer("hey lantern start a", streaming="hey lantern start a")
    run_scripted(config, recognizer)
    assert recognizer.attended == 1


def test_chatter_does_not_start_a_second_hearing(config) -> None:
    recognizer = ScriptedRecognizer("put the kettle on", streaming="put the kettle on")
    run_scripted(config, recognizer)
    assert recognizer.attended == 0


def test_a_wake_phrase_only_the_final_pass_heard_is_not_trusted(config) -> None:
    """Chatter that the final pass turns into "hey lantern ..." while the streaming pass heard no wake
    phrase wakes nothing: no transcript, no intent, nothing said; the utterance is still closed."""
    recognizer = ScriptedRecognizer("hey lantern stop", streaming="i left a note on the fridge")
    events = run_scripted(config, recognizer)
    assert [e.type for e in events] == ["speech_start", "speech_end"]
    assert recognizer.finished == 1 and recognizer.attended == 0


def test_a_crisis_only_the_final_pass_heard_is_answered_all_the_same(config) -> None:
    """Safety first: the streaming pass missed the wake phrase, but the final pass heard a crisis."""
    recognizer = ScriptedRecognizer("hey lantern i've taken too many tablets", streaming="do you do you find")
    events = run_scripted(config, recognizer)
    assert [(e.type, e.certain) for e in events if e.type == "safety"] == [("safety", True)]
    assert "988" in " ".join(e.text for e in events if e.type == "speak")


def test_a_wake_phrase_the_streaming_pass_shows_only_at_the_end_is_answered(config, monkeypatch) -> None:
    """A short utterance can end before the periodic look at the streaming transcript sees the wake
    phrase; it is looked at once more when the utterance ends."""
    import voice.pipeline

    monkeypatch.setattr(voice.pipeline, "ATTEND_EVERY_FRAMES", 10**6)  # no look while it goes on
    recognizer = ScriptedRecognizer("hey lantern", streaming="hey lantern")
    events = run_scripted(config, recognizer)
    assert recognizer.attended == 0
    assert [e.type for e in events if e.type == "wake"] == ["wake"]


def test_an_answer_in_the_follow_up_window_starts_its_second_hearing_at_once(config) -> None:
    """In the window no wake phrase will come: the utterance is for Lantern from its first frame."""
    from audio.sinks import NullSink
    from audio.sources import ArraySource
    from voice.app import build_brain
    from voice.pipeline import Pipeline
    from tests.conftest import SilentTTS
    import numpy as np

    recognizer = ScriptedRecognizer("yes", streaming="")
    pipeline = Pipeline(config, build_brain(config).conversation, recognizer, SilentTTS(), NullSink(),
                        lambda event: None, live=False)
    pipeline._window_until = 10.0  # as if Lantern had just asked a question
    burst = (np.sin(np.arange(8000) * 2 * np.pi * 300 / 16000) * 8000).astype(np.int16)
    pipeline.run(ArraySource(np.concatenate([np.zeros(4000, np.int16), burst])).frames())
    assert recognizer.attended == 1
