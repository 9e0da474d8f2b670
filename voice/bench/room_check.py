"""The end-to-end check: Lantern listening in the PulseAudio "room", timed from a recording of the room.

`lantern run` runs as a subprocess (`python -m voice run`) with its microphone and speaker on the room
(PULSE_SOURCE=room.monitor, PULSE_SINK=room); utterances are played into the room with `pacat`, and
the whole room is recorded with `parec`. The reply gap is measured on that recording: from the end of
the played speech to the first sound of Lantern's reply. That is the user's wait, device buffering
included, and an external check on the pipeline's own latency figures.

Needs a running PulseAudio server (DESIGN.md, "A real sound card in CI"); if none answers, the check
is skipped with a note. It adds the `room` sink (and a 20 ms loopback that keeps an idle null sink's
clock ticking, so timings are right) to a running server that lacks them, and removes them again.
The room itself (playing, recording, levels) is audio/room.py, shared with the tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from audio.room import (RATE, ROOM_SINK, ROOM_SOURCE, WINDOW_SECONDS, Room, RoomRecorder, RoomUnavailable, onset,
                        sound_extent, stop_process)
from voice.config import Config

REPLY_TIMEOUT_SECONDS = 6.0
ROOM_INTENTS = (
    "appreciation", "leave_note", "play_notes", "conversation_starter", "repair", "shared_idea",
    "bad_day", "professional_help", "progress", "whats_next", "snooze", "skip", "stop", "repeat",
    "louder", "help", "forget",
)
"""Intents whose reply is one sentence: no timers (hug, breathing, talk time), no question (check in),
and no volume drop (quieter), so each reply is over before the next utterance."""


# --- measuring on a recording (pure) -------------------------------------------------------------


@dataclass
class Played:
    name: str
    """What was said, for the report."""
    clip: np.ndarray
    at: float
    """Position in the recording just before the clip was sent to the room."""
    events: list[dict[str, Any]] = field(default_factory=list)
    """Lantern's events that arrived after it."""


def measure_gaps(recording: np.ndarray, played: list[Played]) -> list[dict[str, Any]]:
    """For each played clip: end of its speech in the recording, onset of the reply, the gap between."""
    rows = []
    for i, p in enumerate(played):
        limit = played[i + 1].at if i + 1 < len(played) else len(recording) / RATE
        extent = sound_extent(p.clip)
        said = onset(recording, after=p.at, before=limit)
        speaks = [e for e in p.events if e["type"] == "speak"]
        row: dict[str, Any] = {
            "said": p.name,
            "heard": [e.get("text") for e in p.events if e["type"] == "transcript"],
            "intent": next((e.get("name") for e in p.events if e["type"] == "intent"), None),
            "reply": speaks[0]["text"] if speaks else None,
            "internal_latency_ms": speaks[0].get("latency_ms") if speaks else None,
            "gap_ms": None,
        }
        if extent is not None and said is not None and speaks:
            speech_end = said + (extent[1] - extent[0])
            reply = onset(recording, after=speech_end + WINDOW_SECONDS, before=limit)
            if reply is not None:
                row["gap_ms"] = round((reply - speech_end) * 1000, 1)
                if row["internal_latency_ms"] is not None:
                    row["device_ms"] = round(row["gap_ms"] - row["internal_latency_ms"], 1)
        rows.append(row)
    return rows


# --- `lantern run` in the room -------------------------------------------------------------------


class LanternProcess:
    """`python -m voice run` with its JSON events collected as they come."""

    def __init__(self, config_path: Path, env: dict[str, str]):
        self.started = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, "-m", "voice", "run", "--config", str(config_path)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.events: list[dict[str, Any]] = []
        self.ready_at: float | None = None
        self._lock = threading.Condition()
        self._stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            with self._lock:
                if event.get("type") == "ready" and self.ready_at is None:
                    self.ready_at = time.perf_counter()
                self.events.append(event)
                self._lock.notify_all()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line.rstrip())

    def wait_for(self, predicate: Any, timeout: float) -> bool:
        deadline = time.perf_counter() + timeout
        with self._lock:
            while not predicate():
                left = deadline - time.perf_counter()
                if left <= 0 or self.proc.poll() is not None:
                    return predicate()
                self._lock.wait(min(left, 0.1))
            return True

    def count(self) -> int:
        with self._lock:
            return len(self.events)

    def since(self, index: int) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.events[index:])

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self) -> float | None:
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None

    def stop(self) -> None:
        stop_process(self.proc, timeout=10)  # SIGTERM: `lantern run` exits cleanly on it

    def stderr_tail(self) -> str:
        return " | ".join(self._stderr[-5:])


