"""The brain and turn-taking, on text: no audio, a fixed clock and a seeded choice of words."""

from __future__ import annotations

import random
from datetime import datetime

from voice.app import build_brain
from voice.dialog import CancelTimers, Listen, Question, SetVolume, Speak, StartTimer
from voice.safety import Concern


def _spoken(actions) -> list[str]:
    return [a.text for a in actions if isinstance(a, Speak)]


def test_chatter_without_wake_phrase_is_ignored(works) -> None:
    for text in ["start a hug", "can you stop the tap", "I need a hug honestly", "pass me the bottle"]:
        heard = works.conversation.hear(text, in_window=False)
        assert not heard.for_us and heard.actions == []


def test_hug_counts_ten_seconds(works) -> None:
    heard = works.conversation.hear("hey lantern start a hug", in_window=False)
    assert heard.woke and heard.match.intent == "hug"
    timers = [a for a in heard.actions if isinstance(a, StartTimer)]
    assert [t.seconds for t in timers] == [5.0, 10.0]
    assert _spoken(works.conversation.brain.on_timer("hug_done"))


def test_bare_wake_phrase_opens_the_window(works) -> None:
    heard = works.conversation.hear("hey lantern", in_window=False)
    assert heard.actions == [Listen()]
    follow = works.conversation.hear("start a hug", in_window=True)
    assert follow.match.intent == "hug"


def test_stop_cancels_and_repeat_repeats(works) -> None:
    works.conversation.hear("hey lantern give us an idea", in_window=False)
    idea = works.conversation.brain.last_said
    again = works.conversation.hear("hey lantern say that again", in_window=False)
    assert _spoken(again.actions) == [idea]
    stop = works.conversation.hear("hey lantern stop", in_window=False)
    assert CancelTimers() in stop.actions


def test_volume_steps_and_bounds(works) -> None:
    brain = works.conversation.brain
    volumes = []
    for _ in range(6):
        actions = works.conversation.hear("hey lantern quieter", in_window=False).actions
        volumes += [a.volume for a in actions if isinstance(a, SetVolume)]
    assert volumes == [0.6, 0.4, 0.2] and brain.volume == 0.2
    works.conversation.hear("hey lantern louder", in_window=False)
    assert brain.volume == 0.4


def test_checkin_rating_flow(works) -> None:
    ask = works.conversation.hear("hey lantern check in", in_window=False)
    assert ask.actions[0].asks is Question.RATING
    low = works.conversation.hear("about a two", in_window=True)
    assert low.match.intent == "rating" and low.match.slots == {"rating": 2}
    assert "midwife" in _spoken(low.actions)[0]
    yes = works.conversation.hear("yes please", in_window=True)
    assert any(isinstance(a, StartTimer) and a.name == "breathing_done" for a in yes.actions)


def test_crisis_wins_inside_any_dialog(works) -> None:
    works.conversation.hear("hey lantern start a hug", in_window=False)
    works.conversation.hear("hey lantern check in", in_window=False)
    heard = works.conversation.hear("I don't want to be here anymore", in_window=True)
    assert heard.concern is Concern.SURE
    assert CancelTimers() in heard.actions
    text = _spoken(heard.actions)[0]
    assert "9, 8, 8" in text and "9, 1, 1" in text
    # "repeat" gives the numbers again
    assert _spoken(works.conversation.hear("hey lantern repeat that", in_window=False).actions) == [text]


def test_weak_crisis_words_ask_first(works) -> None:
    heard = works.conversation.hear("hey lantern i feel so hopeless", in_window=False)
    assert heard.concern is Concern.WEAK
    assert heard.actions[-1].asks is Question.CRISIS_CONFIRM
    yes = works.conversation.hear("yes", in_window=True)
    assert "9, 8, 8" in _spoken(yes.actions)[0]


def test_night_names_round_the_clock_lines_first(config) -> None:
    night = build_brain(config, rng=random.Random(1), clock=lambda: datetime(2026, 11, 28, 3, 0))
    text = _spoken(night.conversation.hear("hey lantern I want to hurt myself", in_window=False).actions)[0]
    assert text.index("Maternal Mental Health") < text.index("Postpartum Support International")


def test_the_crisis_line_is_rendered_before_it_is_needed(config) -> None:
    """Start-up renders the crisis line as it is said at any hour, and the unsure question."""
    for hour in (3, 12):
        brain = build_brain(config, clock=lambda hour=hour: datetime(2026, 11, 28, hour, 0)).conversation
        fixed = brain.brain.fixed_lines()
        assert _spoken(brain.hear("hey lantern I want to hurt myself", in_window=False).actions)[0] in fixed
        assert _spoken(brain.brain.on_crisis_unsure())[0] in fixed


def test_every_contract_intent_gets_an_answer(works) -> None:
    from tests.test_understand import ISSUE_EXAMPLES

    for intent, examples in ISSUE_EXAMPLES.items():
        heard = works.conversation.hear(f"hey lantern {examples[0]}", in_window=False)
        assert heard.match.intent == intent
        assert _spoken(heard.actions), intent


def test_kept_lines_outlive_the_reply_cache(monkeypatch) -> None:
    """A kept line (the crisis line) is never rendered again, however many replies came after it."""
    import voice.tts
    from voice.tts import Synthesizer

    monkeypatch.setattr(voice.tts, "CACHE_ENTRIES", 1)
    tts = Synthesizer()
    try:
        tts.keep(["Help is here. Call now."])
        before = tts.synthesize("Help is here. Call now.")
        for text in ("One.", "Two.", "Three."):
            tts.synthesize(text)

        def no_espeak(*args, **kwargs):
            raise AssertionError("rendered again")

        monkeypatch.setattr(tts._engine, "save_to_file", no_espeak)
        assert (tts.synthesize("Help is here. Call now.") == before).all()
    finally:
        tts.close()
