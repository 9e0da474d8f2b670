"""`lantern run`: the voice loop on the configured microphone and speaker."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from audio.sinks import SpeakerSink
from audio.sources import MicrophoneSource
from voice.app import build_brain
from voice.config import Config
from voice.events import Event, Ready
from voice.pipeline import Pipeline
from voice.stt import create_recognizer
from voice.tts import Synthesizer

_LOGGER = logging.getLogger(__name__)


def run_live(config: Config, emit: Callable[[Event], None]) -> None:
    started = time.perf_counter()
    works = build_brain(config)
    recognizer = create_recognizer(config, works.dialogs)
    tts = Synthesizer(config.tts.rate_wpm, config.tts.voice)
    tts.keep(works.conversation.brain.fixed_lines())
    try:
        with MicrophoneSource(config.audio.input_device) as mic, SpeakerSink(config.audio.output_device) as sink:
            pipeline = Pipeline(config, works.conversation, recognizer, tts, sink, emit, live=True)
            _LOGGER.info("ready in %.2f s", time.perf_counter() - started)
            emit(Ready(0.0, recognizer.name))
            pipeline.run(mic.frames())
    finally:
        tts.close()
