"""Voice activity and endpointing: where an utterance starts and where it ends.

webrtcvad classifies each 30 ms frame; a short run of voiced frames starts an utterance (with a little
audio from before it, so the first word is whole), and `endpoint_silence_ms` of unvoiced frames ends it.
"""

from __future__ import annotations

import collections
import enum
from dataclasses import dataclass

import numpy as np

from audio import FRAME_SAMPLES, RATE_HZ

FRAME_SECONDS = FRAME_SAMPLES / RATE_HZ
PRE_ROLL_FRAMES = 10
"""300 ms of audio kept from before the speech started."""
START_VOICED_FRAMES = 3
"""Voiced frames among the last START_WINDOW that start an utterance."""
START_WINDOW = 5
MAX_UTTERANCE_SECONDS = 12.0


class Step(enum.Enum):
    SILENCE = "silence"
    STARTED = "started"
    SPEECH = "speech"
    ENDED = "ended"


@dataclass
class Endpointer:
    """Feed frames in order; `push` says what each one means."""

    aggressiveness: int = 2
    endpoint_silence_ms: int = 240

    def __post_init__(self) -> None:
        import webrtcvad

        self._vad = webrtcvad.Vad(self.aggressiveness)
        self._recent: collections.deque[bool] = collections.deque(maxlen=START_WINDOW)
        self.pre_roll: collections.deque[np.ndarray] = collections.deque(maxlen=PRE_ROLL_FRAMES)
        self.in_speech = False
        self._silent_frames = 0
        self._speech_frames = 0
        self.last_voiced_end_seconds = 0.0
        """Stream time at the end of the last voiced frame: the end of speech."""

    def reset(self) -> None:
        self._recent.clear()
        self.pre_roll.clear()
        self.in_speech = False
        self._silent_frames = 0
        self._speech_frames = 0

    def push(self, frame: np.ndarray, end_seconds: float) -> Step:
        """`end_seconds`: stream time at the end of this frame."""
        voiced = self._vad.is_speech(frame.tobytes(), RATE_HZ)
        if not self.in_speech:
            self._recent.append(voiced)
            self.pre_roll.append(frame)
            if sum(self._recent) >= START_VOICED_FRAMES:
                self.in_speech = True
                self._silent_frames = 0
                self._speech_frames = len(self.pre_roll)
                self.last_voiced_end_seconds = end_seconds
                self._recent.clear()
                return Step.STARTED
            return Step.SILENCE
        self._speech_frames += 1
        if voiced:
            self._silent_frames = 0
            self.last_voiced_end_seconds = end_seconds
        else:
            self._silent_frames += 1
        too_long = self._speech_frames * FRAME_SECONDS >= MAX_UTTERANCE_SECONDS
        if self._silent_frames * FRAME_SECONDS * 1000 >= self.endpoint_silence_ms or too_long:
            self.in_speech = False
            self.pre_roll.clear()
            return Step.ENDED
        return Step.SPEECH

    @property
    def silent_ms(self) -> float:
        """How long the current utterance has been quiet."""
        return self._silent_frames * FRAME_SECONDS * 1000
