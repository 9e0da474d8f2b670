"""`lantern bench`: how well and how fast Lantern hears and answers, next to the usual way.

1. The test split of the corpus (voice/bench/corpus.yaml), said by synthetic voices, clean and with
   kitchen noise, runs through the real pipeline in worker processes (one per core), once with
   Lantern's recogniser and matching, once the usual way (voice/bench/baseline.py) on a subset.
2. A separate process listens at real-time pace to a quiet room and to chatter (CPU, peak memory,
   start-up time: voice/bench/idle.py).
3. `lantern run` listens in the PulseAudio room while utterances are played into it; the reply gap is
   timed on a recording of the room (voice/bench/room_check.py).
4. results.json and results.md are written to --out, and the table is printed; clips.jsonl has
   every clip's outcome and transcripts, for looking into misses.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voice.bench import report
from voice.bench.clips import COMMAND, ClipSpec, Condition, Selection, clean_audio, clip_specs, thin
from voice.bench.measure import BASELINE, LANTERN, with_engine, worker_run, worker_synthesize
from voice.config import Config
from voice.errors import LanternError

ENGINES = ("pocketsphinx", "vosk")
CHUNK = 50
"""Clips per task handed to a worker: one voice in one condition, in corpus order. pocketsphinx adapts
to the voice and the room as it goes (as it does live), and each task starts it afresh, so results do
not depend on which worker ran what."""


@dataclass(frozen=True)
class Plan:
    selection: Selection
    baseline_voices: tuple[str, ...]
    baseline_conditions: tuple[str, ...]
    baseline_every: int
    """The usual way hears every n-th phrase of each intent and section (it is slow)."""
    idle_seconds: float
    room_utterances: int
    room_idle_seconds: float
    workers: int = field(default_factory=lambda: max(1, min(2, os.cpu_count() or 1)))


def quick_plan() -> Plan:
    return Plan(
        Selection(per_intent=3, chatter=8, out_of_domain=6, crisis=6,
                  voices_by_condition={"clean": ("hibari",), "snr10": ("hibari",)}),
        baseline_voices=("hibari",), baseline_conditions=("clean", "snr10"), baseline_every=3,
        idle_seconds=10.0, room_utterances=6, room_idle_seconds=5.0,
    )


def full_plan() -> Plan:
    from voice.bench.speech import VOICES

    return Plan(
        Selection(voices_by_condition={"clean": tuple(VOICES), "snr20": ("hibari", "espeak-us"),
                                       "snr10": ("hibari", "espeak-us")}),
        baseline_voices=("hibari", "espeak-us"), baseline_conditions=("clean", "snr10"), baseline_every=6,
        idle_seconds=60.0, room_utterances=20, room_idle_seconds=20.0,
    )


def run_bench(config: Config, args: argparse.Namespace) -> int:
    started, started_wall = time.perf_counter(), dt.datetime.now()
    plan: Plan = getattr(args, "plan", None) or (quick_plan() if args.quick else full_plan())
    from voice.bench.speech import default_cache_dir

    cache = default_cache_dir()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    engines = _engines(config, args.engines)
    runnable = [e for e, why in engines.items() if why is None]
    if not runnable:
        raise LanternError("no speech recogniser to benchmark: " + "; ".join(f"{e}: {w}" for e, w in engines.items()))

    specs = clip_specs(plan.selection)
    baseline_specs = thin([s for s in specs if s.voice in plan.baseline_voices
                           and s.condition.name in plan.baseline_conditions], plan.baseline_every)
    room_specs = _room_specs(plan)
    phases: dict[str, float] = {}
    _log(f"bench: {len(specs)} clips for Lantern, {len(baseline_specs)} for the usual way, per engine; "
         f"engines: {', '.join(runnable)}; {plan.workers} worker(s)")

    context = multiprocessing.get_context("spawn")  # no threads or engines carried over by fork
    results: dict[str, Any] = {}
    with context.Pool(plan.workers) as pool:
        t = time.perf_counter()
        _synthesize(pool, [*specs, *room_specs], cache)
        phases["synthesis"] = time.perf_counter() - t
        for engine in runnable:
            for mode, chosen in ((LANTERN, specs), (BASELINE, baseline_specs)):
                t = time.perf_counter()
                results[(engine, mode)] = _run(pool, config, engine, mode, chosen, cache)
                phases[f"{engine} {mode}"] = time.perf_counter() - t

    with open(out / "clips.jsonl", "w", encoding="utf-8") as f:  # every clip, for looking into misses
        for (engine, mode), rows in results.items():
            for row in rows:
                f.write(json.dumps({"engine": engine, "mode": mode, **row}) + "\n")

    engine_data: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="lantern-bench-") as tmp:
        idle_audio = _idle_audio(plan, cache, Path(tmp))
        for engine, why in engines.items():
            if why is not None:
                engine_data[engine] = {"skipped": why}
                continue
            t = time.perf_counter()
            _log(f"bench: {engine}: listening at real-time pace, {plan.idle_seconds:.0f} s to a quiet room "
                 f"and {plan.idle_seconds:.0f} s to chatter")
            idle = _idle(config, engine, plan.idle_seconds, idle_audio)
            phases[f"{engine} idle"] = time.perf_counter() - t
            engine_data[engine] = _engine_summary(results[(engine, LANTERN)], results[(engine, BASELINE)], idle)

    room: dict[str, Any]
    if args.no_room:
        room = {"skipped": "--no-room given"}
    else:
        from voice.bench.room_check import run_room_check

        engine = _room_engine(config, runnable)
        t = time.perf_counter()
        _log(f"bench: room: `lantern run` ({engine}) and {len(room_specs)} utterances")
        room = run_room_check(config, engine, [(f"{s.voice}: {s.spoken}", clean_audio(s, cache)) for s in room_specs],
                              plan.room_idle_seconds, _log)
        phases["room"] = time.perf_counter() - t
        if "skipped" in room:
            _log(f"bench: room check skipped: {room['skipped']}")

    result = {
        "started": started_wall.isoformat(timespec="seconds"),
        "quick": bool(args.quick),
        "machine": _machine(),
        "config": str(config.path),
        "corpus": _corpus_description(plan, specs, baseline_specs),
        "engines": engine_data,
        "room": room,
        "phases_seconds": {k: round(v, 1) for k, v in phases.items()},
    }
    result["targets"] = report.evaluate_targets(engine_data, room)
    result["duration_seconds"] = round(time.perf_counter() - started, 1)
    text = report.markdown(result)
    (out / "results.json").write_text(report.to_json(result), encoding="utf-8")
    (out / "results.md").write_text(text, encoding="utf-8")
    print(text)
    _log(f"bench: wrote {out / 'results.json'}, {out / 'results.md'} and {out / 'clips.jsonl'} "
         f"in {result['duration_seconds']:.0f} s")
    return 0


# --- pieces --------------------------------------------------------------------------------------


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _engines(config: Config, wanted: str) -> dict[str, str | None]:
    """Engine -> None if it can run here, else why not."""
    names = ENGINES if wanted in ("available", "", None) else tuple(n.strip() for n in wanted.split(",") if n.strip())
    out: dict[str, str | None] = {}
    for name in names:
        if name not in ENGINES:
            raise LanternError(f"unknown engine {name!r} in --engines; choose from {', '.join(ENGINES)}")
        out[name] = _why_not(config, name)
    return out


def _why_not(config: Config, engine: str) -> str | None:
    try:
        __import__("pocketsphinx" if engine == "pocketsphinx" else "vosk")
    except ImportError as exc:
        return f"{engine} is not installed ({exc})"
    if engine == "vosk":
        from voice.stt import choose_engine

        try:
            choose_engine(with_engine(config, "vosk"))
        except LanternError as exc:
            return str(exc)
    return None


def _room_engine(config: Config, runnable: Sequence[str]) -> str:
    from voice.stt import choose_engine

    try:
        chosen = choose_engine(config)
    except LanternError:
        chosen = runnable[0]
    return chosen if chosen in runnable else runnable[0]


def _synthesize(pool: Any, specs: Sequence[ClipSpec], cache: Path) -> None:
    unique: dict[tuple[str, str, str | None], ClipSpec] = {}
    for s in specs:
        unique.setdefault((s.voice, s.phrase, s.wake), s)
    t = time.perf_counter()
    for done, _ in enumerate(pool.imap_unordered(worker_synthesize, [(s, cache) for s in unique.values()], chunksize=4), 1):
        if done % 200 == 0:
            _log(f"bench: speech ready for {done}/{len(unique)} phrases ({time.perf_counter() - t:.0f} s)")
    _log(f"bench: speech ready for {len(unique)} phrases x voices in {time.perf_counter() - t:.0f} s (cached in {cache})")


def _run(pool: Any, config: Config, engine: str, mode: str, specs: Sequence[ClipSpec], cache: Path) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[ClipSpec]] = {}
    for s in specs:
        groups.setdefault((s.voice, s.condition.name), []).append(s)
    tasks = []
    for group in groups.values():
        count = -(-len(group) // CHUNK)
        size = -(-len(group) // count)  # equal chunks
        tasks += [(config, engine, mode, group[i:i + size], cache) for i in range(0, len(group), size)]
    tasks.sort(key=lambda task: -len(task[3]))
    results: list[dict[str, Any]] = []
    t = time.perf_counter()
    step = max(1, len(tasks) // 5)
    for done, chunk in enumerate(pool.imap_unordered(worker_run, tasks), 1):
        results.extend(chunk)
        if done % step == 0 or done == len(tasks):
            _log(f"bench: {engine} {mode}: {len(results)}/{len(specs)} clips ({time.perf_counter() - t:.0f} s)")
    order = {s.key: i for i, s in enumerate(specs)}
    results.sort(key=lambda r: order[f"{r['kind']}|{r['voice']}|{r['condition']}|{r['phrase']}"])
    return results


def _engine_summary(lantern: list[dict[str, Any]], baseline: list[dict[str, Any]], idle: dict[str, Any]) -> dict[str, Any]:
    keys = {_key(r) for r in baseline}
    matched = [r for r in lantern if _key(r) in keys]
    return {
        "lantern": report.summarize(lantern),
        "matched": {"lantern": report.summarize(matched), "baseline": report.summarize(baseline)},
        "idle": idle,
        "misses": {"lantern": report.misses(lantern), "baseline": report.misses(baseline)},
    }


def _key(r: dict[str, Any]) -> str:
    return f"{r['kind']}|{r['voice']}|{r['condition']}|{r['phrase']}"


def _room_specs(plan: Plan) -> list[ClipSpec]:
    from voice.bench.room_check import ROOM_INTENTS
    from voice.bench.speech import load_corpus

    corpus = load_corpus(plan.selection.split)
    specs = []
    intents = [i for i in ROOM_INTENTS if i in corpus.intents]
    for i in range(plan.room_utterances):
        intent = intents[i % len(intents)]
        said = corpus.intents[intent]
        # The natural voice only: this check is about time, and it needs replies to time.
        specs.append(ClipSpec(COMMAND, said[(i // len(intents)) % len(said)], "hibari", Condition(None), intent))
    return specs


def _idle_audio(plan: Plan, cache: Path, directory: Path) -> dict[str, Path]:
    """A quiet room (kitchen noise at -60 dBFS), chatter, and a few commands, as .npy files."""
    from voice.bench.speech import kitchen_noise, load_corpus

    corpus = load_corpus(plan.selection.split)
    quiet = kitchen_noise(int(plan.idle_seconds * 16000), seed=11)
    quiet = np.round(quiet * (32768 * 10 ** (-60 / 20) / max(1e-9, float(np.sqrt(np.mean(quiet ** 2)))))).astype(np.int16)
    voices = ("hibari", "espeak-us")
    chatter = [clean_audio(ClipSpec("chatter", p, voices[i % 2], Condition(None)), cache)
               for i, p in enumerate(corpus.chatter)]
    commands = [clean_audio(ClipSpec(COMMAND, said[0], "hibari", Condition(None), intent), cache)
                for intent, said in list(corpus.intents.items())[:6]]
    paths = {"quiet": directory / "quiet.npy", "chatter": directory / "chatter.npy", "commands": directory / "commands.npy"}
    np.save(paths["quiet"], quiet)
    np.save(paths["chatter"], np.concatenate(chatter))
    np.save(paths["commands"], np.concatenate(commands))
    return paths


def _idle(config: Config, engine: str, seconds: float, audio: dict[str, Path]) -> dict[str, Any]:
    command = [sys.executable, "-m", "voice.bench.idle", "--engine", engine, "--seconds", str(seconds),
               "--quiet", str(audio["quiet"]), "--chatter", str(audio["chatter"]), "--commands", str(audio["commands"])]
    if config.path.exists():
        command += ["--config", str(config.path)]
    t = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    out: dict[str, Any] = {}
    for line in proc.stdout:
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            continue
        if data.get("type") == "ready":
            out["ready_seconds"] = round(time.perf_counter() - t, 3)
            out["build_seconds"] = data.get("build_seconds")
        elif data.get("type") == "result":
            out.update({k: v for k, v in data.items() if k != "type"})
    stderr = proc.stderr.read() if proc.stderr else ""
    if proc.wait() != 0 or "quiet" not in out:
        return {"skipped": f"the listening process failed: {stderr.strip()[-500:] or 'no message'}"}
    return out


def _corpus_description(plan: Plan, specs: Sequence[ClipSpec], baseline: Sequence[ClipSpec]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for s in specs:
        counts[s.kind] = counts.get(s.kind, 0) + 1
    voices = {c: list(v) for c, v in plan.selection.voices_by_condition.items()}
    return {
        "split": plan.selection.split,
        "voices_by_condition": voices,
        "clips": len(specs),
        "clips_by_kind": counts,
        "baseline_clips": len(baseline),
        "description": (
            f"{len(specs)} clips ({', '.join(f'{n} {k}' for k, n in counts.items())}); "
            + "; ".join(f"{Condition.parse(c).label}: {', '.join(v)}" for c, v in voices.items())
            + f"; the usual way on {len(baseline)} of them (1 phrase in {plan.baseline_every}, "
            f"{', '.join(plan.baseline_voices)}, {', '.join(Condition.parse(c).label for c in plan.baseline_conditions)})"
        ),
    }


def _machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"
