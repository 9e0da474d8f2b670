"""Soft chimes, generated: no sound files to lose."""

from __future__ import annotations

import numpy as np

from audio import RATE_HZ


def _tone(freq_hz: float, seconds: float, level: float) -> np.ndarray:
    t = np.arange(int(RATE_HZ * seconds)) / RATE_HZ
    envelope = np.minimum(1.0, t / 0.01) * np.exp(-t * 9.0)  # quick soft attack, bell-like decay
    return level * envelope * np.sin(2 * np.pi * freq_hz * t)


def listening_chime(level: float = 0.18) -> np.ndarray:
    """Two rising notes: "I'm listening"."""
    audio = np.concatenate([_tone(660.0, 0.07, level), _tone(880.0, 0.11, level)])
    return (audio * 32767).astype(np.int16)


def done_chime(level: float = 0.15) -> np.ndarray:
    """One low note: "done"."""
    return (_tone(523.0, 0.16, level) * 32767).astype(np.int16)
