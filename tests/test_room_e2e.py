"""End to end in the PulseAudio room: `lantern run` listens to the room, a test plays a parent's words
into it, and the room's recording shows Lantern's answer, and that it did not wake on its own voice."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests.room import RoomRecorder, RoomUnavailable, ensure_room, play_into_room, sound_onset
from voice.bench.speech import default_cache_dir, utterance

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def room() -> None:
    try:
        ensure_room()
    except RoomUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"the PulseAudio room is required in CI: {exc}")
        pytest.skip(f"no PulseAudio room: {exc}")


class Lantern:
    """`lantern run` as a child process, its JSON events collected."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "voice", "run"], cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.events: queue.Queue[dict] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.events.put(json.loads(line))

    def wait_for(self, kind: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=0.2)
            except queue.Empty:
                continue
            self.seen.append(event)
            if event["type"] == kind:
                return event
        raise AssertionError(f"no {kind} event within {timeout} s; saw {self.seen}; stderr: {self._stderr()}")

    seen: list[dict] = []

    def _stderr(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        return self.proc.stderr.read() if self.proc.stderr else ""

    def drain(self, seconds: float) -> list[dict]:
        time.sleep(seconds)
        while not self.events.empty():
            self.seen.append(self.events.get())
        return self.seen

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=10)


def test_lantern_answers_in_the_room(room: None) -> None:
    lantern = Lantern()
    lantern.seen = []
    try:
        lantern.wait_for("ready", timeout=60)
        clip = utterance("start a hug", "hibari", default_cache_dir(), tail_silence_seconds=0.2)
        with RoomRecorder() as recorder:
            played_at = recorder.seconds
            play_into_room(clip)
            speech_end = played_at + (len(clip) / 16000) - 0.2
            intent = lantern.wait_for("intent", timeout=10)
            reply = lantern.wait_for("speak", timeout=10)
            events = lantern.drain(7.0)  # the reply, then the hug's "five" at 5 s
        audio = recorder.audio
        assert intent["name"] == "hug"
        onset = sound_onset(audio, after=speech_end + 0.05)
        assert onset is not None, "nothing was heard in the room after the parent spoke"
        gap = onset - speech_end
        assert gap < 2.0, f"Lantern took {gap:.2f} s to start answering"
        # What the room heard after the user stopped is as long as what Lantern says it said.
        loud = np.abs(audio[int(onset * 16000):int((onset + reply["duration_seconds"] + 0.5) * 16000)]).max()
        assert loud > 300
        # Lantern heard itself talking (same room) but never woke on or answered its own voice.
        assert [e["type"] for e in events].count("wake") == 1
        assert [e["name"] for e in events if e["type"] == "intent"] == ["hug"]
        assert any(e["type"] == "timer" and e["name"] == "hug_half" for e in events)
    finally:
        code = lantern.stop()
    assert code == 0, lantern._stderr()


def test_chatter_in_the_room_is_ignored(room: None) -> None:
    lantern = Lantern()
    lantern.seen = []
    try:
        lantern.wait_for("ready", timeout=60)
        for text in ("can you stop the tap", "i need a hug honestly"):
            play_into_room(utterance(text, "hibari", default_cache_dir(), wake=None))
        events = lantern.drain(2.0)
        assert not [e for e in events if e["type"] in ("wake", "intent", "speak")], events
    finally:
        assert lantern.stop() == 0
