"""A separate process that listens the way `lantern run` does, to measure start-up, CPU and memory.

Run by the benchmark as `python -m voice.bench.idle ...`; prints one JSON line `{"type": "ready"}` when
its parts are built (the parent times start-to-ready), then one `{"type": "result", ...}` line.

It builds the same parts as `lantern run` (brain, recogniser, TTS with its fixed lines rendered), then
feeds audio frame by frame at real-time pace (sleeping until each 30 ms frame would have arrived)
through the real pipeline with a NullSink: first a quiet room, then household chatter, measuring
process CPU time over wall time for each. Finally it runs a few commands at full speed so the peak
memory includes decoding, and reports its peak RSS (getrusage ru_maxrss). Nothing else lives in this
process, so the memory figure is the engine's and Lantern's own.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from audio import FRAME_SAMPLES
from audio.sinks import NullSink
from audio.sources import ArraySource
from voice.config import load_config
from voice.events import Event
from voice.vad import FRAME_SECONDS


def listen_paced(pipeline: Any, audio: np.ndarray, seconds: float) -> dict[str, float]:
    """Feed `seconds` of `audio` (looped) at real-time pace; CPU as % of one core."""
    count = int(seconds / FRAME_SECONDS)
    audio = np.resize(audio, count * FRAME_SAMPLES)
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    for i in range(count):
        due = start_wall + (i + 1) * FRAME_SECONDS
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        pipeline.step(audio[i * FRAME_SAMPLES:(i + 1) * FRAME_SAMPLES])
    wall, cpu = time.perf_counter() - start_wall, time.process_time() - start_cpu
    return {"seconds": round(wall, 2), "cpu_seconds": round(cpu, 3), "cpu_percent": round(100 * cpu / wall, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m voice.bench.idle")
    parser.add_argument("--config", type=Path, default=None)
    parser.add_argument("--engine", required=True)
    parser.add_argument("--mode", default="lantern")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--quiet", type=Path, required=True, help=".npy: the quiet room")
    parser.add_argument("--chatter", type=Path, required=True, help=".npy: household chatter")
    parser.add_argument("--commands", type=Path, required=True, help=".npy: a few commands, one after another")
    args = parser.parse_args(argv)

    from voice.bench.measure import build_parts

    config = load_config(args.config)
    parts = build_parts(config, args.engine, args.mode)
    print(json.dumps({"type": "ready", "build_seconds": round(parts.build_seconds, 3),
                      "rss_mb": round(_maxrss_mb(), 1)}), flush=True)

    from voice.pipeline import Pipeline

    events: list[dict[str, Any]] = []

    def emit(event: Event) -> None:
        events.append(event.to_dict())

    def pipeline() -> Pipeline:
        return Pipeline(parts.config, parts.conversation(0), parts.recognizer, parts.tts, NullSink(), emit, live=True)

    result: dict[str, Any] = {"type": "result", "engine": args.engine, "mode": args.mode}
    result["quiet"] = listen_paced(pipeline(), np.load(args.quiet), args.seconds)
    result["quiet"]["events"] = _counts(events)
    events.clear()
    result["chatter"] = listen_paced(pipeline(), np.load(args.chatter), args.seconds)
    result["chatter"]["events"] = _counts(events)
    events.clear()
    busy = pipeline()
    busy.run(ArraySource(np.load(args.commands)).frames())
    result["commands_heard"] = _counts(events)
    result["peak_rss_mb"] = round(_maxrss_mb(), 1)
    parts.close()
    print(json.dumps(result), flush=True)
    return 0


def _counts(events: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for e in events:
        counts[e["type"]] = counts.get(e["type"], 0) + 1
    return counts


def _maxrss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    return kb / 1024 if sys.platform != "darwin" else kb / 1024 / 1024


if __name__ == "__main__":
    sys.exit(main())
