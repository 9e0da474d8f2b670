"""Shared test fixtures. Fakes live here, never in product code."""

from __future__ import annotations

import random
import shutil
import socket
from datetime import datetime
from pathlib import Path

import pytest

from voice.app import Brainworks, build_brain
from voice.config import Config, load_config

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
