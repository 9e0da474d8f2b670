"""The command line: contracts and bad input. Every failure is a clear message, a non-zero exit and
no traceback."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from audio.wav import read_wav, write_wav
from voice.bench.speech import default_cache_dir, utterance

ROOT = Path(__file__).resolve().parent.parent


def lantern(*args: str, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voice", *args], input=stdin, capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, **(env or {})}, timeout=300)


def _edited_config(tmp_path: Path, old: str, new: str) -> Path:
    text = (ROOT / "config.yaml").read_text()
    assert old in text
    path = tmp_path / "config.yaml"
    path.write_text(text.replace(old, new).replace("dialogs_dir: dialogs/en", f"dialogs_dir: {ROOT / 'dialogs/en'}"))
    return path


def test_chat_piped() -> None:
    result = lantern("chat", stdin="hey lantern start a hug\nhey lantern what can you do\n")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("lantern: ") and "hug" in lines[0].lower()
    assert "what you'd like" in lines[1]  # the help answer comes at once...
    assert lines[2] == "lantern: Five."  # ...and the hug's count plays out when input ends
    assert "ten" in lines[3].lower()


def test_listen_json_contract(tmp_path: Path, no_network) -> None:
    wav = tmp_path / "hug.wav"
    write_wav(wav, utterance("start a hug", "hibari", default_cache_dir()))
    from voice.cli import main

    out_dir = tmp_path / "said"
    import io
    from contextlib import redirect_stdout

    buffer = io.StringIO()
    with redirect_stdout(buffer):
        assert main(["listen", str(wav), "--json", "--out", str(out_dir)]) == 0
    events = [json.loads(line) for line in buffer.getvalue().splitlines()]
    types = [e["type"] for e in events]
    for wanted in ("wake", "transcript", "intent", "speak"):
        assert wanted in types
    assert all(e["file"] == str(wav) and isinstance(e["t"], float | int) for e in events)
    intent = next(e for e in events if e["type"] == "intent")
    assert intent["name"] == "hug" and intent["slots"] == {}
    speak = next(e for e in events if e["type"] == "speak")
    assert speak["latency_ms"] > 0
    replies = sorted(out_dir.glob("*.wav"))
    assert replies and len(read_wav(replies[0])) > 16000 * 0.5
    assert no_network == []


def test_corrupt_wav(tmp_path: Path) -> None:
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunk")
    result = lantern("listen", str(bad))
    assert result.returncode == 1
    assert "broken.wav: not a readable WAV file" in result.stderr and "Traceback" not in result.stderr


def test_wav_any_rate_and_channels(tmp_path: Path) -> None:
    import wave

    stereo = tmp_path / "stereo.wav"
    tone = (np.sin(np.arange(44100) * 2 * np.pi * 440 / 44100) * 10000).astype("<i2")
    with wave.open(str(stereo), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes(np.repeat(tone, 2).tobytes())
    audio = read_wav(stereo)
    assert audio.dtype == np.int16 and abs(len(audio) - 16000) <= 2


def test_bad_config_names_line(tmp_path: Path) -> None:
    path = _edited_config(tmp_path, "  volume: 0.8", "  volume: [loud]")
    result = lantern("check", "--config", str(path))
    assert result.returncode == 1
    assert f"{path}:" in result.stderr and "tts.volume" in result.stderr and "Traceback" not in result.stderr


def test_missing_vosk_model(tmp_path: Path) -> None:
    path = _edited_config(tmp_path, "  engine: auto", "  engine: vosk").replace if False else None
    path = _edited_config(tmp_path, "  vosk_model: null", f"  vosk_model: {tmp_path / 'nowhere'}")
    text = path.read_text().replace("  engine: auto", "  engine: vosk")
    path.write_text(text)
    result = lantern("check", "--config", str(path))
    assert result.returncode == 1
    assert "no vosk model at" in result.stderr and "lantern models download en-us" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_such_microphone(tmp_path: Path) -> None:
    path = _edited_config(tmp_path, "  input_device: null", "  input_device: Blue Yeti Nano")
    result = lantern("run", "--config", str(path))
    assert result.returncode == 1
    assert "microphone" in result.stderr and "lantern devices" in result.stderr and "Traceback" not in result.stderr


def test_model_download_fails_clearly_offline(tmp_path: Path) -> None:
    # This machine has no internet: the download must fail with advice, not a traceback.
    result = lantern("models", "download", "en-us", env={"XDG_DATA_HOME": str(tmp_path)})
    if result.returncode == 0:
        pytest.skip("this machine reached the internet")
    assert "could not download" in result.stderr and "lantern models install" in result.stderr
    assert "Traceback" not in result.stderr


def test_say_writes_wav(tmp_path: Path) -> None:
    out = tmp_path / "hello.wav"
    result = lantern("say", "Hello there.", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert len(read_wav(out)) > 8000


def test_check_ok() -> None:
    result = lantern("check")
    assert result.returncode == 0, result.stderr
    assert "speech recogniser:" in result.stdout


def test_cache_is_private() -> None:
    from voice.stt import cache_dir

    assert stat.S_IMODE(cache_dir().stat().st_mode) & 0o077 == 0
