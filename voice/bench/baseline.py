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

import json
from pathlib import Path

from voice.config import Config
from voice.conversation import Heard
from voice.dialog import Brain
from voice.dialogs import Dialogs
from voice.errors import ModelMissingError
from voice.safety import Concern
from voice.stt import Recognizer, Transcript, choose_engine, vosk_model_dir
from voice.understand import Match, Understander, split_wake


class OpenPocketsphinx:
    """pocketsphinx with its default English language model and full dictionary."""

    name = "pocketsphinx-open"

    def __init__(self) -> None:
        try:
            from pocketsphinx import Decoder, get_model_path
        except ImportError as exc:
            raise ModelMissingError(f"pocketsphinx is not installed ({exc})") from None
        model = Path(get_model_path()) / "en-us"
        # Dithered like Lantern's own decoder (voice/stt_pocketsphinx.py): exact digital silence derails
        # pocketsphinx whatever the language model, so this keeps the comparison about the LM.
        self._decoder = Decoder(hmm=str(model / "en-us"), lm=str(model / "en-us.lm.bin"),
                                dict=str(model / "cmudict-en-us.dict"), dither=True, seed=1, loglevel="FATAL")
        self._in_utterance = False

    def start(self) -> None:
        if self._in_utterance:
            self._decoder.end_utt()
        self._decoder.start_utt()
        self._in_utterance = True

    def feed(self, pcm: bytes) -> None:
        self._decoder.process_raw(pcm, False, False)

    def partial(self) -> str:
        hyp = self._decoder.hyp()
        return hyp.hypstr if hyp is not None else ""

    def finish(self) -> Transcript:
        self._decoder.end_utt()
        self._in_utterance = False
        hyp = self._decoder.hyp()
        if hyp is None or not hyp.hypstr:
            return Transcript("", 0.0)
        return Transcript(hyp.hypstr, float(self._decoder.get_prob()))


class OpenVosk:
    """vosk with no grammar: whatever its model's own vocabulary and language model allow."""

    name = "vosk-open"

    def __init__(self, model_dir: Path):
        try:
            import vosk
        except ImportError as exc:
            raise ModelMissingError(f"vosk is not installed ({exc})") from None
        vosk.SetLogLevel(-1)
        self._model = vosk.Model(str(model_dir))
        self._vosk = vosk
        self._recognizer = None

    def start(self) -> None:
        self._recognizer = self._vosk.KaldiRecognizer(self._model, 16000)
        self._recognizer.SetWords(True)

    def feed(self, pcm: bytes) -> None:
        self._recognizer.AcceptWaveform(pcm)

    def partial(self) -> str:
        return json.loads(self._recognizer.PartialResult()).get("partial", "")

    def finish(self) -> Transcript:
        result = json.loads(self._recognizer.FinalResult())
        words = result.get("result") or []
        confidence = sum(w.get("conf", 0.0) for w in words) / len(words) if words else 0.0
        return Transcript(result.get("text", ""), confidence)


def open_recognizer(config: Config, engine: str) -> Recognizer:
    if engine == "pocketsphinx":
        return OpenPocketsphinx()
    if engine == "vosk":
        choose_engine(config)  # raises ModelMissingError when the model is absent
        return OpenVosk(vosk_model_dir(config))
    raise ValueError(f"unknown engine {engine!r}")


class _NoEarlyEndpoint:
    """The pipeline asks `commands.match(partial)` to end an utterance early; the usual way never does."""

    def match(self, text: str, max_dropped: int = 0) -> Match | None:
        return None


class UsualConversation:
    """Conversation's interface (brain, commands, hear), with exact matching and no crisis spotter."""

    def __init__(self, dialogs: Dialogs, brain: Brain, wake_phrase: str):
        self.brain = brain
        self.commands = _NoEarlyEndpoint()
        self._commands = Understander(dialogs.commands)
        self._safety = Understander(dialogs.safety)
        self._wake_phrase = wake_phrase

    def hear(self, text: str, in_window: bool, confidence: float = 1.0) -> Heard:
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
