"""The "room" for tests: audio/room.py's PulseAudio room, with the tests' names and start-up hint.

Whatever is played into the sink ``room`` can be recorded back from its monitor ``room.monitor``.
``./script/test`` starts it; see "A real sound card in CI" in DESIGN.md. Import it as ``tests.room``.

Typical use::

    ensure_room()
    with RoomRecorder() as rec:
        t_said = rec.seconds            # position in the recording when the user spoke
        play_into_room(utterance)
        time.sleep(3)                   # Lantern answers into the same room
    answer_at = sound_onset(rec.audio, after=t_said + len(utterance) / RATE)
"""

from __future__ import annotations

import os
import time
from typing import Final

import numpy as np
import numpy.typing as npt

from audio import room
from audio.room import RATE, ROOM_SINK, ROOM_SOURCE, Int16Audio, RoomUnavailable
from audio.room import onset as sound_onset

__all__ = [
    "RATE", "ROOM_SINK", "ROOM_SOURCE", "Int16Audio", "RoomRecorder", "RoomUnavailable", "dominant_frequency",
    "ensure_room", "play_into_room", "record_room", "rms_dbfs", "room_available", "sound_onset", "tone",
]

_START_HINT: Final = (
    "run the tests with ./script/test, which starts it, or start it by hand: "
    'pulseaudio -D --exit-idle-time=-1 --disallow-exit -n --load="module-null-sink sink_name=room" '
    '--load="module-native-protocol-unix"'
)

# One room for the whole test run; the modules it adds stay loaded for later tests.
_ROOM: Final = room.Room(client_name="lantern-tests", start_hint=_START_HINT)


def room_available() -> bool:
    """True when a PulseAudio server answers and has the ``room`` sink. Never starts anything."""
    return _ROOM.available()


def ensure_room() -> None:
    """Make sure the room is usable, or raise RoomUnavailable saying why.

    PulseAudio clients started by this process afterwards (including sounddevice's ``pulse`` device)
    are pointed at the room through PULSE_SINK and PULSE_SOURCE, unless those are already set.
    """
    _ROOM.ensure()
    os.environ.setdefault("PULSE_SINK", ROOM_SINK)
    os.environ.setdefault("PULSE_SOURCE", ROOM_SOURCE)


def play_into_room(audio_int16_16k: Int16Audio, *, rate: int = RATE) -> None:
    """Play a mono int16 clip into the room; return when it has been played out."""
    _ROOM.play(audio_int16_16k, rate=rate)


class RoomRecorder(room.RoomRecorder):
    """audio.room.RoomRecorder on the tests' room."""

    def __init__(self, *, rate: int = RATE, start_timeout: float = 5.0) -> None:
        super().__init__(_ROOM, rate=rate, start_timeout=start_timeout)


def record_room(seconds: float) -> Int16Audio:
    """Record the room for ``seconds`` and return 16 kHz mono int16 audio."""
    with RoomRecorder() as rec:
        time.sleep(seconds)
    return rec.audio[: int(round(seconds * RATE))]


def dominant_frequency(audio: npt.NDArray[np.generic], *, rate: int = RATE) -> float:
    """The strongest frequency in a clip, in Hz (Hann-windowed FFT peak)."""
    x = np.asarray(audio, dtype=np.float64)
    if len(x) < 2:
        raise ValueError("clip too short")
    spectrum = np.abs(np.fft.rfft((x - x.mean()) * np.hanning(len(x))))
    return float(np.argmax(spectrum) * rate / len(x))


def rms_dbfs(audio: npt.NDArray[np.generic]) -> float:
    """Level of a clip in dB relative to int16 full scale (-inf for digital silence)."""
    x = np.asarray(audio, dtype=np.float64)
    rms = float(np.sqrt(np.mean(x * x))) if len(x) else 0.0
    return 20 * np.log10(rms / 32768.0) if rms > 0 else float("-inf")


def tone(
    freq: float, seconds: float, *, amplitude: float = 0.5, rate: int = RATE
) -> Int16Audio:
    """A sine tone as 16 kHz mono int16, with 10 ms fades against clicks."""
    t = np.arange(int(seconds * rate)) / rate
    wave = amplitude * np.sin(2 * np.pi * freq * t)
    fade = min(len(t) // 2, int(0.01 * rate))
    if fade:
        ramp = np.linspace(0.0, 1.0, fade)
        wave[:fade] *= ramp
        wave[-fade:] *= ramp[::-1]
    return np.round(wave * 32767).astype(np.int16)


if __name__ == "__main__":
    import sys

    try:
        ensure_room()
    except RoomUnavailable as e:
        print(f"room: not available: {e}", file=sys.stderr)
        sys.exit(1)
    print("room: available")
