"""Speech to text: one interface, two engines (vosk, pocketsphinx), both restricted to our phrases.

`auto` picks vosk when its model is installed (it hears far better, and is what a Pi should run),
else pocketsphinx, whose English model ships inside its wheel.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from voice.config import Config, data_dir
from voice.dialogs import Dialogs
from voice.errors import ModelMissingError
from voice.grammar import GRAMMAR_VERSION, recognizer_corpus
from voice.word_graph import WordGraph, phrase_graph

_LOGGER = logging.getLogger(__name__)

VOSK_MODEL_NAME = "vosk-model-small-en-us-0.15"


@dataclass(frozen=True)
class Transcript:
    text: str
    confidence: float | None
    """0..1: the engine's own belief in the words; None for a streaming (partial) transcript."""


class Recognizer(Protocol):
    name: str

    def start(self) -> None:
        """A new utterance begins."""

    def feed(self, pcm: bytes) -> None:
        """16 kHz mono int16 audio, in order."""

    def partial(self) -> str:
        """The best guess so far (cheap enough to ask every frame at the end of speech)."""

    def attend(self) -> None:
        """The current utterance is for Lantern (wake phrase heard, or a question open): an engine with a
        second hearing may start it now, so that `second_opinion` is ready when the utterance ends."""

    def finish(self) -> Transcript:
        """The utterance has ended: the final transcript."""

    def second_opinion(self, after_words: int = 0, crisis_only: bool = False) -> Transcript | None:
        """The last utterance heard again, strictly as one whole known phrase (`crisis_only`: one of the
        crisis phrases), from the end of the first transcript's first `after_words` words; None if the
        engine has no such pass. Asked for only when the first made no sense: it is a second decode,
        unless `attend` let the engine run it alongside the first."""


def vosk_model_dir(config: Config) -> Path:
    if config.stt.vosk_model:
        return Path(os.path.expanduser(config.stt.vosk_model))
    return data_dir() / VOSK_MODEL_NAME


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    path = Path(base) / "lantern"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)  # mkdir's mode does not apply to a folder that already existed
    return path


def cache_key(*parts: str) -> str:
    """A short name for a cached file built from `parts` (dialog files' digest, names, versions)."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def choose_engine(config: Config) -> str:
    """The engine `auto` resolves to, or the configured one if its model is present."""
    engine = config.stt.engine
    model = vosk_model_dir(config)
    if engine == "auto":
        return "vosk" if (model / "conf" / "model.conf").exists() or (model / "am").is_dir() else "pocketsphinx"
    if engine == "vosk" and not model.is_dir():
        raise ModelMissingError(
            f"no vosk model at {model}. Run `lantern models download en-us`, or set stt.engine: pocketsphinx in config.yaml."
        )
    return engine


def create_recognizer(config: Config, dialogs: Dialogs) -> Recognizer:
    engine = choose_engine(config)

    def corpus() -> list[str]:
        return recognizer_corpus(dialogs.commands, dialogs.safety, dialogs.answers, dialogs.other, config.wake.phrase)

    if engine == "vosk":
        from voice.stt_vosk import VoskRecognizer

        return VoskRecognizer(vosk_model_dir(config), corpus())
    from voice.stt_pocketsphinx import PocketsphinxRecognizer

    # The model depends only on the dialog files, the names and the wake phrase (and on how phrases
    # are sampled): with those unchanged, start-up reuses the cached model without sampling again.
    key = cache_key(dialogs.source_key(), ",".join(config.household.partners).lower(),
                    config.wake.phrase.lower(), GRAMMAR_VERSION)
    def graphs() -> tuple[WordGraph, WordGraph]:
        return (phrase_graph(config.wake.phrase, dialogs.commands, dialogs.safety, dialogs.other, dialogs.answers),
                phrase_graph(config.wake.phrase, dialogs.safety))

    return PocketsphinxRecognizer.for_phrases(key, corpus, graphs, dialogs.pronunciations, cache_dir())
