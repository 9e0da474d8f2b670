"""Turn-taking on text: the wake phrase, the follow-up window, safety first, then intents.

The same logic serves `lantern chat` (typed text) and the voice pipeline (transcripts).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from voice.dialog import Action, Brain
from voice.dialogs import Dialogs
from voice.safety import Concern, SafetySpotter
from voice.understand import GUESS_MIN_CONFIDENCE, Match, Understander, split_wake


@dataclass(frozen=True)
class Heard:
    woke: bool
    """The wake phrase was said."""
    concern: Concern
    match: Match | None
    """The command or answer understood, if any."""
    for_us: bool
    """Addressed to Lantern (wake phrase, or an answer in the follow-up window)."""
    actions: list[Action]


class Conversation:
    def __init__(self, dialogs: Dialogs, brain: Brain, wake_phrase: str, commands: Understander | None = None):
        self.brain = brain
        self._wake_phrase = wake_phrase
        self.commands = commands or Understander(dialogs.commands, fuzzy=True)
        self._answers = Understander(dialogs.answers)
        self._other = Understander(dialogs.other)
        self._safety = SafetySpotter(dialogs)

    def is_crisis(self, text: str, in_window: bool) -> bool:
        """Would hearing `text` take the crisis path?"""
        addressed = self._addressed(text, in_window)
        return addressed is not None and self._safety.check(addressed[1]) is Concern.SURE

    def needs_second_hearing(self, text: str, in_window: bool) -> bool:
        """Addressed to Lantern, yet not a phrase it knows exactly: worth hearing again (see
        `Recognizer.second_opinion`)."""
        addressed = self._addressed(text, in_window)
        return addressed is not None and not self._knows(addressed[1], answers=not addressed[0])

    def second_hearing(self, first: str, second: str, in_window: bool) -> str | None:
        """The first hearing corrected by the second, if the second is a phrase Lantern knows."""
        woke, _ = split_wake(first, self._wake_phrase)
        _, corrected = split_wake(second, self._wake_phrase)
        if not corrected or not self._knows(corrected, answers=not woke):
            return None
        return f"{self._wake_phrase} {corrected}" if woke else corrected

    def _addressed(self, text: str, in_window: bool) -> tuple[bool, str] | None:
        """(woke, what follows the wake phrase) when `text` says something to Lantern, else None."""
        woke, rest = split_wake(text, self._wake_phrase)
        return (woke, rest) if rest and (woke or in_window) else None

    def _knows(self, rest: str, answers: bool) -> bool:
        if self._safety.check(rest) is Concern.SURE:
            return True
        if answers and self.brain.question is not None and self._answers.match(rest, max_dropped=0) is not None:
            return True
        command = self.commands.match(rest, max_dropped=0, guess=False)
        return command is not None or self._other.match(rest, max_dropped=0) is not None

    def hear(self, text: str, in_window: bool, confidence: float = 1.0,
             sounds_like_crisis: Callable[[], bool] | None = None) -> Heard:
        """React to one utterance. Outside the follow-up window, only a wake phrase gets attention.
        `confidence`: the recogniser's belief in `text` (typed text: 1). `sounds_like_crisis`: asked
        only when nothing else was understood; if it says yes, Lantern asks "did you say you need help?"
        instead of "sorry?"."""
        woke, rest = split_wake(text, self._wake_phrase)
        if not woke and not in_window:
            return Heard(False, Concern.NONE, None, False, [])
        if woke and not rest:
            return Heard(True, Concern.NONE, None, True, self.brain.on_wake_only())
        # Safety before anything else, inside any dialog.
        concern = self._safety.check(rest)
        if concern is Concern.SURE:
            return Heard(woke, concern, None, True, self.brain.on_crisis())
        if self.brain.question is not None and not woke:
            answer = self._answers.match(rest, max_dropped=1)
            if answer is not None:
                return Heard(woke, concern, answer, True, self.brain.on_answer(answer))
        command = self.commands.match(rest, guess=False)
        if (command is None and self._other.match(rest, max_dropped=1) is not None) or \
                (command is not None and not command.exact and self._other.match(rest, max_dropped=0) is not None):
            # Something Lantern does not do (weather, music, lights): say so, act on nothing. A request
            # it does not do, heard exactly, beats a command heard with a stray word ("skip this song").
            return Heard(woke, concern, None, True, self.brain.on_out_of_reach())
        if command is None and confidence >= GUESS_MIN_CONFIDENCE:
            command = self.commands.match(rest)
        if concern is Concern.WEAK and (command is None or not command.exact):
            return Heard(woke, concern, None, True, self.brain.on_crisis_unsure())
        if command is not None:
            return Heard(woke, concern, command, True, self.brain.on_command(command))
        if sounds_like_crisis is not None and sounds_like_crisis():
            return Heard(woke, Concern.WEAK, None, True, self.brain.on_crisis_unsure())
        if self.brain.question is not None:
            return Heard(woke, concern, None, True, self.brain.on_answer(None))
        return Heard(woke, concern, None, True, self.brain.on_not_understood())
