"""The virtual sound card works: what is played into the room can be heard back from it."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from tests.room import (
    RATE,
    RoomRecorder,
    RoomUnavailable,
    dominant_frequency,
    ensure_room,
    play_into_room,
    record_room,
    rms_dbfs,
    sound_onset,
    tone,
)

pytestmark = pytest.mark.slow

TONE_HZ = 1000.0


@pytest.fixture(scope="module")
def room() -> Iterator[None]:
    """The room is up; skipped without it, unless ./script/test or CI says it is required."""
    try:
        ensure_room()
    except RoomUnavailable as e:
        if os.environ.get("LANTERN_ROOM") == "required" or os.environ.get("CI"):
            pytest.fail(f"the PulseAudio room is required here: {e}")
        pytest.skip(f"no PulseAudio room: {e}")
    yield


def assert_tone(audio: np.ndarray, freq: float = TONE_HZ) -> None:
    assert len(audio) > RATE // 10, f"recording too short: {len(audio)} samples"
    start = sound_onset(audio)
    assert start is not None, f"recording is silent (level {rms_dbfs(audio):.1f} dBFS)"
    heard = audio[int(start * RATE) :]
    peak = dominant_frequency(heard)
    assert abs(peak - freq) < 20, f"loudest frequency is {peak:.0f} Hz, expected {freq:.0f} Hz"
    assert rms_dbfs(heard[: RATE // 4]) > -20, "the tone came back far quieter than it was played"


def test_tone_played_into_room_is_recorded(room: None) -> None:
    with RoomRecorder() as rec:
        played_at = rec.seconds
        play_into_room(tone(TONE_HZ, 0.5))
        time.sleep(0.2)
    audio = rec.audio
    assert_tone(audio)
    onset = sound_onset(audio)
    assert onset is not None
    # The room adds little delay: the tone starts within 150 ms of when it was sent.
    assert onset - played_at < 0.15, f"tone heard {onset - played_at:.3f} s after it was played"
    # And it is as long as it was, give or take a block.
    loud = [rms_dbfs(audio[i : i + 320]) > -30 for i in range(0, len(audio) - 320, 320)]
    assert abs(sum(loud) * 0.02 - 0.5) < 0.1


def test_silent_room_records_silence(room: None) -> None:
    audio = record_room(0.3)
    assert len(audio) == int(0.3 * RATE)
    assert rms_dbfs(audio) < -60


def test_record_room_while_playing(room: None) -> None:
    t = threading.Timer(0.2, play_into_room, args=(tone(TONE_HZ, 0.4),))
    t.start()
    try:
        audio = record_room(1.0)
    finally:
        t.join()
    assert_tone(audio)


def test_play_into_room_rejects_wrong_format() -> None:
    with pytest.raises(TypeError):
        play_into_room(np.zeros(100, dtype=np.float32))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        play_into_room(np.zeros((100, 2), dtype=np.int16))


def _pulse_device_index() -> int:
    import sounddevice as sd

    names = [d["name"] for d in sd.query_devices()]
    assert "pulse" in names, f"sounddevice sees no 'pulse' device, only {names}"
    return names.index("pulse")


def test_sounddevice_sees_pulse_device(room: None) -> None:
    import sounddevice as sd

    index = _pulse_device_index()
    device = sd.query_devices(index)
    assert device["max_output_channels"] >= 1
    assert device["max_input_channels"] >= 1


def test_sounddevice_output_plays_into_room(room: None) -> None:
    import sounddevice as sd

    index = _pulse_device_index()
    clip = tone(TONE_HZ, 0.5)
    with RoomRecorder() as rec:
        with sd.OutputStream(device=index, samplerate=RATE, channels=1, dtype="int16") as stream:
            stream.write(clip.reshape(-1, 1))
            # Closing the stream drains what is still buffered.
        time.sleep(0.3)
    assert_tone(rec.audio)


def test_sounddevice_input_hears_room(room: None) -> None:
    import sounddevice as sd

    index = _pulse_device_index()
    chunks: list[np.ndarray] = []

    def callback(indata: np.ndarray, frames: int, time_info: object, status: object) -> None:
        chunks.append(indata[:, 0].copy())

    with sd.InputStream(
        device=index, samplerate=RATE, channels=1, dtype="int16", callback=callback
    ):
        deadline = time.monotonic() + 5
        while not chunks and time.monotonic() < deadline:
            time.sleep(0.01)
        assert chunks, "the sounddevice input stream delivered nothing"
        play_into_room(tone(TONE_HZ, 0.5))
        time.sleep(0.3)
    assert_tone(np.concatenate(chunks))


def _tone_seconds(audio: np.ndarray, threshold: int = 3000) -> float:
    """How long the recording is loud, in 10 ms blocks."""
    blocks = audio[: len(audio) // 160 * 160].reshape(-1, 160)
    return float((np.abs(blocks).max(axis=1) > threshold).sum()) * 0.01


def test_speaker_sink_plays_every_reply_whole(room: None) -> None:
    """Lantern's own speaker: a reply after silence (the stream has paused itself) is played whole and
    starts promptly. An earlier sink stopped too soon and lost the ends of replies."""
    from audio import sinks

    sink = sinks.SpeakerSink(None)
    starts = []
    try:
        with RoomRecorder() as rec:
            for _ in range(2):
                time.sleep(sinks.IDLE_SECONDS_BEFORE_PAUSE + 0.5)  # idle long enough to pause
                starts.append(rec.seconds)
                sink.play(tone(TONE_HZ, 1.0), 1.0)
                time.sleep(1.5)
    finally:
        sink.close()
    for start in starts:
        audio = rec.audio[int(start * RATE):int((start + 1.5) * RATE)]
        assert _tone_seconds(audio) >= 0.97
        onset = sound_onset(audio)
        assert onset is not None and onset < 0.25