def room_config(config: Config, engine: str, directory: Path) -> Path:
    """The user's config with the recogniser chosen and both devices on PulseAudio."""
    data = yaml.safe_load(config.path.read_text(encoding="utf-8")) or {}
    data.setdefault("stt", {})["engine"] = engine
    data.setdefault("audio", {}).update(input_device="pulse", output_device="pulse")
    data["dialogs_dir"] = str(config.dialogs_path())
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def run_room_check(config: Config, engine: str, utterances: list[tuple[str, np.ndarray]],
                   idle_seconds: float, log: Any = print) -> dict[str, Any]:
    """Play each (name, clip) into the room while `lantern run` listens; gaps measured on the recording."""
    room = Room(client_name="lantern-bench", start_hint="start PulseAudio as DESIGN.md shows, or use --no-room")
    try:
        room.ensure()
        import sounddevice as sd

        names = [d["name"] for d in sd.query_devices()]
        if "pulse" not in names:
            raise RoomUnavailable("sounddevice sees no 'pulse' device (Debian packages libasound2-plugins, libportaudio2)")
        with tempfile.TemporaryDirectory(prefix="lantern-bench-room-") as tmp:
            return _check(room, room_config(config, engine, Path(tmp)), engine, utterances, idle_seconds, log)
    except RoomUnavailable as exc:
        return {"skipped": str(exc)}
    finally:
        room.close()


def _check(room: Room, config_path: Path, engine: str, utterances: list[tuple[str, np.ndarray]],
           idle_seconds: float, log: Any) -> dict[str, Any]:
    recorder = RoomRecorder(room).start()
    # Lantern's microphone and speaker (sounddevice's "pulse" device) are the room.
    lantern = LanternProcess(config_path, {**room.env(), "PULSE_SINK": ROOM_SINK, "PULSE_SOURCE": ROOM_SOURCE})
    played: list[Played] = []
    result: dict[str, Any] = {"engine": engine}
    try:
        if not lantern.wait_for(lambda: lantern.ready_at is not None, 60):
            raise RoomUnavailable(f"`lantern run` never became ready: {lantern.stderr_tail() or 'no message'}")
        assert lantern.ready_at is not None
        result["ready_seconds"] = round(lantern.ready_at - lantern.started, 3)
        result["engine_heard"] = next((e.get("engine") for e in lantern.events if e.get("type") == "ready"), None)
        time.sleep(1.0)  # let the streams settle before timing idle CPU
        cpu, wall = lantern.cpu_seconds(), time.perf_counter()
        time.sleep(idle_seconds)
        cpu, wall = lantern.cpu_seconds() - cpu, time.perf_counter() - wall
        result["idle_cpu_percent"] = round(100 * cpu / wall, 2)
        result["idle_seconds"] = round(wall, 1)
        for i, (name, clip) in enumerate(utterances):
            first = lantern.count()
            at = recorder.seconds
            room.play(clip)
            lantern.wait_for(lambda first=first: any(e["type"] == "speak" for e in lantern.since(first)),
                             REPLY_TIMEOUT_SECONDS)
            speaks = [e for e in lantern.since(first) if e["type"] == "speak"]
            # Let the reply play out, and the echo guard pass, before the next utterance.
            time.sleep(sum(e.get("duration_seconds", 0.0) for e in speaks) + 0.8)
            played.append(Played(name, clip, at, lantern.since(first)))
            if (i + 1) % 5 == 0:
                log(f"room: {i + 1}/{len(utterances)} utterances")
        result["peak_rss_mb"] = lantern.peak_rss_mb()
    finally:
        lantern.stop()
        recording = recorder.stop()
    result["utterances"] = measure_gaps(recording, played)
    return result
