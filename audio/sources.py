"""Where sound comes from: a microphone, a WAV file, or silence. All yield 30 ms int16 frames."""

from __future__ import annotations

import logging
import queue
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import numpy as np

from audio import FRAME_SAMPLES, RATE_HZ
from audio.devices import find_device, sounddevice
from audio.wav import read_wav
from voice.errors import AudioDeviceError

_LOGGER = logging.getLogger(__name__)

DEVICE_BLOCK_SAMPLES = 320
"""The microphone delivers 20 ms blocks, regrouped into 30 ms frames: with 30 ms blocks the device
buffers 60 ms before we see a sample, with 20 ms 40 ms, with 10 ms 20 ms but at twice the CPU in
silence (measured on PulseAudio)."""


class Source:
    """A stream of frames. `is_live` sources hear Lantern's own voice, so input pauses while it speaks."""

    is_live = False

    def __enter__(self) -> "Source":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def frames(self) -> Iterator[np.ndarray]:
        raise NotImplementedError


class ArraySource(Source):
    """Audio already in memory (a decoded file, a test clip), then `tail_seconds` of silence so the
    last utterance can end and pending replies can finish."""

    def __init__(self, audio: np.ndarray, tail_seconds: float = 1.0):
        pad = np.zeros(int(tail_seconds * RATE_HZ) + (-len(audio)) % FRAME_SAMPLES, dtype=np.int16)
        self._audio = np.concatenate([audio.astype(np.int16), pad])

    def frames(self) -> Iterator[np.ndarray]:
        for start in range(0, len(self._audio) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
            yield self._audio[start:start + FRAME_SAMPLES]


class WavSource(ArraySource):
    def __init__(self, path: Path | str, tail_seconds: float = 1.0):
        super().__init__(read_wav(path), tail_seconds)


class SilenceSource(Source):
    def __init__(self, seconds: float):
        self._count = int(seconds * RATE_HZ / FRAME_SAMPLES)

    def frames(self) -> Iterator[np.ndarray]:
        silence = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        for _ in range(self._count):
            yield silence


class MicrophoneSource(Source):
    """A sounddevice input stream. The device thread only queues bytes; frames are copied out here."""

    is_live = True

    def __init__(self, device: str | int | None):
        self._device = find_device(device, "input")
        self._queue: queue.Queue[bytes] = queue.Queue(maxsize=600)  # 12 s of 20 ms blocks
        self._stream = None
        self.closed = False

    def __enter__(self) -> "MicrophoneSource":
        sd = sounddevice()
        try:
            self._stream = sd.RawInputStream(
                samplerate=RATE_HZ, blocksize=DEVICE_BLOCK_SAMPLES, device=self._device, channels=1,
                dtype="int16", callback=self._on_audio, latency="low",
            )
            self._stream.start()
        except sd.PortAudioError as exc:
            raise AudioDeviceError(
                f"cannot open the microphone ({exc}). Check it is plugged in, or set audio.input_device "
                "(see `lantern devices`)."
            ) from None
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self.closed = True
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None

    def _on_audio(self, data: bytes, frames: int, time: object, status: object) -> None:
        if status:
            _LOGGER.debug("input status: %s", status)
        try:
            self._queue.put_nowait(bytes(data))
        except queue.Full:  # the main loop stalled; dropping is better than growing without bound
            _LOGGER.warning("microphone frames dropped: the main loop is too slow")

    def frames(self) -> Iterator[np.ndarray]:
        pending = bytearray()
        frame_bytes = FRAME_SAMPLES * 2
        while not self.closed:
            try:
                pending += self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            while len(pending) >= frame_bytes:
                yield np.frombuffer(pending[:frame_bytes], dtype=np.int16).copy()
                del pending[:frame_bytes]
