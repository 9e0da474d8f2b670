"""The "room": a virtual sound card for tests, made of a PulseAudio null sink.

Whatever is played into the sink ``room`` can be recorded back from its monitor ``room.monitor``, the
way a kitchen speaker is heard by the kitchen microphone (Lantern included, hearing itself).
``./script/test`` starts it; see "A real sound card in CI" in DESIGN.md. Import it as ``tests.room``.

All audio here is 16 kHz mono int16, the pipeline's format. Playing and recording go through
PulseAudio's own ``pacat``/``parec``, so the tests do not depend on the audio code under test.

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
import shutil
import subprocess
import tempfile
import threading
import time
from types import TracebackType
from typing import Final

import numpy as np
import numpy.typing as npt

RATE: Final = 16000
ROOM_SINK: Final = "room"
ROOM_SOURCE: Final = "room.monitor"
CLOCK_SINK: Final = "room_clock"

# An idle null sink renders in 2-second blocks; a 20 ms loopback into a second silent sink keeps the
# room ticking every 20 ms, so playback starts at once and recorded timings are right.
_ROOM_MODULES: Final[tuple[tuple[str, ...], ...]] = (
    ("module-null-sink", "sink_name=room", "sink_properties=device.description=Lantern-room"),
)
_CLOCK_MODULES: Final[tuple[tuple[str, ...], ...]] = (
    ("module-null-sink", "sink_name=room_clock", "sink_properties=device.description=Lantern-room-clock"),
    (
        "module-loopback",
        "source=room.monitor",
        "sink=room_clock",
        "latency_msec=20",
        "source_dont_move=true",
        "sink_dont_move=true",
    ),
)
_START_HINT: Final = (
    "run the tests with ./script/test, which starts it, or start it by hand: "
    'pulseaudio -D --exit-idle-time=-1 --disallow-exit -n --load="module-null-sink sink_name=room" '
    '--load="module-native-protocol-unix"'
)

Int16Audio = npt.NDArray[np.int16]


class RoomUnavailable(RuntimeError):
    """The PulseAudio room is not there (no server, no ``room`` sink, or its tools are missing)."""


_client_conf: str | None = None


def _pulse_env() -> dict[str, str]:
    """Environment for PulseAudio clients: never autospawn a default daemon, target the room."""
    global _client_conf
    if _client_conf is None:
        fd, path = tempfile.mkstemp(prefix="lantern-pulse-client-", suffix=".conf")
        with os.fdopen(fd, "w") as f:
            f.write("autospawn = no\n")
        _client_conf = path
    env = dict(os.environ)
    env["PULSE_CLIENTCONFIG"] = _client_conf
    return env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RoomUnavailable(f"{name} not found (Debian package pulseaudio-utils); {_START_HINT}")
    return path


def _pactl(*args: str, timeout: float = 10.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_tool("pactl"), *args],
        env=_pulse_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _sinks() -> set[str] | None:
    """Names of the server's sinks, or None when no server answers."""
    try:
        proc = _pactl("list", "short", "sinks")
    except (RoomUnavailable, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    return {line.split("\t")[1] for line in proc.stdout.splitlines() if "\t" in line}


def room_available() -> bool:
    """True when a PulseAudio server answers and has the ``room`` sink. Never starts anything."""
    sinks = _sinks()
    return sinks is not None and ROOM_SINK in sinks


def ensure_room() -> None:
    """Make sure the room is usable, or raise RoomUnavailable saying why.

    If a server is running but lacks the room (a desktop session, or a socket-activated server that
    restarted), the room is added to it. PulseAudio clients started by this process afterwards
    (including sounddevice's ``pulse`` device) are pointed at the room through PULSE_SINK and
    PULSE_SOURCE, unless those are already set.
    """
    for tool in ("pactl", "pacat", "parec"):
        _tool(tool)
    sinks = _sinks()
    if sinks is None:
        raise RoomUnavailable(f"no PulseAudio server answers; {_START_HINT}")
    wanted: list[tuple[str, ...]] = [] if ROOM_SINK in sinks else list(_ROOM_MODULES)
    if CLOCK_SINK not in sinks:
        wanted += _CLOCK_MODULES
    for module in wanted:
        proc = _pactl("load-module", *module)
        if proc.returncode != 0:
            raise RoomUnavailable(f"could not load {' '.join(module)}: {proc.stderr.strip()}")
    if ROOM_SINK not in (_sinks() or set()):
        raise RoomUnavailable(f"PulseAudio has no sink called {ROOM_SINK!r}; {_START_HINT}")
    os.environ.setdefault("PULSE_SINK", ROOM_SINK)
    os.environ.setdefault("PULSE_SOURCE", ROOM_SOURCE)


def _check_clip(audio: npt.NDArray[np.generic]) -> Int16Audio:
    if audio.dtype != np.int16:
        raise TypeError(f"room audio must be int16, got {audio.dtype}")
    if audio.ndim == 2 and audio.shape[1] == 1:
        audio = audio[:, 0]
    if audio.ndim != 1:
        raise ValueError(f"room audio must be mono (1-D), got shape {audio.shape}")
    return np.ascontiguousarray(audio, dtype="<i2").astype(np.int16, copy=False)


def _pcm_args(device: str, rate: int) -> list[str]:
    return [
        "--raw",
        "--format=s16le",
        f"--rate={rate}",
        "--channels=1",
        f"--device={device}",
        "--latency-msec=20",
        "--client-name=lantern-tests",
    ]


def play_into_room(audio_int16_16k: Int16Audio, *, rate: int = RATE) -> None:
    """Play a mono int16 clip into the room; return when it has been played out."""
    clip = _check_clip(audio_int16_16k)
    seconds = len(clip) / rate
    try:
        proc = subprocess.run(
            [_tool("pacat"), "--playback", *_pcm_args(ROOM_SINK, rate)],
            input=clip.astype("<i2").tobytes(),
            env=_pulse_env(),
            capture_output=True,
            timeout=seconds + 15.0,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        raise RoomUnavailable(f"playing {seconds:.1f} s into the room did not finish in time") from e
    if proc.returncode != 0:
        msg = proc.stderr.decode(errors="replace").strip()
        raise RoomUnavailable(f"pacat failed ({proc.returncode}): {msg}; {_START_HINT}")


class RoomRecorder:
    """Record the room in the background, from start() (or ``with``) until stop().

    ``start()`` returns once sound is flowing, so everything played after it is in the recording.
    ``seconds`` is how much has been recorded so far: note it before playing something to know where
    that something starts in the recording. The last ~20 ms before stop() may be missing.
    """

    def __init__(self, *, rate: int = RATE, start_timeout: float = 5.0) -> None:
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
            [_tool("parec"), "--record", *_pcm_args(ROOM_SOURCE, self.rate)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_pulse_env(),
        )
        self._thread = threading.Thread(target=self._read, name="room-recorder", daemon=True)
        self._thread.start()
        if not self._flowing.wait(self.start_timeout):
            self._terminate()
            err = self._proc.stderr.read().decode(errors="replace").strip() if self._proc.stderr else ""
            raise RoomUnavailable(
                f"recording {ROOM_SOURCE} gave no sound within {self.start_timeout} s "
                f"(parec: {err or 'no message'}); {_START_HINT}"
            )
        return self

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while True:
            data = os.read(fd, 65536)
            if not data:
                break
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
        if self._proc.poll() is None:
            self._proc.terminate()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
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


def sound_onset(
    audio: npt.NDArray[np.generic],
    *,
    after: float = 0.0,
    threshold_dbfs: float = -45.0,
    window: float = 0.02,
    rate: int = RATE,
) -> float | None:
    """Seconds into ``audio`` where sound first rises above ``threshold_dbfs``, looking from ``after``.

    None if it never does. Measured in ``window``-long steps.
    """
    step = max(1, int(window * rate))
    for start in range(int(after * rate), len(audio) - step + 1, step):
        if rms_dbfs(audio[start : start + step]) > threshold_dbfs:
            return start / rate
    return None


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
