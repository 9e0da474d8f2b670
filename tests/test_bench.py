"""`lantern bench`: the pure parts (scoring, percentiles, conditions, targets, the table, the room
timings) fast, and one whole run on a tiny corpus (slow: it synthesises speech and runs recognisers)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from audio.room import onset, sound_extent
from voice.bench import report
from voice.bench.baseline import UsualConversation
from voice.bench.clips import CHATTER, COMMAND, CRISIS, OUT_OF_DOMAIN, Condition, Selection, clip_specs, thin
from voice.bench.measure import live_finish, score
from voice.bench.room_check import Played, measure_gaps
from voice.dialog import Brain

# --- percentiles ---------------------------------------------------------------------------------


@pytest.mark.parametrize("q", [0, 5, 25, 50, 75, 95, 100])
def test_percentile_matches_numpy(q: float) -> None:
    values = [412.0, 180.5, 233.0, 97.0, 305.0, 260.0, 150.0, 500.0, 222.0]
    assert report.percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_percentile_of_nothing_is_none_and_of_one_is_it() -> None:
    assert report.percentile([], 50) is None
    assert report.percentile([7.0], 95) == 7.0
    with pytest.raises(ValueError):
        report.percentile([1.0], 101)


# --- conditions and clips ------------------------------------------------------------------------


def test_condition_names() -> None:
    assert Condition(None).name == "clean" and Condition(None).label == "clean"
    assert Condition(20.0).name == "snr20" and Condition(20.0).label == "20 dB SNR"
    assert Condition(10).name == "snr10"
    assert Condition(7.5).name == "snr7.5"
    for name in ("clean", "snr20", "snr10", "snr7.5"):
        assert Condition.parse(name).name == name
    for bad in ("noisy", "snr", "snrx", ""):
        with pytest.raises(ValueError):
            Condition.parse(bad)


def test_clip_specs_and_thinning_keep_the_same_phrases_everywhere() -> None:
    selection = Selection(per_intent=4, chatter=3, out_of_domain=2, crisis=2,
                          voices_by_condition={"clean": ("hibari", "espeak-us"), "snr10": ("hibari",)})
    specs = clip_specs(selection)
    kinds = {k: sum(s.kind == k for s in specs) for k in (COMMAND, CHATTER, OUT_OF_DOMAIN, CRISIS)}
    per_voice_condition = 22 * 4 + 3 + 2 + 2
    assert len(specs) == 3 * per_voice_condition
    assert kinds[CHATTER] == 9 and kinds[CRISIS] == 6
    assert all(s.wake is None for s in specs if s.kind == CHATTER)
    assert all(s.spoken.startswith("hey lantern, ") for s in specs if s.kind != CHATTER)
    half = thin(specs, 2)
    # Two phrasings of each intent (the 1st and 3rd), in every voice and condition alike.
    per_group: dict[tuple[str, str], set[str]] = {}
    for s in half:
        per_group.setdefault((s.voice, s.condition.name), set()).add(s.phrase)
    assert len({frozenset(p) for p in per_group.values()}) == 1
    assert sum(s.kind == COMMAND for s in half) == 3 * 22 * 2
    assert thin(specs, 1) == specs


# --- scoring -------------------------------------------------------------------------------------


def _ev(kind: str, **data: Any) -> dict[str, Any]:
    return {"type": kind, "t": 0.0, **data}


def test_command_counts_only_its_first_intent() -> None:
    right = [_ev("transcript", text="hey lantern start a hug"), _ev("intent", name="hug"), _ev("speak", text="ok")]
    assert score(COMMAND, "hug", right)
    assert not score(COMMAND, "hug", [_ev("intent", name="stop"), _ev("intent", name="hug")])
    assert not score(COMMAND, "hug", [_ev("transcript", text="hey lantern"), _ev("nomatch", text="x")])


def test_crisis_needs_the_safety_path() -> None:
    assert score(CRISIS, None, [_ev("safety", certain=False, text="...")])
    assert not score(CRISIS, None, [_ev("intent", name="bad_day"), _ev("speak", text="...")])


def test_chatter_is_wrong_on_any_intent_or_reply() -> None:
    assert score(CHATTER, None, [_ev("speech_start"), _ev("transcript", text="pass the bottle")])
    assert not score(CHATTER, None, [_ev("intent", name="stop")])
    assert not score(CHATTER, None, [_ev("speak", text="sorry?")])


def test_out_of_domain_is_wrong_only_on_an_intent() -> None:
    assert score(OUT_OF_DOMAIN, None, [_ev("nomatch", text="weather"), _ev("speak", text="sorry")])
    assert not score(OUT_OF_DOMAIN, None, [_ev("intent", name="snooze")])


# --- live-equivalent latency ---------------------------------------------------------------------


def test_live_finish_without_backlog_is_the_last_frame_plus_its_work() -> None:
    assert live_finish([0.001] * 9 + [0.05], 0.03) == pytest.approx(10 * 0.03 + 0.05)


def test_live_finish_adds_the_backlog_of_a_slow_recogniser() -> None:
    # Each 30 ms frame takes 45 ms: after 100 frames the work is 1.5 s behind a 3 s stream... ends at 4.5 s.
    assert live_finish([0.045] * 100, 0.03) == pytest.approx(0.03 + 100 * 0.045)
    # A burst of work early on is absorbed by later cheap frames.
    assert live_finish([0.2] + [0.001] * 20, 0.03) == pytest.approx(21 * 0.03 + 0.001)


# --- summaries, targets, the table ---------------------------------------------------------------


def _result(kind: str, ok: bool, condition: str = "clean", voice: str = "hibari", latency: float | None = 200.0,
            expected: str | None = "hug") -> dict[str, Any]:
    budget = None if latency is None else {"endpoint": 120.0, "backlog": 0.0, "stt": latency - 140.0, "intent": 2.0,
                                           "dialog": 0.1, "synthesis": 17.0, "other": 0.9}
    return {"kind": kind, "phrase": "p", "voice": voice, "condition": condition, "ok": ok,
            "expected": expected if kind == COMMAND else None, "intent": None, "safety": False, "heard": ["x"],
            "latency_ms": latency, "live_latency_ms": latency, "budget": budget, "audio_seconds": 3.0,
            "wall_seconds": 0.3, "stt": {"fed_seconds": 2.0, "decode_ms": 200.0}}


def _summary(clean_right: int, clean_n: int, noisy_right: int, noisy_n: int) -> dict[str, Any]:
    results = [_result(COMMAND, i < clean_right, latency=100.0 + i) for i in range(clean_n)]
    results += [_result(COMMAND, i < noisy_right, "snr10", latency=300.0) for i in range(noisy_n)]
    results += [_result(CHATTER, True, latency=None), _result(CHATTER, False, latency=None)]
    results += [_result(OUT_OF_DOMAIN, True), _result(CRISIS, True), _result(CRISIS, True)]
    return report.summarize(results)


def test_summary_counts() -> None:
    s = _summary(9, 10, 3, 4)
    assert list(s["accuracy"]) == ["clean", "snr10"]
    assert s["accuracy"]["clean"] == {"n": 10, "correct": 9, "accuracy": 0.9, "by_voice": {"hibari": 0.9}}
    assert s["accuracy"]["snr10"]["accuracy"] == 0.75
    assert s["chatter"] == {"n": 2, "wrong": 1, "wrong_rate": 0.5}
    assert s["crisis"]["recall"] == 1.0
    assert s["stt_rtf"] == pytest.approx(0.1)
    assert s["latency_ms"]["n"] == 17
    assert s["budget_ms"]["endpoint"]["p50"] == 120.0
    assert s["early_endpoint_share"] == 1.0


def _engine(clean: tuple[int, int], noisy: tuple[int, int], cpu: float = 1.0) -> dict[str, Any]:
    lantern = _summary(*clean, *noisy)
    baseline = _summary(clean[0] - 5, clean[1], 0, noisy[1])
    baseline["latency_ms"]["p50"], baseline["latency_ms"]["p95"] = 900.0, 1500.0
    baseline["stt_rtf"] = 0.5
    idle = {"quiet": {"cpu_percent": cpu, "seconds": 60.0}, "chatter": {"cpu_percent": 2.0, "seconds": 60.0},
            "peak_rss_mb": 180.0, "ready_seconds": 2.5}
    return {"lantern": lantern, "matched": {"lantern": lantern, "baseline": baseline}, "idle": idle}


def test_targets_are_never_rounded_in_our_favour() -> None:
    # 96.9 % is not 97 %; one wrong chatter clip is not zero.
    targets = {t["name"]: t for t in report.evaluate_targets({"pocketsphinx": _engine((969, 1000), (90, 100))},
                                                             {"skipped": "no PulseAudio"})}
    assert targets["[pocketsphinx] intent accuracy, clean"]["met"] is False
    assert targets["[pocketsphinx] intent accuracy, 10 dB SNR"]["met"] is True
    assert targets["[pocketsphinx] wrong intents on chatter"]["met"] is False
    assert targets["[pocketsphinx] crisis recall"]["met"] is True
    assert targets["[pocketsphinx] CPU listening to a quiet room"]["met"] is True
    assert targets["[pocketsphinx] peak RSS"]["met"] is True
    assert targets["[pocketsphinx] faster than the usual way"]["met"] is True
    assert targets["[pocketsphinx] more accurate than the usual way"]["met"] is True
    room = targets["reply latency through the room, p50"]
    assert room["met"] is None and "no PulseAudio" in room["note"]


def test_more_accurate_means_no_worse_anywhere() -> None:
    engine = _engine((99, 100), (95, 100))
    engine["matched"]["baseline"]["out_of_domain"]["wrong_rate"] = 0.0
    engine["matched"]["lantern"]["out_of_domain"]["wrong_rate"] = 0.25
    targets = {t["name"]: t for t in report.evaluate_targets({"pocketsphinx": engine}, {})}
    more = targets["[pocketsphinx] more accurate than the usual way"]
    assert more["met"] is False and "out-of-domain 25.0% vs 0.0%" in more["note"]
    engine["matched"]["baseline"]["latency_ms"]["p95"] = 100.0  # the usual way's slowest replies are quicker
    targets = {t["name"]: t for t in report.evaluate_targets({"pocketsphinx": engine}, {})}
    assert targets["[pocketsphinx] faster than the usual way"]["met"] is False


def test_room_targets_from_gaps() -> None:
    room = {"engine": "pocketsphinx", "ready_seconds": 3.2, "idle_cpu_percent": 1.0, "peak_rss_mb": 190.0,
            "utterances": [{"gap_ms": g} for g in (250.0, 280.0, 290.0, 310.0, 620.0)]}
    targets = {t["name"]: t for t in report.evaluate_targets({}, room)}
    assert targets["reply latency through the room, p50"]["measured"] == 290.0
    assert targets["reply latency through the room, p50"]["met"] is True
    assert targets["reply latency through the room, p95"]["met"] is False
    assert targets["[pocketsphinx] start to ready (`lantern run` in the room)"]["met"] is False


def test_markdown_table() -> None:
    engines = {"pocketsphinx": _engine((99, 100), (80, 100), cpu=4.5), "vosk": {"skipped": "no vosk model"}}
    result = {"quick": True, "started": "2026-11-28T19:00:00", "machine": "test box", "duration_seconds": 61.0,
              "corpus": {"split": "test", "description": "a few clips"}, "engines": engines,
              "room": {"skipped": "--no-room given"}}
    result["targets"] = report.evaluate_targets(engines, result["room"])
    text = report.markdown(result)
    assert text.startswith("# Lantern benchmark (quick)")
    assert "| [pocketsphinx] intent accuracy, clean | >= 97% | 99.0% | met |" in text
    assert "| [pocketsphinx] intent accuracy, 10 dB SNR | >= 90% | 80.0% | **not met** |" in text
    assert "| [pocketsphinx] CPU listening to a quiet room | <= 3% of one core | 4.5% | **not met** |" in text
    assert "## vosk: skipped" in text and "Skipped: --no-room given" in text
    assert "| intent accuracy, clean | 99.0% | 94.0% | 1.05× |" in text
    for stage in report.STAGE_ORDER:
        assert report.STAGE_LABELS[stage] in text
    json.dumps(result)  # all of it is JSON


# --- the room, timed on a recording --------------------------------------------------------------


def _tone(seconds: float, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * 16000)) / 16000
    return np.round(amplitude * 32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(int(round(seconds * 16000)), dtype=np.int16)


def test_onset_and_extent() -> None:
    audio = np.concatenate([_silence(0.5), _tone(1.0), _silence(0.5)])
    assert onset(audio) == pytest.approx(0.5)
    assert onset(audio, after=1.6) is None
    assert onset(audio, after=0.0, before=0.4) is None
    assert sound_extent(audio) == pytest.approx((0.5, 1.5))
    assert sound_extent(_silence(1.0)) is None


def test_gap_from_end_of_speech_to_reply() -> None:
    clip = np.concatenate([_silence(0.5), _tone(1.2), _silence(1.0)])  # what was played
    # In the room: played 0.13 s after we noted the position; the reply starts 0.28 s after the speech ends.
    recording = np.concatenate([_silence(1.0 + 0.13 + 0.5), _tone(1.2), _silence(0.28), _tone(0.8, 0.1), _silence(1.0)])
    played = [Played("hibari: hey lantern, skip", clip, at=1.0,
                     events=[_ev("transcript", text="hey lantern skip"), _ev("intent", name="skip"),
                             _ev("speak", text="Skipped.", latency_ms=190.0)])]
    [row] = measure_gaps(recording, played)
    assert row["gap_ms"] == pytest.approx(280.0, abs=20.1)
    assert row["device_ms"] == pytest.approx(row["gap_ms"] - 190.0)
    assert row["intent"] == "skip" and row["reply"] == "Skipped."


def test_no_reply_no_gap() -> None:
    clip = np.concatenate([_silence(0.5), _tone(1.0), _silence(1.0)])
    recording = np.concatenate([_silence(1.5), _tone(1.0), _silence(2.0)])
    [row] = measure_gaps(recording, [Played("x", clip, at=1.0, events=[_ev("transcript", text="hey")])])
    assert row["gap_ms"] is None and row["reply"] is None


# --- the usual way -------------------------------------------------------------------------------


def test_the_usual_way_matches_exactly_and_has_no_crisis_keywords(works) -> None:
    brain = Brain(works.dialogs, works.config)
    usual = UsualConversation(works.dialogs, brain, "hey lantern")
    assert usual.hear("hey lantern start a hug", in_window=False).match.intent == "hug"
    assert usual.hear("hey lantern start a hug um yes", in_window=False).match is None
    assert not usual.hear("start a hug", in_window=False).for_us
    assert usual.commands.match("start a hug", max_dropped=0) is None  # never ends an utterance early
    lantern = works.conversation.hear("hey lantern start a hug um yes", in_window=False)
    assert lantern.match is not None and lantern.match.intent == "hug"


# --- a whole run ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_bench_runs_end_to_end_on_a_tiny_corpus(config, tmp_path: Path) -> None:
    from voice.bench.runner import Plan, run_bench

    plan = Plan(Selection(per_intent=1, chatter=2, out_of_domain=1, crisis=2, voices_by_condition={"clean": ("hibari",)}),
                baseline_voices=("hibari",), baseline_conditions=("clean",), baseline_every=6,
                idle_seconds=1.0, room_utterances=0, room_idle_seconds=0.0, workers=1)
    args = argparse.Namespace(quick=True, engines="pocketsphinx", no_room=True, out=tmp_path, plan=plan)
    assert run_bench(config, args) == 0
    result = json.loads((tmp_path / "results.json").read_text())
    lantern = result["engines"]["pocketsphinx"]["lantern"]
    assert lantern["clips"] == 22 + 2 + 1 + 2
    assert lantern["accuracy"]["clean"]["n"] == 22
    assert lantern["latency_ms"]["n"] > 0 and lantern["stt_rtf"] > 0
    assert result["engines"]["pocketsphinx"]["matched"]["baseline"]["clips"] == 22 + 1 + 1 + 1
    assert result["engines"]["pocketsphinx"]["idle"]["peak_rss_mb"] > 0
    assert (tmp_path / "results.md").read_text().startswith("# Lantern benchmark")


def test_results_with_numpy_numbers_are_still_json() -> None:
    room = {"engine": "pocketsphinx", "utterances": [{"gap_ms": np.float64(250.0)}, {"gap_ms": np.float64(260.0)}]}
    targets = report.evaluate_targets({}, room)
    text = report.to_json({"targets": targets, "x": np.int64(3), "ok": np.bool_(True)})
    assert json.loads(text)["x"] == 3 and json.loads(text)["ok"] is True
