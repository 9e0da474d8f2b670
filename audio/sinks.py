"""Where Lantern's voice goes: a speaker, WAV files, or nowhere. Volume is applied here."""

from __future__ import annotations

import logging
import threading
from collections import deque
from pathlib import Path

import numpy as np

from audio import RATE_HZ
from audio.devices import find_device, sounddevice
from audio.wav import write_wav
from voice.errors import AudioDeviceError

_LOGGER = logging.getLogger(__name__)


def scaled(audio: np.ndarray, volume: float) -> np.ndarray:
    return np.clip(audio.astype(np.float32) * volume, -32768, 32767).astype(np.int16)


class Sink:
    def __enter__(self) -> "Sink":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def play(self, audio: np.ndarray, volume: float, label: str = "") -> None:
        """Queue audio (16 kHz int16) to be heard after whatever is already playing."""
        raise NotImplementedError

    def close(self) -> None:
        return None


class NullSink(Sink):
    def play(self, audio: np.ndarray, volume: float, label: str = "") -> None:
        return None


class WavDirSink(Sink):
    """Each reply as its own numbered WAV file (`lantern listen --out DIR`)."""

    def __init__(self, directory: Path | str, prefix: str = ""):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.prefix = prefix
        self.count = 0

    def play(self, audio: np.ndarray, volume: float, label: str = "") -> None:
        self.count += 1
        name = f"{self.prefix}{self.count:03d}{'-' + label if label else ''}.wav"
        write_wav(self.directory / name, scaled(audio, volume))


SPEAKER_BLOCK_SAMPLES = 320
"""20 ms callbacks: smaller blocks cost more CPU (a running stream with 64-sample blocks took 3.7 % of a
core in silence, with 320 1.3 %) for no difference a listener notices."""
IDLE_SECONDS_BEFORE_PAUSE = 1.0
"""Silence fed after the last reply before the stream pauses itself. Stopping a stream drops what the
sound server still holds: pausing after 0.1 s cut the ends off replies. After a second, only silence
is left to drop."""


class SpeakerSink(Sink):
    """One output stream fed from a queue. It is opened once (a reply never waits for a device to open)
    and pauses itself after a second of silence: idle, it would cost CPU for nothing. Restarting is
    quick, and the first samples go out at once (measured in the room: 10-20 ms)."""

    def __init__(self, device: str | int | None):
        sd = sounddevice()
        self._lock = threading.Lock()
        self._chunks: deque[np.ndarray] = deque()
        self._idle = 0
        self._pausing = False
        self._sd = sd
        try:
            self._stream = sd.OutputStream(
                samplerate=RATE_HZ, device=find_device(device, "output"), channels=1, dtype="int16",
                callback=self._fill, latency="low", blocksize=SPEAKER_BLOCK_SAMPLES,
            )
        except sd.PortAudioError as exc:
            raise AudioDeviceError(
                f"cannot open the speaker ({exc}). Check it is plugged in, or set audio.output_device "
                "(see `lantern devices`)."
            ) from None

    def play(self, audio: np.ndarray, volume: float, label: str = "") -> None:
        with self._lock:
            self._chunks.append(scaled(audio, volume))
            self._idle = 0
            pausing, self._pausing = self._pausing, False
        # A stream that has just decided to pause still looks active while it plays out its silence:
        # restart it too, or this reply would wait for the next one.
        if pausing or not self._stream.active:
            if not self._stream.stopped:
                self._stream.stop()  # waits for the pause to finish; makes it startable again
            self._stream.start()

    def idle(self) -> bool:
        with self._lock:
            return not self._chunks

    def _fill(self, out: np.ndarray, frames: int, time: object, status: object) -> None:
        out.fill(0)
        written = 0
        with self._lock:
            while written < frames and self._chunks:
                chunk = self._chunks[0]
                take = min(frames - written, len(chunk))
                out[written:written + take, 0] = chunk[:take]
                written += take
                if take == len(chunk):
                    self._chunks.popleft()
                else:
                    self._chunks[0] = chunk[take:]
            if written == 0:
                self._idle += frames
                if self._idle >= IDLE_SECONDS_BEFORE_PAUSE * RATE_HZ:
                    self._pausing = True
                    raise self._sd.CallbackStop

    def close(self) -> None:
        if not self._stream.stopped:
            self._stream.stop()
        self._stream.close()
