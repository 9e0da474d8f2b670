"""The usual way, for comparison: open-vocabulary speech recognition, then exact template matching.

This is how a general assistant built from the same parts would work: the recogniser's full English
language model (pocketsphinx: the en-us LM and dictionary shipped in its wheel; vosk: the model with no
grammar), the transcript matched by hassil against the same command templates with no word left out
(`Understander.match(max_dropped=0)`), crisis phrases likewise against the crisis templates only (no
keyword spotter), and an utterance ending when the VAD's silence timeout says so (no early endpoint).
Everything else (VAD, wake phrase in the transcript, dialogs, TTS) is Lantern's own, so the comparison
is about the recogniser and the matching alone.
"""

from __future__ import annotations

from collections.abc import Callable

from voice.config import Config
from voice.conversation import Heard
from voice.dialog import Brain
from voice.dialogs import Dialogs
from voice.safety import Concern
from voice.stt import Recognizer, choose_engine, vosk_model_dir
from voice.stt_pocketsphinx import PocketsphinxRecognizer
from voice.stt_vosk import VoskRecognizer
from voice.understand import Match, Understander, split_wake


def open_recognizer(config: Config, engine: str) -> Recognizer:
    if engine == "pocketsphinx":
        return PocketsphinxRecognizer.open_vocabulary()
    if engine == "vosk":
        choose_engine(config)  # raises ModelMissingError when the model is absent
        return VoskRecognizer(vosk_model_dir(config), corpus=None)
    raise ValueError(f"unknown engine {engine!r}")


class _NoEarlyEndpoint:
    """The pipeline asks `commands.match(partial)` to end an utterance early; the usual way never does."""

    def match(self, text: str, max_dropped: int = 0, guess: bool = False) -> Match | None:
        return None


class UsualConversation:
    """Conversation's interface (brain, commands, needs_second_hearing, hear), with exact matching and no crisis spotter."""

    def __init__(self, dialogs: Dialogs, brain: Brain, wake_phrase: str):
        self.brain = brain
        self.commands = _NoEarlyEndpoint()
        self._commands = Understander(dialogs.commands)
        self._safety = Understander(dialogs.safety)
        self._wake_phrase = wake_phrase

    def needs_second_hearing(self, text: str, in_window: bool) -> bool:
        return False  # the usual way takes the transcript as it is

    def is_crisis(self, text: str, in_window: bool) -> bool:
        return False  # never asked: the usual way has no early endpoint

    def hear(self, text: str, in_window: bool, confidence: float = 1.0,
             sounds_like_crisis: Callable[[], bool] | None = None) -> Heard:
        woke, rest = split_wake(text, self._wake_phrase)
        if not woke and not in_window:
            return Heard(False, Concern.NONE, None, False, [])
        if woke and not rest:
            return Heard(True, Concern.NONE, None, True, self.brain.on_wake_only())
        crisis = self._safety.match(rest, max_dropped=0)
        if crisis is not None:
            return Heard(woke, Concern.SURE, None, True, self.brain.on_crisis())
        command = self._commands.match(rest, max_dropped=0)
        if command is not None:
            return Heard(woke, Concern.NONE, command, True, self.brain.on_command(command))
        return Heard(woke, Concern.NONE, None, True, self.brain.on_not_understood())
