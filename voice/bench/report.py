"""Figures from clip results, the targets, and the markdown table. Pure functions: no audio, no engines."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

from voice.bench.clips import CHATTER, COMMAND, CRISIS, OUT_OF_DOMAIN, Condition

STAGE_ORDER = ("endpoint", "backlog", "stt", "intent", "dialog", "synthesis", "other")
STAGE_LABELS = {
    "endpoint": "endpointing wait (stream time)",
    "backlog": "decoding backlog (recogniser behind real time)",
    "stt": "STT finalisation",
    "intent": "intent (wake, crisis spotter, matching)",
    "dialog": "dialog",
    "synthesis": "synthesis to first sample",
    "other": "other (event plumbing)",
}


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0..100), linear between closest ranks (numpy's default); None when empty."""
    data = sorted(values)
    if not data:
        return None
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, got {q}")
    pos = (len(data) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def rate(hits: int, total: int) -> float | None:
    return None if total == 0 else hits / total


def summarize(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy per condition and voice, chatter / out-of-domain / crisis, latency, STT speed, budget."""
    commands = [r for r in results if r["kind"] == COMMAND]
    conditions = sorted({r["condition"] for r in results}, key=lambda c: (Condition.parse(c).snr_db is not None,
                                                                           -(Condition.parse(c).snr_db or 0)))
    voices = sorted({r["voice"] for r in results})
    accuracy: dict[str, Any] = {}
    for condition in conditions:
        rows = [r for r in commands if r["condition"] == condition]
        accuracy[condition] = {
            "n": len(rows),
            "correct": sum(r["ok"] for r in rows),
            "accuracy": rate(sum(r["ok"] for r in rows), len(rows)),
            "by_voice": {v: rate(sum(r["ok"] for r in rows if r["voice"] == v), sum(r["voice"] == v for r in rows))
                         for v in voices if any(r["voice"] == v for r in rows)},
        }

    def section(kind: str) -> dict[str, Any]:
        rows = [r for r in results if r["kind"] == kind]
        wrong = sum(not r["ok"] for r in rows)
        return {"n": len(rows), "wrong": wrong, "wrong_rate": rate(wrong, len(rows))}

    crisis = [r for r in results if r["kind"] == CRISIS]
    live = [r["live_latency_ms"] for r in results if r.get("live_latency_ms") is not None]
    internal = [r["latency_ms"] for r in results if r.get("latency_ms") is not None]
    budgets = [r["budget"] for r in results if r.get("budget")]
    fed = sum(r["stt"]["fed_seconds"] for r in results)
    decode = sum(r["stt"]["decode_ms"] for r in results) / 1000
    audio = sum(r["audio_seconds"] for r in results)
    return {
        "clips": len(results),
        "accuracy": accuracy,
        "chatter": section(CHATTER),
        "out_of_domain": section(OUT_OF_DOMAIN),
        "crisis": {"n": len(crisis), "recalled": sum(r["ok"] for r in crisis),
                   "recall": rate(sum(r["ok"] for r in crisis), len(crisis))},
        "latency_ms": {"n": len(live), "p50": _round(percentile(live, 50)), "p95": _round(percentile(live, 95)),
                       "internal_p50": _round(percentile(internal, 50)),
                       "internal_p95": _round(percentile(internal, 95))},
        "budget_ms": {stage: {"p50": _round(percentile([b.get(stage, 0.0) for b in budgets], 50)),
                              "p95": _round(percentile([b.get(stage, 0.0) for b in budgets], 95)),
                              "mean": _round(sum(b.get(stage, 0.0) for b in budgets) / len(budgets)) if budgets else None}
                      for stage in STAGE_ORDER},
        "early_endpoint_share": rate(sum(b["endpoint"] < 200 for b in budgets), len(budgets)),
        "stt_rtf": round(decode / fed, 4) if fed else None,
        "pipeline_rtf": round(sum(r["wall_seconds"] for r in results) / audio, 4) if audio else None,
    }


def misses(results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every clip scored wrong, with what was heard."""
    return [{k: r.get(k) for k in ("kind", "voice", "condition", "phrase", "expected", "intent", "safety", "heard",
                                   "confidence")}
            for r in results if not r["ok"]]


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


# --- targets -------------------------------------------------------------------------------------


def target(name: str, goal: str, measured: float | None, unit: str, ok: bool | None, note: str = "") -> dict[str, Any]:
    return {"name": name, "target": goal, "measured": measured, "unit": unit, "met": ok, "note": note}


def _le(value: float | None, limit: float) -> bool | None:
    return None if value is None else bool(value <= limit)


def _ge(value: float | None, limit: float) -> bool | None:
    return None if value is None else bool(value >= limit)


def evaluate_targets(engines: dict[str, Any], room: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, each met / not met / not measured (met=None). Nothing is rounded in our favour."""
    out: list[dict[str, Any]] = []
    gaps = room_gaps(room)
    note = room.get("skipped", "") if "skipped" in room else ""
    out.append(target("reply latency through the room, p50", "<= 300 ms", _round(percentile(gaps, 50)), "ms",
                      _le(percentile(gaps, 50), 300) if gaps else None, note))
    out.append(target("reply latency through the room, p95", "<= 500 ms", _round(percentile(gaps, 95)), "ms",
                      _le(percentile(gaps, 95), 500) if gaps else None, note))
    for engine, data in engines.items():
        if "skipped" in data:
            continue
        tag = f"[{engine}] "
        lantern = data["lantern"]
        for condition, goal in (("clean", 0.97), ("snr10", 0.90)):
            acc = lantern["accuracy"].get(condition, {}).get("accuracy")
            out.append(target(f"{tag}intent accuracy, {Condition.parse(condition).label}", f">= {goal:.0%}",
                              _pct(acc), "%", _ge(acc, goal)))
        chatter = lantern["chatter"]
        out.append(target(f"{tag}wrong intents on chatter", "0", chatter["wrong"], "clips",
                          chatter["wrong"] == 0 if chatter["n"] else None, f"of {chatter['n']}"))
        crisis = lantern["crisis"]
        out.append(target(f"{tag}crisis recall", "100%", _pct(crisis["recall"]), "%",
                          None if crisis["recall"] is None else crisis["recall"] == 1.0))
        idle = data.get("idle", {})
        for what in ("quiet", "chatter"):
            cpu = idle.get(what, {}).get("cpu_percent")
            out.append(target(f"{tag}CPU listening to {'a quiet room' if what == 'quiet' else 'chatter'}",
                              "<= 3% of one core", cpu, "%", _le(cpu, 3.0), idle.get("skipped", "")))
        rss = idle.get("peak_rss_mb")
        if engine == "pocketsphinx":
            out.append(target(f"{tag}peak RSS", "<= 250 MB", rss, "MB", _le(rss, 250.0), idle.get("skipped", "")))
        ready = idle.get("ready_seconds")
        out.append(target(f"{tag}start to ready (bench process)", "<= 3 s", ready, "s", _le(ready, 3.0)))
        matched = data.get("matched")
        if matched:
            out += _versus_usual(tag, matched["lantern"], matched["baseline"])
    if "ready_seconds" in room:
        out.append(target(f"[{room.get('engine')}] start to ready (`lantern run` in the room)", "<= 3 s",
                          room["ready_seconds"], "s", _le(room["ready_seconds"], 3.0)))
    if "idle_cpu_percent" in room:
        out.append(target(f"[{room.get('engine')}] CPU of `lantern run` in a silent room", "<= 3% of one core",
                          room["idle_cpu_percent"], "%", _le(room["idle_cpu_percent"], 3.0)))
    if room.get("peak_rss_mb") is not None and room.get("engine") == "pocketsphinx":
        out.append(target("[pocketsphinx] peak RSS of `lantern run`", "<= 250 MB", round(room["peak_rss_mb"], 1),
                          "MB", _le(room["peak_rss_mb"], 250.0)))
    return out


def _versus_usual(tag: str, lan: dict[str, Any], base: dict[str, Any]) -> list[dict[str, Any]]:
    """Faster: lower p50 and p95 reply latency and a lower STT real-time factor. More accurate: higher
    intent accuracy in every condition, and no worse on chatter, out-of-domain requests and crisis recall."""
    la, ba = lan["latency_ms"], base["latency_ms"]
    speed = [(la["p50"], ba["p50"]), (la["p95"], ba["p95"]), (lan["stt_rtf"], base["stt_rtf"])]
    faster = None if any(a is None or b is None for a, b in speed) else all(a < b for a, b in speed)
    checks = [(f"{c} accuracy", lan["accuracy"][c]["accuracy"], base["accuracy"].get(c, {}).get("accuracy"), "higher")
              for c in lan["accuracy"]]
    checks += [("wrong on chatter", lan["chatter"]["wrong_rate"], base["chatter"]["wrong_rate"], "not higher"),
               ("wrong intent on out-of-domain", lan["out_of_domain"]["wrong_rate"], base["out_of_domain"]["wrong_rate"],
                "not higher"),
               ("crisis recall", lan["crisis"]["recall"], base["crisis"]["recall"], "not lower")]
    failed, known = [], True
    for name, a, b, rule in checks:
        if a is None or b is None:
            known = known and rule != "higher"
            continue
        ok = a > b if rule == "higher" else a <= b if rule == "not higher" else a >= b
        if not ok:
            failed.append(f"{name} {_fmt_pct(a)} vs {_fmt_pct(b)}")
    more = (not failed) if known else None
    accuracy_note = "; ".join(f"{n}: {_fmt_pct(a)} vs {_fmt_pct(b)}" for n, a, b, r in checks if r == "higher")
    return [
        target(f"{tag}faster than the usual way", "lower p50, p95 and STT RTF", la["p50"], "ms", faster,
               f"p50 {la['p50']} vs {ba['p50']} ms, p95 {la['p95']} vs {ba['p95']} ms, "
               f"RTF {lan['stt_rtf']} vs {base['stt_rtf']}"),
        target(f"{tag}more accurate than the usual way", "better intents in every condition, no worse elsewhere",
               None, "", more, (("worse: " + "; ".join(failed)) if failed else accuracy_note)),
    ]


def room_gaps(room: dict[str, Any]) -> list[float]:
    return [float(u["gap_ms"]) for u in room.get("utterances", []) if u.get("gap_ms") is not None]


def to_json(result: dict[str, Any]) -> str:
    """JSON text; numpy scalars that slipped in become plain numbers."""

    def plain(value: Any) -> Any:
        if hasattr(value, "item"):
            return value.item()
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    return json.dumps(result, indent=1, default=plain) + "\n"


def _pct(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 1)


def _fmt_pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        text = f"{value:.1f}" if abs(value) >= 1 or value == 0 else f"{value:.3g}"
    else:
        text = str(value)
    return f"{text} {unit}".strip() if unit and unit != "%" else f"{text}{unit}"


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "–"
    return f"{a / b:.2f}×"


def met_mark(met: bool | None) -> str:
    return {True: "met", False: "**not met**", None: "not measured"}[met]


# --- markdown ------------------------------------------------------------------------------------


def markdown(result: dict[str, Any]) -> str:
    lines = [f"# Lantern benchmark ({'quick' if result['quick'] else 'full'})", ""]
    lines.append(f"{result['started']}, {result['machine']}, {result['duration_seconds']:.0f} s. "
                 f"Corpus: {result['corpus']['split']} split, {result['corpus']['description']}.")
    lines += ["", "## Targets", "", "| target | goal | measured | |", "|---|---|---|---|"]
    for t in result["targets"]:
        measured = _fmt(t["measured"], t["unit"])
        if t.get("note"):
            measured += f" ({t['note']})"
        lines.append(f"| {t['name']} | {t['target']} | {measured} | {met_mark(t['met'])} |")
    for engine, data in result["engines"].items():
        if "skipped" in data:
            lines += ["", f"## {engine}: skipped", "", data["skipped"]]
            continue
        lines += _engine_tables(engine, data)
    lines += _room_table(result["room"])
    lines.append("")
    return "\n".join(lines)


def _engine_tables(engine: str, data: dict[str, Any]) -> list[str]:
    lan = data["lantern"]
    lines = ["", f"## {engine}: Lantern on the whole corpus", ""]
    voices = sorted({v for c in lan["accuracy"].values() for v in c["by_voice"]})
    lines.append("| intent accuracy | all | " + " | ".join(voices) + " |")
    lines.append("|---|---|" + "---|" * len(voices))
    for condition, acc in lan["accuracy"].items():
        cells = [_fmt_pct(acc["by_voice"].get(v)) if v in acc["by_voice"] else "–" for v in voices]
        lines.append(f"| {Condition.parse(condition).label} | {_fmt_pct(acc['accuracy'])} ({acc['correct']}/{acc['n']}) | "
                     + " | ".join(cells) + " |")
    lines += ["", "| | |", "|---|---|",
              f"| wrong on chatter (no wake phrase) | {lan['chatter']['wrong']}/{lan['chatter']['n']} |",
              f"| wrong intent on out-of-domain requests | {lan['out_of_domain']['wrong']}/{lan['out_of_domain']['n']} |",
              f"| crisis recall | {lan['crisis']['recalled']}/{lan['crisis']['n']} |",
              f"| reply latency p50 / p95 (live-equivalent) | {_fmt(lan['latency_ms']['p50'])} / {_fmt(lan['latency_ms']['p95'])} ms |",
              f"| STT real-time factor | {_fmt(lan['stt_rtf'])} |"]
    idle = data.get("idle", {})
    if "skipped" in idle:
        lines.append(f"| idle measurements | skipped: {idle['skipped']} |")
    elif idle:
        lines += [f"| CPU listening to a quiet room / to chatter ({idle['quiet']['seconds']:.0f} s each) | "
                  f"{_fmt(idle['quiet']['cpu_percent'])}% / {_fmt(idle['chatter']['cpu_percent'])}% of one core |",
                  f"| peak RSS | {_fmt(idle['peak_rss_mb'])} MB |",
                  f"| start to ready (process start to parts built) | {_fmt(idle['ready_seconds'])} s |"]
    matched = data.get("matched")
    if matched:
        a, b = matched["lantern"], matched["baseline"]
        lines += ["", f"## {engine}: Lantern and the usual way on the same {a['clips']} clips", "",
                  "| | Lantern | usual way | Lantern / usual |", "|---|---|---|---|"]
        for condition, acc in a["accuracy"].items():
            other = b["accuracy"].get(condition, {}).get("accuracy")
            lines.append(f"| intent accuracy, {Condition.parse(condition).label} | {_fmt_pct(acc['accuracy'])} | "
                         f"{_fmt_pct(other)} | {_ratio(acc['accuracy'], other)} |")
        lines += [
            f"| wrong on chatter | {a['chatter']['wrong']}/{a['chatter']['n']} | {b['chatter']['wrong']}/{b['chatter']['n']} | |",
            f"| wrong intent, out-of-domain | {a['out_of_domain']['wrong']}/{a['out_of_domain']['n']} | "
            f"{b['out_of_domain']['wrong']}/{b['out_of_domain']['n']} | |",
            f"| crisis recall | {a['crisis']['recalled']}/{a['crisis']['n']} | {b['crisis']['recalled']}/{b['crisis']['n']} | |",
            f"| reply latency p50 (live-equivalent) | {_fmt(a['latency_ms']['p50'])} ms | {_fmt(b['latency_ms']['p50'])} ms | "
            f"{_ratio(a['latency_ms']['p50'], b['latency_ms']['p50'])} |",
            f"| reply latency p95 (live-equivalent) | {_fmt(a['latency_ms']['p95'])} ms | {_fmt(b['latency_ms']['p95'])} ms | "
            f"{_ratio(a['latency_ms']['p95'], b['latency_ms']['p95'])} |",
            f"| replies timed | {a['latency_ms']['n']} | {b['latency_ms']['n']} | |",
            f"| STT real-time factor | {_fmt(a['stt_rtf'])} | {_fmt(b['stt_rtf'])} | {_ratio(a['stt_rtf'], b['stt_rtf'])} |",
        ]
        lines += ["", f"## {engine}: where the reply time goes (ms, p50 / p95 per stage)", "",
                  "| stage | Lantern | usual way |", "|---|---|---|"]
        for stage in STAGE_ORDER:
            sa, sb = a["budget_ms"][stage], b["budget_ms"][stage]
            lines.append(f"| {STAGE_LABELS[stage]} | {_fmt(sa['p50'])} / {_fmt(sa['p95'])} | {_fmt(sb['p50'])} / {_fmt(sb['p95'])} |")
        lines.append(f"| replies ended early (partial already a whole command) | {_fmt_pct(a['early_endpoint_share'])} | "
                     f"{_fmt_pct(b['early_endpoint_share'])} |")
    return lines


def _room_table(room: dict[str, Any]) -> list[str]:
    lines = ["", "## Through the PulseAudio room (`lantern run`, timed on a recording of the room)", ""]
    if "skipped" in room:
        return lines + [f"Skipped: {room['skipped']}"]
    rows = room.get("utterances", [])
    gaps = room_gaps(room)
    internal = [u["internal_latency_ms"] for u in rows if u.get("gap_ms") is not None and u.get("internal_latency_ms") is not None]
    device = [u["device_ms"] for u in rows if u.get("device_ms") is not None]
    lines += ["| | |", "|---|---|",
              f"| engine | {room.get('engine_heard') or room.get('engine')} |",
              f"| utterances played / replies timed | {len(rows)} / {len(gaps)} |",
              f"| gap end of speech → reply, p50 / p95 | {_fmt(_round(percentile(gaps, 50)))} / {_fmt(_round(percentile(gaps, 95)))} ms |",
              f"| Lantern's own latency figure for the same replies, p50 / p95 | {_fmt(_round(percentile(internal, 50)))} / "
              f"{_fmt(_round(percentile(internal, 95)))} ms |",
              f"| device buffering (gap − own figure), p50 / p95 | {_fmt(_round(percentile(device, 50)))} / "
              f"{_fmt(_round(percentile(device, 95)))} ms |",
              f"| start to ready | {_fmt(room.get('ready_seconds'))} s |",
              f"| CPU in a silent room ({_fmt(room.get('idle_seconds'))} s) | {_fmt(room.get('idle_cpu_percent'))}% of one core |",
              f"| peak RSS | {_fmt(_round(room.get('peak_rss_mb')))} MB |"]
    return lines
