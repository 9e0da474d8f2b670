"""`lantern listen`: recordings through the real voice loop, faster than real time, one session per file."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from audio.sinks import NullSink, Sink, WavDirSink
from audio.sources import WavSource
from voice.app import build_brain
from voice.config import Config
from voice.errors import AudioFileError
from voice.events import Event, Ready
from voice.pipeline import Pipeline
from voice.stt import create_recognizer
from voice.tts import Synthesizer


def listen_files(config: Config, files: Sequence[Path], as_json: bool, out_dir: Path | None, out: TextIO) -> int:
    first = build_brain(config)
    recognizer = create_recognizer(config, first.dialogs)
    tts = Synthesizer(config.tts.rate_wpm, config.tts.voice)
    failed = 0
    try:
        for index, path in enumerate(files):
            try:
                source = WavSource(path)
            except AudioFileError as exc:
                print(f"lantern: {exc}", file=sys.stderr)
                failed += 1
                continue

            def emit(event: Event, path: Path = path) -> None:
                _print_event(event, str(path), as_json, out)

            emit(Ready(0.0, recognizer.name))
            works = first if index == 0 else build_brain(config)
            sink: Sink = WavDirSink(out_dir, prefix=f"{path.stem}-") if out_dir else NullSink()
            pipeline = Pipeline(config, works.conversation, recognizer, tts, sink, emit, live=False)
            pipeline.run(source.frames())
            pipeline.finish_recording()
    finally:
        tts.close()
    return 1 if failed else 0


def _print_event(event: Event, file: str, as_json: bool, out: TextIO) -> None:
    data = event.to_dict()
    if as_json:
        out.write(json.dumps({**data, "file": file}) + "\n")
        return
    text = _HUMAN.get(event.type)
    if text is not None:
        out.write(f"{file} {data['t']:7.2f}s  {text.format(**data)}\n")
    out.flush()


_HUMAN = {
    "ready": "listening with {engine}",
    "wake": "wake phrase heard",
    "transcript": "heard: {text!r}",
    "intent": "intent: {name} {slots}",
    "nomatch": "not understood",
    "safety": "SAFETY: crisis words heard (certain: {certain})",
    "speak": "Lantern: {text}  [{latency_ms} ms]",
    "timer": "timer: {name}",
}
