"""What each pipeline stage reports. Events are past tense; `lantern listen --json` prints them.

Every event carries `t`: seconds into the audio stream (stream time, not wall time), so a recording
replayed faster than real time reports the same times as it would live.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class Event:
    type: ClassVar[str] = "event"
    t: float
    """Seconds into the audio stream."""

    def to_dict(self) -> dict[str, Any]:
        data = {"type": self.type, **asdict(self)}
        data["t"] = round(self.t, 3)
        return data


@dataclass(frozen=True)
class Ready(Event):
    type: ClassVar[str] = "ready"
    engine: str = ""
    """Which speech recogniser is listening."""


@dataclass(frozen=True)
class SpeechStarted(Event):
    type: ClassVar[str] = "speech_start"


@dataclass(frozen=True)
class SpeechEnded(Event):
    type: ClassVar[str] = "speech_end"


@dataclass(frozen=True)
class WakeDetected(Event):
    type: ClassVar[str] = "wake"


@dataclass(frozen=True)
class Transcribed(Event):
    type: ClassVar[str] = "transcript"
    text: str = ""
    confidence: float | None = 0.0
    """0..1, the recogniser's own belief in this transcript; None when the streaming transcript was
    taken at an early endpoint (the final pass, which scores it, runs after the reply has started)."""
    decode_ms: float = 0.0
    """Wall time spent finishing the transcript after the end of speech."""
    first_hearing: str | None = None
    """What was heard first, when a second hearing against the whole phrases corrected it."""


@dataclass(frozen=True)
class IntentRecognized(Event):
    type: ClassVar[str] = "intent"
    name: str = ""
    slots: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NotUnderstood(Event):
    type: ClassVar[str] = "nomatch"
    text: str = ""


@dataclass(frozen=True)
class SafetyTriggered(Event):
    type: ClassVar[str] = "safety"
    certain: bool = True
    """False when Lantern asks "did you say you need help?" instead of acting at once."""
    text: str = ""


@dataclass(frozen=True)
class Spoke(Event):
    type: ClassVar[str] = "speak"
    text: str = ""
    latency_ms: float | None = None
    """End of the user's speech (stream time) to the first reply sample ready; None for unprompted speech."""
    duration_seconds: float = 0.0


@dataclass(frozen=True)
class TimerFinished(Event):
    type: ClassVar[str] = "timer"
    name: str = ""
