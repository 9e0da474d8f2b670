"""The "room": a virtual sound card made of a PulseAudio null sink, for the tests and `lantern bench`.

Whatever is played into the sink ``room`` can be recorded back from its monitor ``room.monitor``, the
way a kitchen speaker is heard by the kitchen microphone (Lantern included, hearing itself).
See "A real sound card in CI" in DESIGN.md; ``./script/test`` starts it.

All audio here is 16 kHz mono int16, the pipeline's format. Playing and recording go through
PulseAudio's own ``pacat``/``parec``, not sounddevice, so they do not depend on Lantern's audio code.

Typical use::

    room = Room(client_name="lantern-tests", start_hint="start it with ./script/test")
    room.ensure()
    with RoomRecorder(room) as rec:
        t_said = rec.seconds            # position in the recording when the user spoke
        room.play(utterance)
        time.sleep(3)                   # Lantern answers into the same room
    answer_at = onset(rec.audio, after=t_said + len(utterance) / RATE)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import Final

import numpy as np
import numpy.typing as npt

from audio import RATE_HZ

RATE: Final = RATE_HZ
ROOM_SINK: Final = "room"
ROOM_SOURCE: Final = "room.monitor"
CLOCK_SINK: Final = "room_clock"
ONSET_DBFS: Final = -45.0
"""A 20 ms window louder than this is sound (the room itself is digital silence)."""
WINDOW_SECONDS: Final = 0.02

# An idle null sink renders in 2-second blocks; a 20 ms loopback into a second silent sink keeps the
# room ticking every 20 ms, so playback starts at once and recorded timings are right.
_ROOM_MODULES: Final[tuple[tuple[str, ...], ...]] = (
    ("module-null-sink", f"sink_name={ROOM_SINK}", "sink_properties=device.description=Lantern-room"),
)
_CLOCK_MODULES: Final[tuple[tuple[str, ...], ...]] = (
    ("module-null-sink", f"sink_name={CLOCK_SINK}", "sink_properties=device.description=Lantern-room-clock"),
    (
        "module-loopback",
        f"source={ROOM_SOURCE}",
        f"sink={CLOCK_SINK}",
        "latency_msec=20",
        "source_dont_move=true",
        "sink_dont_move=true",
    ),
)

Int16Audio = npt.NDArray[np.int16]


def stop_process(proc: subprocess.Popen[bytes] | subprocess.Popen[str], timeout: float) -> None:
    """Ask a child process to end (SIGTERM); kill it if it has not within `timeout` seconds."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class RoomUnavailable(RuntimeError):
    """The PulseAudio room is not there (no server, no ``room`` sink, or its tools are missing)."""


