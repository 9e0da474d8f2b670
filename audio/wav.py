"""WAV files in any rate, width and channel count, to and from 16 kHz mono int16."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np
import soxr

from audio import RATE_HZ
from voice.errors import AudioFileError


def read_wav(path: Path | str) -> np.ndarray:
    """The file's audio as 16 kHz mono int16. Raises AudioFileError with the reason."""
    path = Path(path)
    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            raw = wav.readframes(wav.getnframes())
    except FileNotFoundError:
        raise AudioFileError(f"{path}: no such file") from None
    except (wave.Error, EOFError, RuntimeError, ValueError, struct.error) as exc:  # wave's ways to say "broken"
        raise AudioFileError(f"{path}: not a readable WAV file ({exc or 'cut short'}); convert it with `sox {path.name} -r 16000 -c 1 out.wav`") from None
    except OSError as exc:
        raise AudioFileError(f"{path}: cannot read it ({exc.strerror})") from None
    if rate <= 0 or channels <= 0:
        raise AudioFileError(f"{path}: the WAV header is broken (rate {rate}, {channels} channels)")
    samples = _decode(raw, width, path)
    usable = len(samples) - len(samples) % channels
    audio = samples[:usable].reshape(-1, channels).mean(axis=1)
    if rate != RATE_HZ and len(audio):
        audio = soxr.resample(audio, rate, RATE_HZ)
    return np.clip(np.round(audio), -32768, 32767).astype(np.int16)


def _decode(raw: bytes, width: int, path: Path) -> np.ndarray:
    """PCM bytes to float samples on the int16 scale."""
    if width == 1:
        return (np.frombuffer(raw, np.uint8).astype(np.float64) - 128.0) * 256.0
    if width == 2:
        return np.frombuffer(raw[: len(raw) // 2 * 2], "<i2").astype(np.float64)
    if width == 3:
        b = np.frombuffer(raw[: len(raw) // 3 * 3], np.uint8).reshape(-1, 3).astype(np.int32)
        value = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        value = np.where(value >= 1 << 23, value - (1 << 24), value)
        return value.astype(np.float64) / 256.0
    if width == 4:
        return np.frombuffer(raw[: len(raw) // 4 * 4], "<i4").astype(np.float64) / 65536.0
    raise AudioFileError(f"{path}: {width * 8}-bit samples are not supported; use 16-bit PCM")


def write_wav(path: Path | str, audio: np.ndarray, rate_hz: int = RATE_HZ) -> None:
    """Write mono int16 audio."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate_hz)
        wav.writeframes(np.asarray(audio, dtype="<i2").tobytes())
