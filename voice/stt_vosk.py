"""vosk (Kaldi) restricted to our words, the way wyoming-vosk does it: a runtime grammar with [unk]."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from voice.errors import ModelMissingError
from voice.grammar import words_of
from voice.stt import Transcript

_LOGGER = logging.getLogger(__name__)


class VoskRecognizer:
    name = "vosk"

    def __init__(self, model_dir: Path, corpus: list[str] | None):
        """`corpus`: the phrases to restrict vosk to; None for its own open vocabulary (the usual way,
        for the benchmark)."""
        try:
            import vosk
        except ImportError as exc:
            raise ModelMissingError(f"vosk is not installed ({exc}); run ./script/setup") from None
        if not model_dir.is_dir():
            raise ModelMissingError(f"no vosk model at {model_dir}. Run `lantern models download en-us`.")
        vosk.SetLogLevel(-1)
        try:
            self._model = vosk.Model(str(model_dir))
        except Exception as exc:  # vosk raises a bare Exception for a broken model directory
            raise ModelMissingError(
                f"the vosk model at {model_dir} does not load ({exc}). Remove it and run `lantern models download en-us`."
            ) from None
        self._grammar = None if corpus is None else json.dumps(
            sorted(words_of(corpus)) + ["[unk]"], ensure_ascii=False)  # vosk reads raw UTF-8
        if corpus is None:
            self.name = "vosk-open"
        self._vosk = vosk
        self._recognizer = None

    def start(self) -> None:
        if self._grammar is None:
            self._recognizer = self._vosk.KaldiRecognizer(self._model, 16000)
        else:
            self._recognizer = self._vosk.KaldiRecognizer(self._model, 16000, self._grammar)
        self._recognizer.SetWords(True)

    def feed(self, pcm: bytes) -> None:
        self._recognizer.AcceptWaveform(pcm)

    def partial(self) -> str:
        return json.loads(self._recognizer.PartialResult()).get("partial", "")

    def attend(self) -> None:
        """No second hearing to start."""

    def finish(self) -> Transcript:
        result = json.loads(self._recognizer.FinalResult())
        words = result.get("result") or []
        # "[unk]" (a word outside our vocabulary) stays in as "unk", so the templates do not match it:
        # such an utterance was not meant for us, or not heard well.
        text = " ".join(w["word"].strip("[]") for w in words) if words else result.get("text", "")
        confidence = sum(w.get("conf", 0.0) for w in words) / len(words) if words else 0.0
        return Transcript(text, confidence)

    def second_opinion(self, after_words: int = 0, crisis_only: bool = False) -> Transcript | None:
        """None: vosk's acoustic model hears well enough that its words are taken as they are."""
        return None