class Room:
    """The room on the running PulseAudio server, reached with pactl/pacat/parec.

    ``client_name`` names this program's streams in PulseAudio; ``start_hint`` ends the messages of
    RoomUnavailable, telling the reader how to get a room (tests and `lantern bench` differ).
    Creating a Room runs nothing.
    """

    def __init__(self, *, client_name: str, start_hint: str) -> None:
        self.client_name = client_name
        self.start_hint = start_hint
        self._client_conf: str | None = None
        self._loaded: list[str] = []

    def env(self) -> dict[str, str]:
        """Environment for PulseAudio clients: never autospawn a default daemon (it would exit when idle)."""
        if self._client_conf is None:
            fd, path = tempfile.mkstemp(prefix="lantern-pulse-client-", suffix=".conf")
            with os.fdopen(fd, "w") as f:
                f.write("autospawn = no\n")
            self._client_conf = path
        return {**os.environ, "PULSE_CLIENTCONFIG": self._client_conf}

    def tool(self, name: str) -> str:
        """Path of a PulseAudio client program, or RoomUnavailable."""
        path = shutil.which(name)
        if path is None:
            raise RoomUnavailable(f"{name} not found (Debian package pulseaudio-utils); {self.start_hint}")
        return path

    def pactl(self, *args: str, timeout: float = 10.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.tool("pactl"), *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def sinks(self) -> set[str] | None:
        """Names of the server's sinks, or None when no server answers."""
        try:
            proc = self.pactl("list", "short", "sinks")
        except (RoomUnavailable, subprocess.TimeoutExpired):
            return None
        if proc.returncode != 0:
            return None
        return {line.split("\t")[1] for line in proc.stdout.splitlines() if "\t" in line}

    def available(self) -> bool:
        """True when a PulseAudio server answers and has the ``room`` sink. Never starts anything."""
        sinks = self.sinks()
        return sinks is not None and ROOM_SINK in sinks

    def ensure(self) -> None:
        """Make sure the room is usable, or raise RoomUnavailable saying why.

        If a server is running but lacks the room (a desktop session, or a socket-activated server that
        restarted), the room is added to it; close() removes what was added.
        """
        for tool in ("pactl", "pacat", "parec"):
            self.tool(tool)
        sinks = self.sinks()
        if sinks is None:
            raise RoomUnavailable(f"no PulseAudio server answers; {self.start_hint}")
        wanted: list[tuple[str, ...]] = [] if ROOM_SINK in sinks else list(_ROOM_MODULES)
        if CLOCK_SINK not in sinks:
            wanted += _CLOCK_MODULES
        for module in wanted:
            proc = self.pactl("load-module", *module)
            if proc.returncode != 0:
                raise RoomUnavailable(f"could not load {' '.join(module)}: {proc.stderr.strip()}")
            self._loaded.append(proc.stdout.strip())
        if ROOM_SINK not in (self.sinks() or set()):
            raise RoomUnavailable(f"PulseAudio has no sink called {ROOM_SINK!r}; {self.start_hint}")

    def close(self) -> None:
        """Unload the modules ensure() loaded and remove the client config."""
        for index in reversed(self._loaded):
            self.pactl("unload-module", index)
        self._loaded.clear()
        if self._client_conf is not None:
            Path(self._client_conf).unlink(missing_ok=True)
            self._client_conf = None

    def pcm_args(self, device: str, rate: int) -> list[str]:
        """pacat/parec arguments for raw 16-bit mono on ``device``, with 20 ms of buffering."""
        return [
            "--raw",
            "--format=s16le",
            f"--rate={rate}",
            "--channels=1",
            f"--device={device}",
            "--latency-msec=20",
            f"--client-name={self.client_name}",
        ]

    def play(self, audio_int16_16k: Int16Audio, *, rate: int = RATE) -> None:
        """Play a mono int16 clip into the room; return when it has been played out."""
        clip = _check_clip(audio_int16_16k)
        seconds = len(clip) / rate
        try:
            proc = subprocess.run(
                [self.tool("pacat"), "--playback", *self.pcm_args(ROOM_SINK, rate)],
                input=clip.astype("<i2").tobytes(),
                env=self.env(),
                capture_output=True,
                timeout=seconds + 15.0,
                check=False,
            )
        except subprocess.TimeoutExpired as e:
            raise RoomUnavailable(f"playing {seconds:.1f} s into the room did not finish in time") from e
        if proc.returncode != 0:
            msg = proc.stderr.decode(errors="replace").strip()
            raise RoomUnavailable(f"pacat failed ({proc.returncode}): {msg}; {self.start_hint}")


def _check_clip(audio: npt.NDArray[np.generic]) -> Int16Audio:
    if audio.dtype != np.int16:
        raise TypeError(f"room audio must be int16, got {audio.dtype}")
    if audio.ndim == 2 and audio.shape[1] == 1:
        audio = audio[:, 0]
    if audio.ndim != 1:
        raise ValueError(f"room audio must be mono (1-D), got shape {audio.shape}")
    return np.ascontiguousarray(audio, dtype="<i2").astype(np.int16, copy=False)


class RoomRecorder:
    """Record the room in the background, from start() (or ``with``) until stop().

    ``start()`` returns once sound is flowing, so everything played after it is in the recording.
    ``seconds`` is how much has been recorded so far: note it before playing something to know where
    that something starts in the recording. The last ~20 ms before stop() may be missing.
    """

    def __init__(self, room: Room, *, rate: int = RATE, start_timeout: float = 5.0) -> None:
        self.room = room
        self.rate = rate
        self.start_timeout = start_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._chunks: list[bytes] = []
        self._nbytes = 0
        self._lock = threading.Lock()
        self._flowing = threading.Event()
        self._audio: Int16Audio | None = None

    def start(self) -> RoomRecorder:
        if self._proc is not None:
            raise RuntimeError("RoomRecorder already started")
        self._proc = subprocess.Popen(
            [self.room.tool("parec"), "--record", *self.room.pcm_args(ROOM_SOURCE, self.rate)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.room.env(),
        )
        self._thread = threading.Thread(target=self._read, name="room-recorder", daemon=True)
        self._thread.start()
        if not self._flowing.wait(self.start_timeout):
            self._terminate()
            err = self._proc.stderr.read().decode(errors="replace").strip() if self._proc.stderr else ""
            raise RoomUnavailable(
                f"recording {ROOM_SOURCE} gave no sound within {self.start_timeout} s "
                f"(parec: {err or 'no message'}); {self.room.start_hint}"
            )
        return self

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while data := os.read(fd, 65536):
            with self._lock:
                self._chunks.append(data)
                self._nbytes += len(data)
            self._flowing.set()

    @property
    def seconds(self) -> float:
        """Seconds of audio recorded so far."""
        with self._lock:
            return self._nbytes // 2 / self.rate

    def _terminate(self) -> None:
        assert self._proc is not None
        stop_process(self._proc, timeout=5)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def stop(self) -> Int16Audio:
        """Stop recording and return everything recorded (16 kHz mono int16)."""
        if self._audio is not None:
            return self._audio
        if self._proc is None:
            raise RuntimeError("RoomRecorder was never started")
        self._terminate()
        with self._lock:
            raw = b"".join(self._chunks)
        raw = raw[: len(raw) - len(raw) % 2]
        self._audio = np.frombuffer(raw, dtype="<i2").astype(np.int16)
        return self._audio

    @property
    def audio(self) -> Int16Audio:
        """The recording; only after stop() (leaving the ``with`` block stops)."""
        if self._audio is None:
            raise RuntimeError("RoomRecorder is still recording: call stop() first")
        return self._audio

    def __enter__(self) -> RoomRecorder:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._proc is not None:
            self.stop()


# --- measuring on a recording (pure) -------------------------------------------------------------


def window_levels(audio: npt.NDArray[np.generic], window: float = WINDOW_SECONDS,
                  rate: int = RATE) -> npt.NDArray[np.float64]:
    """dBFS of each whole window."""
    step = max(1, int(window * rate))
    n = len(audio) // step
    if n == 0:
        return np.zeros(0)
    x = np.asarray(audio[: n * step], dtype=np.float64).reshape(n, step)
    rms = np.sqrt(np.mean(x * x, axis=1))
    with np.errstate(divide="ignore"):
        return 20 * np.log10(np.maximum(rms, 1e-9) / 32768.0)


def onset(audio: npt.NDArray[np.generic], after: float = 0.0, before: float | None = None,
          threshold_dbfs: float = ONSET_DBFS, window: float = WINDOW_SECONDS, rate: int = RATE) -> float | None:
    """Seconds into `audio` of the first window louder than the threshold in [after, before)."""
    start = int(round(after * rate))
    stop = len(audio) if before is None else min(len(audio), int(round(before * rate)))
    if stop <= start:
        return None
    loud = np.flatnonzero(window_levels(audio[start:stop], window, rate) > threshold_dbfs)
    return None if loud.size == 0 else float(start / rate + loud[0] * window)


def sound_extent(audio: npt.NDArray[np.generic], threshold_dbfs: float = ONSET_DBFS,
                 window: float = WINDOW_SECONDS, rate: int = RATE) -> tuple[float, float] | None:
    """(first, end of last) loud window, in seconds."""
    loud = np.flatnonzero(window_levels(audio, window, rate) > threshold_dbfs)
    if loud.size == 0:
        return None
    return float(loud[0] * window), float((loud[-1] + 1) * window)
