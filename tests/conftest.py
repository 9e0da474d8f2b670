"""Shared test fixtures. Fakes live here, never in product code."""

from __future__ import annotations

import random
import shutil
import socket
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from audio.sinks import NullSink
from audio.sources import ArraySource
from voice.app import Brainworks, build_brain
from voice.config import Config, load_config
from voice.events import Event
from voice.pipeline import Pipeline
from voice.stt import Transcript

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def config() -> Config:
    return load_config(ROOT / "config.yaml")


@pytest.fixture
def works(config: Config) -> Brainworks:
    return build_brain(config, rng=random.Random(7), clock=lambda: datetime(2026, 11, 28, 15, 0))


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """config.yaml and dialogs/ copied, to break on purpose."""
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    shutil.copytree(ROOT / "dialogs", tmp_path / "dialogs")
    return tmp_path


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Any attempt to open an internet socket fails the test (local unix sockets, e.g. PulseAudio, are fine)."""
    attempts: list[tuple] = []
    real_socket = socket.socket

    class GuardedSocket(real_socket):  # type: ignore[misc, valid-type]
        def connect(self, address):  # noqa: ANN001
            if self.family in (socket.AF_INET, socket.AF_INET6):
                attempts.append(address)
                raise AssertionError(f"network connection attempted: {address}")
            return super().connect(address)

    monkeypatch.setattr(socket, "socket", GuardedSocket)
    monkeypatch.setattr(socket, "create_connection", lambda address, *a, **k: (_ for _ in ()).throw(
        AssertionError(f"network connection attempted: {address}")))
    return attempts


@dataclass
class ScriptedRecognizer:
    """Hears what it is told: a streaming transcript, a final one, and a second hearing if asked."""

    first: str
    second: Transcript | None = None
    streaming: str | None = None
    """The streaming transcript; by default the final one (a real decoder's usually shows the same)."""
    crisis: Transcript | None = None
    """What hearing it against the crisis phrases alone finds."""
    name: str = "scripted"
    asked: list[tuple[int, bool]] = field(default_factory=list)
    """(after_words, crisis_only) of each second hearing asked for."""
    finished: int = 0
    attended: int = 0
    """How many times the pipeline said an utterance is for Lantern."""
    in_utterance: bool = False

    def start(self) -> None:
        self.in_utterance = True

    def attend(self) -> None:
        assert self.in_utterance, "attend() outside an utterance"
        self.attended += 1

    def feed(self, pcm: bytes) -> None:
        assert self.in_utterance, "feed() outside an utterance"

    def partial(self) -> str:
        return self.first if self.streaming is None else self.streaming

    def finish(self) -> Transcript:
        self.in_utterance = False
        self.finished += 1
        return Transcript(self.first, 0.5)

    def second_opinion(self, after_words: int = 0, crisis_only: bool = False) -> Transcript | None:
        self.asked.append((after_words, crisis_only))
        return self.crisis if crisis_only else self.second


class SilentTTS:
    def synthesize(self, text: str) -> np.ndarray:
        return np.zeros(160, dtype=np.int16)


def run_scripted(config: Config, recognizer: ScriptedRecognizer) -> list[Event]:
    """One burst of voiced sound (so the endpointer opens an utterance) through the real pipeline."""
    events: list[Event] = []
    pipeline = Pipeline(config, build_brain(config).conversation, recognizer, SilentTTS(), NullSink(),
                        events.append, live=False)
    burst = (np.sin(np.arange(16000) * 2 * np.pi * 300 / 16000) * 8000).astype(np.int16)
    pipeline.run(ArraySource(np.concatenate([np.zeros(8000, np.int16), burst])).frames())
    return events
