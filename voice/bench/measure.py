"""Running clips through the real pipeline, with a stopwatch around each stage.

The pipeline itself is untouched: the recogniser, the synthesiser, the conversation and the brain are
wrapped in thin timing proxies (time.perf_counter), and each reply's latency is split into
  endpoint   stream time from the end of speech to the endpoint decision (the VAD's silence wait,
             or the early endpoint when the partial transcript is already a whole command)
  stt        the recogniser's final decode after the endpoint
  intent     wake phrase, crisis spotter and template matching (Conversation.hear minus the brain)
  dialog     the brain choosing what to do
  synthesis  text to speech, to the first reply sample (replies are rendered whole)
  other      the rest (event plumbing)
Device buffering is not in here (the sink is a NullSink): the room check measures it.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from audio.sinks import NullSink
from audio.sources import ArraySource
from voice.app import build_brain
from voice.bench.clips import CHATTER, COMMAND, CRISIS, OUT_OF_DOMAIN, ClipSpec
from voice.config import Config
from voice.conversation import Conversation
from voice.dialog import Brain
from voice.dialogs import Dialogs
from voice.events import Event
from voice.pipeline import Pipeline
from voice.stt import Recognizer, Transcript, create_recognizer
from voice.tts import Synthesizer
from voice.vad import FRAME_SECONDS

_LOGGER = logging.getLogger(__name__)

LANTERN, BASELINE = "lantern", "baseline"
MODES = (LANTERN, BASELINE)
BENCH_CLOCK = datetime(2026, 11, 28, 19, 0)
"""Evening: replies do not depend on the hour the benchmark happens to run."""
STAGES = ("endpoint", "backlog", "stt", "intent", "dialog", "synthesis", "other")


def with_engine(config: Config, engine: str) -> Config:
    return dataclasses.replace(config, stt=dataclasses.replace(config.stt, engine=engine))


# --- timing proxies ------------------------------------------------------------------------------


@dataclass
class Turn:
    """One utterance: from the recogniser's start() to the reply."""

    fed_seconds: float = 0.0
    feed_ms: float = 0.0
    partial_ms: float = 0.0
    finish_ms: float | None = None
    late_finish_ms: float = 0.0
    """The final pass run after the reply started (early endpoint): not part of the reply's wait."""
    hear_ms: float = 0.0
    brain_ms: float = 0.0
    early_checks_ms: float = 0.0
    synth_ms: float | None = None


@dataclass
class Profile:
    turn: Turn = field(default_factory=Turn)
    turns: list[Turn] = field(default_factory=list)

    def new_turn(self) -> None:
        self.turn = Turn()
        self.turns.append(self.turn)

    def stt_totals(self) -> dict[str, float]:
        return {
            "fed_seconds": sum(t.fed_seconds for t in self.turns),
            "decode_ms": sum(t.feed_ms + t.partial_ms + (t.finish_ms or 0.0) + t.late_finish_ms for t in self.turns),
        }


class TimedRecognizer:
    def __init__(self, inner: Recognizer, profile: Profile):
        self.inner, self.profile, self.name = inner, profile, inner.name

    def start(self) -> None:
        self.profile.new_turn()
        t = time.perf_counter()
        self.inner.start()
        self.profile.turn.feed_ms += (time.perf_counter() - t) * 1000

    def feed(self, pcm: bytes) -> None:
        t = time.perf_counter()
        self.inner.feed(pcm)
        self.profile.turn.feed_ms += (time.perf_counter() - t) * 1000
        self.profile.turn.fed_seconds += len(pcm) / 32000

    def partial(self) -> str:
        t = time.perf_counter()
        text = self.inner.partial()
        self.profile.turn.partial_ms += (time.perf_counter() - t) * 1000
        return text

    def attend(self) -> None:
        t = time.perf_counter()
        self.inner.attend()
        self.profile.turn.feed_ms += (time.perf_counter() - t) * 1000

    def finish(self) -> Transcript:
        t = time.perf_counter()
        transcript = self.inner.finish()
        if self.profile.turn.synth_ms is not None:
            self.profile.turn.late_finish_ms = (time.perf_counter() - t) * 1000
        else:
            self.profile.turn.finish_ms = (time.perf_counter() - t) * 1000
        return transcript

    def second_opinion(self, after_words: int = 0, crisis_only: bool = False) -> Transcript | None:
        t = time.perf_counter()
        transcript = self.inner.second_opinion(after_words, crisis_only)
        self.profile.turn.finish_ms = (self.profile.turn.finish_ms or 0.0) + (time.perf_counter() - t) * 1000
        return transcript


class TimedSynthesizer:
    def __init__(self, inner: Synthesizer, profile: Profile):
        self.inner, self.profile = inner, profile

    def synthesize(self, text: str) -> np.ndarray:
        t = time.perf_counter()
        audio = self.inner.synthesize(text)
        if self.profile.turn.synth_ms is None:
            self.profile.turn.synth_ms = (time.perf_counter() - t) * 1000
        return audio


