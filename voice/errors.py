"""One error root for Lantern. Every message says what is wrong and what to do about it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class LanternError(Exception):
    """Something the user can fix. The CLI prints the message (no traceback) and exits non-zero."""


@dataclass
class Where:
    """A place in a file, for messages about config.yaml and dialogs/."""

    path: Path | str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line is not None else str(self.path)


class ConfigError(LanternError):
    """config.yaml or a dialog file is broken; the message names file and line."""

    def __init__(self, where: Where, message: str):
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message

    def __reduce__(self) -> tuple[type[ConfigError], tuple[Where, str]]:
        # Rebuilt from both arguments: the benchmark's worker processes send errors back pickled, and
        # an error that cannot be unpickled there hangs the worker pool instead of being reported.
        return type(self), (self.where, self.message)


class ModelMissingError(LanternError):
    """A speech model is not where the config says it is."""


class AudioDeviceError(LanternError):
    """No microphone or speaker, or the one named in config.yaml is not there."""


class AudioFileError(LanternError):
    """A WAV file could not be read."""
