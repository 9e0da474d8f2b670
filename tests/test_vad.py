"""Where an utterance ends: webrtcvad's hangover trimmed by loudness, and never in the middle of speech."""

from __future__ import annotations

import numpy as np

from audio import FRAME_SAMPLES, RATE_HZ
from voice.vad import FRAME_SECONDS, Endpointer, Step, is_quiet


def _tone(seconds: float, amplitude: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE_HZ)) / RATE_HZ
    return np.sin(2 * np.pi * 300 * t) * amplitude


def _run(audio: np.ndarray) -> tuple[Endpointer, list[tuple[float, Step, float]]]:
    """Every step with its stream time and the endpointer's quiet_ms."""
    endpointer = Endpointer(2, 240)
    steps = []
    pcm = np.clip(audio, -32768, 32767).astype(np.int16)
    for i in range(len(pcm) // FRAME_SAMPLES):
        now = (i + 1) * FRAME_SECONDS
        steps.append((now, endpointer.push(pcm[i * FRAME_SAMPLES:(i + 1) * FRAME_SAMPLES], now), endpointer.quiet_ms))
    return endpointer, steps


def test_end_of_speech_is_where_the_sound_stops_not_after_the_vad_hangover() -> None:
    speech_end = 0.3 + 1.2
    audio = np.concatenate([np.zeros(int(0.3 * RATE_HZ)), _tone(1.2, 8000), np.zeros(RATE_HZ)])
    endpointer, steps = _run(audio)
    ended = [t for t, step, _ in steps if step is Step.ENDED]
    assert len(ended) == 1 and ended[0] >= speech_end + 0.24  # the full endpoint still waits its silence
    assert abs(endpointer.speech_end_seconds - speech_end) <= FRAME_SECONDS
    quiet_120 = next(t for t, step, quiet in steps if quiet >= 120)
    assert quiet_120 <= speech_end + 0.12 + FRAME_SECONDS


def test_loudness_calls_quiet_only_what_is_far_below_the_voice() -> None:
    peak = 75.0
    assert not is_quiet(peak - 20, room_db=20.0, peak_db=peak)  # a soft syllable
    assert not is_quiet(peak - 22, room_db=peak - 20, peak_db=peak)  # a loud room: only webrtcvad can tell
    assert is_quiet(peak - 35, room_db=peak - 38, peak_db=peak)  # back at the room's level
    assert is_quiet(peak - 50, room_db=-120.0, peak_db=peak)  # a fading tail in a silent room
    assert not is_quiet(peak - 40, room_db=-120.0, peak_db=peak)


def test_in_steady_noise_loudness_does_not_end_speech_early() -> None:
    """At 10 dB SNR the noise is never far below the voice: webrtcvad alone decides, and the end of
    speech is not placed before the voice stops."""
    rng = np.random.default_rng(3)
    speech = np.concatenate([np.zeros(int(0.3 * RATE_HZ)), _tone(1.2, 8000), np.zeros(RATE_HZ)])
    noise = rng.normal(0, 8000 / np.sqrt(2) / np.sqrt(10), len(speech))
    endpointer, steps = _run(speech + noise)
    assert all(quiet == 0 for t, _, quiet in steps if 0.4 < t < 1.5)
    assert endpointer.speech_end_seconds >= 1.5 - FRAME_SECONDS


def test_waiting_longer_lets_a_pause_pass_and_then_the_usual_silence_ends() -> None:
    """After "hey lantern" alone the pipeline asks for a longer silence: a 0.5 s pause does not end the
    utterance; once the voice is back, the usual silence ends it, and the next one too."""
    endpointer = Endpointer(2, 240)
    pcm = np.concatenate([np.zeros(int(0.3 * RATE_HZ)), _tone(0.6, 8000), np.zeros(int(0.5 * RATE_HZ)),
                          _tone(0.6, 8000), np.zeros(RATE_HZ), _tone(0.6, 8000), np.zeros(int(0.5 * RATE_HZ))])
    pcm = pcm.astype(np.int16)
    steps = []
    for i in range(len(pcm) // FRAME_SAMPLES):
        now = (i + 1) * FRAME_SECONDS
        step = endpointer.push(pcm[i * FRAME_SAMPLES:(i + 1) * FRAME_SAMPLES], now)
        if now < 1.4 and endpointer.quiet_ms >= 120:  # as the pipeline does in the pause after the wake phrase
            endpointer.wait_longer(700)
        steps.append((now, step))
    ended = [t for t, step in steps if step is Step.ENDED]
    started = [t for t, step in steps if step is Step.STARTED]
    assert len(started) == 2 and len(ended) == 2  # the pause was not an end
    second_tone_end = 0.3 + 0.6 + 0.5 + 0.6
    assert second_tone_end + 0.24 <= ended[0] < second_tone_end + 0.5  # not the 0.7 s wait
    assert ended[1] < started[1] + 0.6 + 0.24 + 0.1
