"""Text to speech: pyttsx3 over espeak-ng, rendered to audio that our own sink plays.

Rendering (not letting pyttsx3 play) keeps volume, device choice and `--out` WAVs in our hands.
Replies repeat a lot, so rendered audio is cached by text.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import shutil
import tempfile
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from audio.wav import read_wav
from voice.errors import LanternError

_LOGGER = logging.getLogger(__name__)
CACHE_ENTRIES = 128
RENDER_TIMEOUT_SECONDS = 20.0
"""espeak-ng renders a sentence in well under a second; this long means it is stuck."""


class Synthesizer:
    def __init__(self, rate_wpm: int = 150, voice: str = "en-us"):
        try:
            import pyttsx3
        except ImportError as exc:
            raise LanternError(f"pyttsx3 is not installed ({exc}); run ./script/setup") from None
        try:
            self._engine = pyttsx3.init("espeak")
        except Exception as exc:  # pyttsx3 raises bare errors when libespeak-ng is missing
            raise LanternError(f"espeak-ng is not available ({exc}). Run: sudo apt-get install espeak-ng") from None
        self._engine.setProperty("rate", rate_wpm)
        self._set_voice(voice)
        self._engine.setProperty("volume", 1.0)  # volume is applied by the sink
        # pyttsx3's espeak driver can return from runAndWait while espeak, in its own thread, is still
        # rendering (its loop ends on the first pass): 1 reply in 4 to 8 `lantern listen` runs was lost
        # ("rendered nothing"), the file written after the check. The driver says "finished-utterance"
        # once the file is written; we wait for that.
        self._rendered = threading.Event()
        self._engine.connect("finished-utterance", lambda **_: self._rendered.set())
        self._dir = Path(tempfile.mkdtemp(prefix="lantern-tts-"))  # private (0700) scratch space
        weakref.finalize(self, shutil.rmtree, self._dir, True)  # removed even if close() is never called
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._kept: dict[str, np.ndarray] = {}
        """Sentences rendered by `keep`: never evicted."""
        self._lock = threading.Lock()

    def _set_voice(self, voice: str) -> None:
        for candidate in self._engine.getProperty("voices"):
            if candidate.id == voice or candidate.name == voice or candidate.id.endswith("/" + voice):
                self._engine.setProperty("voice", candidate.id)
                return
        raise LanternError(f"espeak-ng has no voice {voice!r} (tts.voice in config.yaml); `espeak-ng --voices=en` lists them")

    def synthesize(self, text: str) -> np.ndarray:
        """16 kHz mono int16 audio of `text`, rendered a sentence at a time (pyttsx3's espeak driver
        loses some multi-sentence texts; short pieces are also what a streaming reply will need)."""
        sentences = _sentences(text)
        return np.concatenate([self._sentence(s) for s in sentences]) if sentences else np.zeros(0, np.int16)

    def keep(self, texts: Iterable[str]) -> None:
        """Render `texts` now and keep them for good (the crisis line must never wait on espeak, however
        many other replies have been said since)."""
        for text in texts:
            for sentence in _sentences(text):
                audio = self._sentence(sentence)
                with self._lock:
                    self._kept[sentence] = audio

    def _sentence(self, text: str) -> np.ndarray:
        with self._lock:
            kept = self._kept.get(text)
            if kept is not None:
                return kept
            cached = self._cache.get(text)
            if cached is not None:
                self._cache.move_to_end(text)
                return cached
            path = self._dir / "say.wav"
            self._rendered.clear()
            with contextlib.redirect_stdout(io.StringIO()):  # pyttsx3 prints "Audio saved to ..."
                self._engine.save_to_file(text, str(path))
                self._engine.runAndWait()
                finished = self._rendered.wait(RENDER_TIMEOUT_SECONDS)
            if not finished or not path.exists():
                raise LanternError(f"espeak-ng rendered nothing for {text!r}")
            audio = read_wav(path)
            path.unlink(missing_ok=True)
            self._cache[text] = audio
            if len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)
            return audio

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.?!])\s+", text.strip()) if s]