class TimedBrain:
    """Passes everything through; times the event handlers (on_command, on_crisis, ...)."""

    def __init__(self, inner: Brain, profile: Profile):
        object.__setattr__(self, "_inner", inner)
        object.__setattr__(self, "_profile", profile)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if not (name.startswith("on_") and callable(value)):
            return value

        def timed(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return value(*args, **kwargs)
            finally:
                self._profile.turn.brain_ms += (time.perf_counter() - t) * 1000

        return timed

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._inner, name, value)


class _TimedMatcher:
    def __init__(self, inner: Any, profile: Profile):
        self.inner, self.profile = inner, profile

    def match(self, text: str, *args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return self.inner.match(text, *args, **kwargs)
        finally:
            self.profile.turn.early_checks_ms += (time.perf_counter() - t) * 1000


class TimedConversation:
    """What the pipeline needs of a Conversation (brain, commands, hear), timed."""

    def __init__(self, inner: Any, profile: Profile):
        inner.brain = TimedBrain(inner.brain, profile)  # hear() calls the brain through this
        self.inner, self.profile = inner, profile
        self.brain = inner.brain
        self.commands = _TimedMatcher(inner.commands, profile)

    def hear(self, text: str, in_window: bool, confidence: float = 1.0,
             sounds_like_crisis: Callable[[], bool] | None = None) -> Any:
        decoding = 0.0

        def timed_check() -> bool:  # a decode: STT's time (TimedRecognizer counts it), not the intent's
            nonlocal decoding
            t = time.perf_counter()
            try:
                return sounds_like_crisis()
            finally:
                decoding += (time.perf_counter() - t) * 1000

        heard = self._timed(self.inner.hear, text, in_window, confidence, timed_check if sounds_like_crisis else None)
        self.profile.turn.hear_ms -= decoding
        return heard

    def is_crisis(self, *args: Any) -> bool:
        return self._timed(self.inner.is_crisis, *args)

    def needs_second_hearing(self, *args: Any) -> bool:
        return self._timed(self.inner.needs_second_hearing, *args)

    def second_hearing(self, *args: Any) -> str | None:
        return self._timed(self.inner.second_hearing, *args)

    def _timed(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            self.profile.turn.hear_ms += (time.perf_counter() - t) * 1000


# --- the parts, built once per process -----------------------------------------------------------


@dataclass
class Parts:
    config: Config
    engine: str
    mode: str
    dialogs: Dialogs
    recognizer: Recognizer
    tts: Synthesizer
    commands: Any
    """The command Understander built once (its nearest-phrase table takes a moment), as build_brain does."""
    build_seconds: float

    def conversation(self, seed: int) -> Any:
        brain = Brain(self.dialogs, self.config, rng=random.Random(seed), clock=lambda: BENCH_CLOCK)
        if self.mode == BASELINE:
            from voice.bench.baseline import UsualConversation

            return UsualConversation(self.dialogs, brain, self.config.wake.phrase)
        return Conversation(self.dialogs, brain, self.config.wake.phrase, self.commands)

    def reset_adaptation(self) -> None:
        """Forget what the recogniser has adapted to (pocketsphinx's running cepstral mean), so a run of
        clips hears the same whichever worker and whatever clips came before. vosk keeps no such state."""
        reset = getattr(self.recognizer, "reset_adaptation", None)
        if reset is not None:
            reset()

    def close(self) -> None:
        self.tts.close()


def build_parts(config: Config, engine: str, mode: str) -> Parts:
    """Everything `lantern run` builds before it is ready (less the sound devices)."""
    started = time.perf_counter()
    config = with_engine(config, engine)
    works = build_brain(config)
    if mode == BASELINE:
        from voice.bench.baseline import open_recognizer

        recognizer = open_recognizer(config, engine)
    else:
        recognizer = create_recognizer(config, works.dialogs)
    tts = Synthesizer(config.tts.rate_wpm, config.tts.voice)
    tts.keep(works.conversation.brain.fixed_lines())
    return Parts(config, engine, mode, works.dialogs, recognizer, tts, works.conversation.commands,
                 time.perf_counter() - started)


def new_pipeline(parts: Parts, profile: Profile, emit: Callable[[Event], None], seed: int = 0,
                 live: bool = False) -> Pipeline:
    conversation = TimedConversation(parts.conversation(seed), profile)
    return Pipeline(parts.config, conversation, TimedRecognizer(parts.recognizer, profile),
                    TimedSynthesizer(parts.tts, profile), NullSink(), emit, live=live)


# --- one clip ------------------------------------------------------------------------------------


def score(kind: str, expected: str | None, events: Iterable[dict[str, Any]]) -> bool:
    """The benchmark's rules. A command is right when its first intent is the expected one; a crisis
    clip when the crisis path is taken; chatter when Lantern neither acts nor speaks; an out-of-domain
    request when no intent is recognised."""
    events = list(events)
    types = [e["type"] for e in events]
    if kind == COMMAND:
        intents = [e["name"] for e in events if e["type"] == "intent"]
        return bool(intents) and intents[0] == expected
    if kind == CRISIS:
        return "safety" in types
    if kind == CHATTER:
        return "intent" not in types and "speak" not in types
    if kind == OUT_OF_DOMAIN:
        return "intent" not in types
    raise ValueError(f"unknown clip kind {kind!r}")


def live_finish(processing: list[float], frame_seconds: float) -> float:
    """When the last frame's work would finish live, in stream seconds.

    Frame i arrives whole at (i + 1) * frame_seconds and takes processing[i] seconds; frames wait in a
    queue while an earlier one is still being worked on (as the microphone's queue does). A recogniser
    slower than real time builds a backlog here, which replaying a recording faster than real time hides.
    """
    done = 0.0
    for i, seconds in enumerate(processing):
        done = max((i + 1) * frame_seconds, done) + seconds
    return done


def run_clip(parts: Parts, spec: ClipSpec, audio: np.ndarray) -> dict[str, Any]:
    """One clip through a fresh conversation (as `lantern listen` does per file); the result, as JSON."""
    from voice.bench.clips import noise_seed

    profile = Profile()
    events: list[dict[str, Any]] = []
    budget: dict[str, float] | None = None
    speech_end_t: float | None = None
    frame_starts: list[float] = []
    reply: tuple[int, float, float, float] | None = None
    """(frame index, wall time, stream time, latency_ms) of the first timed reply."""

    def emit(event: Event) -> None:
        nonlocal budget, speech_end_t, reply
        data = event.to_dict()
        events.append(data)
        if data["type"] == "speech_end":
            speech_end_t = event.t
        if data["type"] == "speak" and data.get("latency_ms") is not None and reply is None:
            reply = (len(frame_starts) - 1, time.perf_counter(), event.t, data["latency_ms"])
            budget = _budget(data["latency_ms"], event.t, speech_end_t, profile.turn)

    def frames() -> Iterable[np.ndarray]:
        for frame in ArraySource(audio).frames():
            frame_starts.append(time.perf_counter())
            yield frame

    pipeline = new_pipeline(parts, profile, emit, seed=noise_seed(spec))
    wall, cpu = time.perf_counter(), time.process_time()
    pipeline.run(frames())
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    live_ms = None
    if reply is not None and speech_end_t is not None and budget is not None:
        index, reply_wall, reply_t, latency_ms = reply
        processing = [b - a for a, b in zip(frame_starts[:index], frame_starts[1:index + 1])]
        processing.append(reply_wall - frame_starts[index])
        live_ms = round((live_finish(processing, FRAME_SECONDS) - speech_end_t) * 1000, 1)
        budget["backlog"] = round(max(0.0, live_ms - latency_ms), 2)
    intents = [e["name"] for e in events if e["type"] == "intent"]
    return {
        "kind": spec.kind,
        "phrase": spec.phrase,
        "voice": spec.voice,
        "condition": spec.condition.name,
        "expected": spec.expected,
        "ok": score(spec.kind, spec.expected, events),
        "heard": [e["text"] for e in events if e["type"] == "transcript"],
        "confidence": [e["confidence"] for e in events if e["type"] == "transcript"],
        "intent": intents[0] if intents else None,
        "safety": any(e["type"] == "safety" for e in events),
        "spoke": any(e["type"] == "speak" for e in events),
        "latency_ms": reply[3] if reply else None,
        "live_latency_ms": live_ms,
        "budget": budget,
        "audio_seconds": len(audio) / 16000,
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "stt": profile.stt_totals(),
    }


def _budget(latency_ms: float, spoke_t: float, speech_end_t: float | None, turn: Turn) -> dict[str, float]:
    endpoint = (spoke_t - speech_end_t) * 1000 if speech_end_t is not None else 0.0
    parts = {
        "endpoint": endpoint,
        "stt": turn.finish_ms or 0.0,
        "intent": max(0.0, turn.hear_ms - turn.brain_ms),
        "dialog": turn.brain_ms,
        "synthesis": turn.synth_ms or 0.0,
    }
    parts["other"] = latency_ms - sum(parts.values())
    parts["backlog"] = 0.0
    return {k: round(v, 2) for k, v in parts.items()}


# --- worker processes ----------------------------------------------------------------------------

_PARTS: dict[tuple[str, str], Parts] = {}


def worker_synthesize(task: tuple[ClipSpec, Path]) -> float:
    """Make sure a clip's clean speech is in the cache; its length in seconds."""
    from voice.bench.clips import clean_audio

    spec, cache_dir = task
    return len(clean_audio(spec, cache_dir)) / 16000


def worker_run(task: tuple[Config, str, str, list[ClipSpec], Path]) -> list[dict[str, Any]]:
    config, engine, mode, specs, cache_dir = task
    parts = _PARTS.get((engine, mode))
    if parts is None:
        for key in [k for k in _PARTS if k[0] != engine]:  # one engine at a time: keep memory down
            _PARTS.pop(key).close()
        parts = _PARTS[(engine, mode)] = build_parts(config, engine, mode)
    from voice.bench.clips import clip_audio

    parts.reset_adaptation()  # each task is one voice in one condition, heard in corpus order
    return [run_clip(parts, spec, clip_audio(spec, cache_dir)) for spec in specs]
