"""Voice activity and endpointing: where an utterance starts and where it ends.

webrtcvad classifies each 30 ms frame; a short run of voiced frames starts an utterance (with a little
audio from before it, so the first word is whole), and `endpoint_silence_ms` of unvoiced frames ends it.

webrtcvad keeps calling frames voiced for 60-90 ms after the voice stops (its hangover: measured on
the dev clips, even frames of digital silence). So the end of speech is also found by loudness: a
frame back at the room's level from before the utterance, and far below the utterance's loudest, is
quiet whatever webrtcvad says. In noise (10 dB SNR) that never holds and webrtcvad alone decides.
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
QUIET_ABOVE_ROOM_DB = 6.0
"""A frame within this much of the room's level (the quietest frame before the utterance) ..."""
QUIET_BELOW_PEAK_DB = 30.0
"""... and this far below the utterance's loudest frame is quiet: the voice has stopped."""
SILENT_BELOW_PEAK_DB = 45.0
"""A frame this far below the utterance's loudest is quiet even in a room quieter than that (a
breath's fading tail: the recording's own measure of a sound's end uses about this level)."""


def level_db(frame: np.ndarray) -> float:
    """RMS level of int16 samples, in dB (0 dB is an RMS of 1)."""
    return 10.0 * float(np.log10(np.mean(np.square(frame, dtype=np.float64)) + 1e-12))


class Step(enum.Enum):
    SILENCE = "silence"
    STARTED = "started"
    SPEECH = "speech"
    ENDED = "ended"


def is_quiet(level: float, room_db: float, peak_db: float) -> bool:
    """Has the voice stopped, by loudness alone? (dB as from `level_db`)"""
    return level < peak_db - QUIET_BELOW_PEAK_DB and (
        level < room_db + QUIET_ABOVE_ROOM_DB or level < peak_db - SILENT_BELOW_PEAK_DB)


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
        self._quiet_frames = 0
        self._speech_frames = 0
        self._room_db = 0.0
        self._peak_db = 0.0
        self.speech_end_seconds = 0.0
        """Stream time at the end of the last frame that was neither unvoiced nor quiet: the end of speech."""
        self._silence_needed_ms = self.endpoint_silence_ms

    def reset(self) -> None:
        self._recent.clear()
        self.pre_roll.clear()
        self.in_speech = False
        self._silent_frames = 0
        self._quiet_frames = 0
        self._speech_frames = 0

    def push(self, frame: np.ndarray, end_seconds: float) -> Step:
        """`end_seconds`: stream time at the end of this frame."""
        voiced = self._vad.is_speech(frame.tobytes(), RATE_HZ)
        if not self.in_speech:
            self._recent.append(voiced)
            self.pre_roll.append(frame)
            if sum(self._recent) >= START_VOICED_FRAMES:
                self.in_speech = True
                self._silent_frames = self._quiet_frames = 0
                self._speech_frames = len(self.pre_roll)
                self._silence_needed_ms = self.endpoint_silence_ms
                levels = [level_db(earlier) for earlier in self.pre_roll]  # the room, then the voice's onset
                self._room_db, self._peak_db = min(levels), max(levels)
                self.speech_end_seconds = end_seconds
                self._recent.clear()
                return Step.STARTED
            return Step.SILENCE
        self._speech_frames += 1
        level = level_db(frame)
        self._peak_db = max(self._peak_db, level)
        quiet = is_quiet(level, self._room_db, self._peak_db)
        if voiced:
            self._silent_frames = 0
        else:
            self._silent_frames += 1
        if voiced and not quiet:
            self._quiet_frames = 0
            self.speech_end_seconds = end_seconds
            self._silence_needed_ms = self.endpoint_silence_ms  # a longer wait was for that pause only
        else:
            self._quiet_frames += 1
        too_long = self._speech_frames * FRAME_SECONDS >= MAX_UTTERANCE_SECONDS
        if self._silent_frames * FRAME_SECONDS * 1000 >= self._silence_needed_ms or too_long:
            self.in_speech = False
            self.pre_roll.clear()
            return Step.ENDED
        return Step.SPEECH

    def wait_longer(self, silence_ms: int) -> None:
        """End only after `silence_ms` of silence, in the pause going on now (a pause that is not the
        end); when the voice comes back, the usual silence ends the utterance again."""
        self._silence_needed_ms = max(self._silence_needed_ms, silence_ms)

    @property
    def quiet_ms(self) -> float:
        """How long since the end of speech (`speech_end_seconds`) in the current utterance."""
        return self._quiet_frames * FRAME_SECONDS * 1000
